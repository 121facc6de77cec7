import type { z } from "zod";

/** One problem found while validating input: where it is and what is wrong. */
export interface ValidationIssue {
  /** Dotted path of the field, rooted at the argument's name, e.g. `stats.codes.503`. */
  readonly path: string;
  /** What is wrong, in words that never repeat the value itself (values can be secrets). */
  readonly message: string;
}

/** Options shared by every runhooks error. */
export interface RunhooksErrorOptions {
  /** The underlying error, kept for debugging. */
  cause?: unknown;
}

/**
 * Base class of every error runhooks throws or reports.
 *
 * Messages never contain a webhook URL beyond its scheme and host, nor a secret.
 * Use the `is*` guards rather than `instanceof` when errors may cross package copies.
 */
export class RunhooksError extends Error {
  /** A stable machine-readable code, e.g. `ERR_VALIDATION`. */
  readonly code: string;

  constructor(message: string, code: string, options?: RunhooksErrorOptions) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = "RunhooksError";
    this.code = code;
  }
}

/**
 * Input given to runhooks (run info, stats, an event, a webhook) is not valid.
 *
 * Thrown synchronously, before anything is emitted or stored: nothing is half-done.
 */
export class ValidationError extends RunhooksError {
  /** Every problem found, each naming its field. */
  readonly issues: readonly ValidationIssue[];
  /** The path of the first problem, the field to fix first. */
  readonly field: string;

  constructor(what: string, issues: readonly ValidationIssue[], options?: RunhooksErrorOptions) {
    const first = issues[0] ?? { path: what, message: "is not valid" };
    const more =
      issues.length > 1 ? ` (and ${issues.length - 1} more problem${issues.length > 2 ? "s" : ""})` : "";
    super(`Invalid ${what}: ${first.path}: ${first.message}${more}`, "ERR_VALIDATION", options);
    this.name = "ValidationError";
    this.issues = issues;
    this.field = first.path;
  }
}

/** A listener on the event bus or on the notifier threw or rejected. It never reaches the emitter. */
export class ListenerError extends RunhooksError {
  /** The channel the failing listener was attached to, e.g. `finished` or `delivery`. */
  readonly channel: string;

  constructor(channel: string, cause: unknown) {
    super(`A listener for "${channel}" failed: ${describe(cause)}`, "ERR_LISTENER", { cause });
    this.name = "ListenerError";
    this.channel = channel;
  }
}

/** A subscription store threw, or returned something that is not a valid webhook. */
export class StoreError extends RunhooksError {
  /** The store operation that failed, e.g. `list`. */
  readonly operation: string;

  constructor(operation: string, message: string, options?: RunhooksErrorOptions) {
    super(`Subscription store ${operation} failed: ${message}`, "ERR_STORE", options);
    this.name = "StoreError";
    this.operation = operation;
  }
}

/** @internal What a store call threw, as a report: one of ours as it is, anything else as a {@link StoreError}. */
export function asStoreError(operation: string, error: unknown): RunhooksError {
  return isRunhooksError(error) ? error : new StoreError(operation, describe(error), { cause: error });
}

/**
 * A backend (where the queue and the run state live: a SQLite file, a database) failed: it could not
 * open, record a runner's call, or queue a delivery durably. The notifier reports it on its `error`
 * channel and goes on from memory; the message says what was affected and what to check.
 */
export class BackendError extends RunhooksError {
  /** What failed, e.g. `open`, `record`, `enqueue`, `start`. */
  readonly operation: string;

  constructor(operation: string, message: string, options?: RunhooksErrorOptions) {
    super(message, "ERR_BACKEND", options);
    this.name = "BackendError";
    this.operation = operation;
  }
}

/** Building a payload failed, e.g. a formatter threw. Only that webhook's delivery is affected. */
export class FormatError extends RunhooksError {
  /** The format (formatter name) that failed. */
  readonly format: string;

  constructor(format: string, message: string, options?: RunhooksErrorOptions) {
    super(`Formatter "${format}" failed: ${message}`, "ERR_FORMAT", options);
    this.name = "FormatError";
    this.format = format;
  }
}

