import type { CircuitState } from "../delivery/circuit.js";
import type { ValidationIssue } from "../errors.js";
import type { TestResult, TestTarget } from "../notifier.js";
import type { Webhook, WebhookInput, WebhookPatch } from "../webhooks/model.js";

/** @internal What a body turned into: the library's input, or the wire's validation messages. */
export type Parsed<T> = { ok: true; value: T } | { ok: false; errors: string[] };

/**
 * @internal How the admin speaks on the wire: runhooks' own fields (masked, with secrets and headers), or
 * Predator 1.7's exactly. The routes are the same; only bodies, ids and messages differ.
 */
export interface Dialect {
  /** What is wrong with a path id, or `undefined` when the dialect takes it. */
  idProblem(id: string): string | undefined;
  /** A webhook as this dialect answers it, with its circuit when that is open. */
  toWire(webhook: Webhook, circuit?: CircuitState): unknown;
  /** POST: the webhook to create, in the request's tenant. */
  create(body: unknown, tenant: string | undefined): Parsed<WebhookInput>;
  /** PUT: what a replacement changes. */
  replace(body: unknown): Parsed<WebhookPatch>;
  /** PATCH: what a partial update changes. */
  patch(body: unknown): Parsed<WebhookPatch>;
  /** POST …/test: where and what to send. */
  testTarget(body: unknown): Parsed<TestTarget>;
  /** The answer of POST …/test. */
  testResponse(result: TestResult): unknown;
  /** A library validation issue (`webhook.format`, `patch.url`…) in this dialect's words. */
  issue(issue: ValidationIssue): string;
  /** The message of a 500. */
  readonly internalError: string;
}

/** @internal */
export function parsed<T>(value: T): Parsed<T> {
  return { ok: true, value };
}

/** @internal */
export function refused<T>(errors: string[]): Parsed<T> {
  return { ok: false, errors };
}