/** Sending one request failed before a response arrived (connection refused, timeout, reset). */
export class TransportError extends RunhooksError {
  /** `scheme://host` of the target: never the path or query, which hold credentials for chat services. */
  readonly target: string;

  constructor(target: string, message: string, code: string, options?: RunhooksErrorOptions) {
    super(`Request to ${target} failed: ${message}`, code, options);
    this.name = "TransportError";
    this.target = target;
  }
}

/** The notifier was used after `close()`, or was configured in a way it cannot work with. */
export class ConfigError extends RunhooksError {
  constructor(message: string, options?: RunhooksErrorOptions) {
    super(message, "ERR_CONFIG", options);
    this.name = "ConfigError";
  }
}

function guard<T extends RunhooksError>(
  cls: abstract new (...args: never[]) => T,
  name: string,
): (error: unknown) => error is T {
  return (error: unknown): error is T =>
    error instanceof cls ||
    (typeof error === "object" && error !== null && (error as { name?: unknown }).name === name);
}

/** True for any error runhooks throws or reports (checks `name` too, for errors from another copy). */
export const isRunhooksError: (error: unknown) => error is RunhooksError = (error): error is RunhooksError =>
  error instanceof RunhooksError ||
  (error instanceof Error &&
    typeof (error as { code?: unknown }).code === "string" &&
    KNOWN_NAMES.has(error.name));
/** True for a {@link ValidationError}. */
export const isValidationError = guard(ValidationError, "ValidationError");
/** True for a {@link ListenerError}. */
export const isListenerError = guard(ListenerError, "ListenerError");
/** True for a {@link StoreError}. */
export const isStoreError = guard(StoreError, "StoreError");
/** True for a {@link BackendError}. */
export const isBackendError = guard(BackendError, "BackendError");
/** True for a {@link FormatError}. */
export const isFormatError = guard(FormatError, "FormatError");
/** True for a {@link TransportError}. */
export const isTransportError = guard(TransportError, "TransportError");
/** True for a {@link ConfigError}. */
export const isConfigError = guard(ConfigError, "ConfigError");

const KNOWN_NAMES = new Set([
  "RunhooksError",
  "ValidationError",
  "ListenerError",
  "StoreError",
  "BackendError",
  "FormatError",
  "TransportError",
  "ConfigError",
  "WebhookVerificationError",
]);

/**
 * Reduces a URL to `scheme://host[:port]`, the only part that is safe to show.
 *
 * Slack, Teams and Discord webhook URLs carry their credential in the path or query.
 *
 * @example redactUrl("https://hooks.slack.com/services/T0/B0/xyz") // "https://hooks.slack.com"
 */
export function redactUrl(url: string | URL): string {
  try {
    const parsed = typeof url === "string" ? new URL(url) : url;
    return `${parsed.protocol}//${parsed.host}`;
  } catch {
    return "<invalid url>";
  }
}

/** @internal Turns a zod error into a {@link ValidationError} rooted at `root`. */
export function toValidationError(what: string, root: string, error: z.ZodError): ValidationError {
  const issues = error.issues.map((issue) => ({
    path: [root, ...issue.path.map(String)].filter((part) => part !== "").join("."),
    message: issueMessage(issue),
  }));
  return new ValidationError(what, issues);
}

function issueMessage(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case "unrecognized_keys":
      return `unknown field${issue.keys.length > 1 ? "s" : ""} ${issue.keys.map((k) => `"${k}"`).join(", ")}; check the spelling`;
    case "invalid_type":
      return issue.input === undefined
        ? `is required (expected ${issue.expected})`
        : `expected ${issue.expected}`;
    default:
      return issue.message;
  }
}

/** @internal A short description of an unknown thrown value, for messages. */
export function describe(value: unknown): string {
  if (value instanceof Error) return `${value.name}: ${value.message}`;
  if (typeof value === "string") return value;
  try {
    return String(value);
  } catch {
    return "unprintable value";
  }
}
