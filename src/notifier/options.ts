import { countOption } from "../_check.js";
import { ConfigError, ValidationError } from "../errors.js";
import { isEventName, type EventName } from "../events.js";
import type { FormatterDefinition } from "../formatters/define.js";
import { createRegistry, type FormatterRegistry } from "../formatters/registry.js";
import type { FormatContext, Formatter } from "../formatters/types.js";
import { addressPolicy, type AddressPolicy, type NetworkOptions } from "../delivery/address-guard.js";
import { httpTransport } from "../delivery/http-transport.js";
import {
  resolveCircuitBreaker,
  type CircuitBreakerOptions,
  type ResolvedCircuitBreaker,
} from "../delivery/circuit.js";
import { memoryBackend } from "../backends/memory.js";
import { DEFAULT_MAX_IN_FLIGHT, DEFAULT_MAX_QUEUED } from "../delivery/queue.js";
import { DEFAULT_MAX_RUNS } from "../run-tracker.js";
import type { Backend, BackendLimits } from "../backends/types.js";
import { DEFAULT_RATE_LIMITS, type RateLimit } from "../delivery/rate-limit.js";
import { DEFAULT_DEADLINES, resolveRetry, type ResolvedRetry, type RetryOptions } from "../delivery/retry.js";
import type { Transport } from "../delivery/types.js";
import { memoryStore } from "../webhooks/store/memory.js";
import type { SubscriptionStore } from "../webhooks/store/types.js";
import { webhookChecks } from "../webhooks/api.js";
import { declaredWebhooks, refuseRepeats, type DeclaredWebhooks } from "../webhooks/declared.js";
import type { WebhookDefinition } from "../webhooks/model.js";

/** Options of {@link createNotifier}. */
export interface NotifierOptions {
  /**
   * Where webhooks are kept.
   * @default memoryStore()
   */
  store?: SubscriptionStore | undefined;
  /**
   * Webhooks declared in code, global unless one says `global: false`: validated now (a bad one
   * throws a `ValidationError` naming `options.webhooks[i]`'s field) and usable by the first run at
   * once, with no `await`. They live in memory in front of `store` (see {@link WebhookDefinition}).
   *
   * @example
   * createNotifier({ webhooks: [{ url: process.env.SLACK_WEBHOOK_URL, format: "slack", events: ["finished"] }] });
   */
  webhooks?: readonly WebhookDefinition[] | undefined;
  /**
   * Extra formats, registered for this notifier only (`json`, `slack`, `teams` and `discord` are built
   * in). A formatter named like a built-in replaces it only with `replace: true`.
   */
  formatters?: ReadonlyArray<Formatter | FormatterDefinition> | undefined;
  /** How messages show names, numbers and times. */
  display?: DisplayOptions | undefined;
  /** How failed deliveries are retried; see {@link RetryOptions} for the defaults. */
  retry?: RetryOptions | undefined;
  /**
   * The circuit breaker per webhook: after a run of failed attempts, a webhook's deliveries are held
   * back and one probe at a time tests it; see {@link CircuitBreakerOptions} for the defaults. `false`
   * turns it off.
   */
  circuitBreaker?: CircuitBreakerOptions | false | undefined;
  /**
   * How late a delivery may still go out, per event, in milliseconds after the event. Later, it is
   * dropped and reported as `stale`. Defaults: `in_progress` 2 min, `started` 30 min, `api_failure`
   * 15 min, terminal events 24 h.
   */
  deadlines?: Partial<Record<EventName, number>> | undefined;
  /**
   * Requests per second per webhook, by format: `{ perSecond, burst }`, or `null` for no limit.
   * Defaults: slack 1/s (burst 3), teams 4/s, discord 0.5/s (burst 5), json unlimited.
   */
  rateLimits?: Record<string, RateLimit | null> | undefined;
  /**
   * Deliveries that may wait or be attempted at once. Past it, one is dropped (and reported) from the
   * webhook holding the most: memory stays bounded while an endpoint is down, and a dead endpoint
   * cannot crowd out the others.
   * @default 10000
   */
  maxQueued?: number | undefined;
  /**
   * Runs the notifier remembers, so that each run's events go out once and in order; past it, the
   * least recently used run is forgotten (a call on it then starts it afresh). A running run costs
   * about 1.3 KB, an ended one about 0.15 KB.
   * @default 10000
   */
  maxRuns?: number | undefined;
  /**
   * Deliveries attempted at once, across all webhooks (those waiting out a backoff do not count). A
   * fan-out to many webhooks proceeds this many at a time.
   * @default 128
   */
  maxInFlight?: number | undefined;
  /**
   * Where the delivery queue and the run state live. `sqliteBackend({ file })` (`runhooks/sqlite`)
   * keeps both in a file, so that a killed process loses nothing; a `Backend` of your own plugs in here
   * too (check it with `testQueue()` and `testRunState()`).
   * @default memoryBackend()
   */
  backend?: Backend | undefined;
  /**
   * How requests are sent.
   * @default httpTransport({ network })
   */
  transport?: Transport | undefined;
  /**
   * Which addresses webhooks may point at. By default only public ones: webhook URLs with a private,
   * loopback or link-local IP are refused when created, and the default transport refuses such
   * addresses at connect time. Tests and demos on 127.0.0.1 pass `{ allowPrivate: true }`.
   */
  network?: NetworkOptions | undefined;
  /** Receives what the notifier has to say: deliveries at debug, warnings and errors. Never given a secret. */
  logger?: Logger | undefined;
  /**
   * After an `api_failure`, further 5xx responses of the run are collected for this many milliseconds
   * and sent with the next `api_failure`, so a failing system does not flood the channel.
   * @default 300000 (5 minutes)
   */
  apiFailureCooldownMs?: number | undefined;
}

/** Where the notifier logs. Any of the methods may be left out. Messages and data never hold a secret. */
export interface Logger {
  /** Every delivery report. */
  debug?: ((message: string, data?: Record<string, unknown>) => void) | undefined;
  /** Not used yet; accepted so that common loggers fit. */
  info?: ((message: string, data?: Record<string, unknown>) => void) | undefined;
  /** Warnings: ignored runner calls, unknown webhook ids, disabled webhooks. */
  warn?: ((message: string, data?: Record<string, unknown>) => void) | undefined;
  /** Errors: a store or a listener that failed. */
  error?: ((message: string, data?: Record<string, unknown>) => void) | undefined;
}

/** How messages show names, numbers and times. */
export interface DisplayOptions {
  /**
   * The product name in message footers, e.g. your runner's name.
   * @default "runhooks"
   */
  productName?: string | undefined;
  /**
   * Locale for numbers (a BCP 47 tag).
   * @default "en-US"
   */
  locale?: string | undefined;
  /**
   * IANA time zone for times in messages.
   * @default "UTC"
   */
  timeZone?: string | undefined;
}

/** @internal How messages show names, numbers and times, checked and completed. */
export type Display = Omit<FormatContext, "links" | "webhook">;

/** @internal {@link NotifierOptions}, checked, with every default filled in. */
export interface ResolvedOptions {
  /** The store given, with the declared webhooks in front. */
  readonly store: SubscriptionStore;
  readonly declared: DeclaredWebhooks;
  readonly registry: FormatterRegistry;
  readonly policy: AddressPolicy;
  readonly transport: Transport;
  readonly display: Display;
  readonly retry: ResolvedRetry;
  readonly circuitBreaker: ResolvedCircuitBreaker | undefined;
  readonly deadlines: Readonly<Record<EventName, number>>;
  readonly rateLimits: Readonly<Record<string, RateLimit | null>>;
  readonly apiFailureCooldownMs: number;
  readonly logger: Logger | undefined;
  readonly backend: Backend;
  readonly limits: BackendLimits;
}

const DEFAULT_API_FAILURE_COOLDOWN_MS = 5 * 60_000;

/**
 * @internal Checks every option and fills in the defaults, so that a mistake fails `createNotifier()`
 * with a {@link ConfigError} naming the option, never a later delivery.
 */
export function resolveOptions(options: NotifierOptions): ResolvedOptions {
  const policy = asConfigError(() => addressPolicy(options.network));
  const retry = asConfigError(() => resolveRetry(options.retry));
  const circuitBreaker = asConfigError(() => resolveCircuitBreaker(options.circuitBreaker));
  const registry = createRegistry(options.formatters);
  const declared = declare(options, registry, policy);
  return {
    store: declared.store,
    declared,
    registry,
    policy,
    transport: options.transport ?? httpTransport({ network: options.network }),
    display: resolveDisplay(options.display),
    retry,
    circuitBreaker,
    deadlines: resolveDeadlines(options.deadlines),
    rateLimits: resolveRateLimits(options.rateLimits),
    apiFailureCooldownMs: resolveCooldown(options.apiFailureCooldownMs),
    logger: options.logger,
    backend: options.backend ?? memoryBackend(),
    limits: asConfigError(() => ({
      maxQueued: countOption("maxQueued", options.maxQueued ?? DEFAULT_MAX_QUEUED),
      maxInFlight: countOption("maxInFlight", options.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT),
      maxRuns: countOption("maxRuns", options.maxRuns ?? DEFAULT_MAX_RUNS),
    })),
  };
}

/** The declared webhooks, checked: @throws {ValidationError} naming `options.webhooks[i]`'s field. */
function declare(
  options: NotifierOptions,
  registry: FormatterRegistry,
  policy: AddressPolicy,
): DeclaredWebhooks {
  const declared = declaredWebhooks(options.store ?? memoryStore(), webhookChecks(registry, policy));
  const given: unknown = options.webhooks ?? [];
  if (!Array.isArray(given)) {
    throw new ValidationError("webhook", [
      { path: "options.webhooks", message: "must be an array of webhook definitions" },
    ]);
  }
  const entries = (given as readonly WebhookDefinition[]).map((definition, i) => {
    const path = `options.webhooks[${i}]`;
    return { record: declared.check(definition, path), path };
  });
  refuseRepeats(entries);
  declared.keep(
    entries.map((entry) => entry.record),
    false,
  );
  return declared;
}

/** @internal Runs `make`, turning what it throws into a {@link ConfigError} with the same message. */
export function asConfigError<T>(make: () => T): T {
  try {
    return make();
  } catch (error) {
    throw new ConfigError((error as Error).message, { cause: error });
  }
}

function resolveDeadlines(
  given: Partial<Record<EventName, number>> | undefined,
): Readonly<Record<EventName, number>> {
  const deadlines = { ...DEFAULT_DEADLINES, ...given };
  for (const [name, ms] of Object.entries(deadlines)) {
    if (!isEventName(name) || typeof ms !== "number" || !(ms > 0)) {
      throw new ConfigError(
        `deadlines.${name}: must be an event name with a positive number of milliseconds`,
      );
    }
  }
  return deadlines;
}

function resolveCooldown(given: number | undefined): number {
  const cooldown = given ?? DEFAULT_API_FAILURE_COOLDOWN_MS;
  if (!Number.isFinite(cooldown) || cooldown < 0) {
    throw new ConfigError("apiFailureCooldownMs: must be a finite number of milliseconds, 0 or more");
  }
  return cooldown;
}

function resolveRateLimits(
  given: Record<string, RateLimit | null> | undefined,
): Readonly<Record<string, RateLimit | null>> {
  const rateLimits = { ...DEFAULT_RATE_LIMITS, ...given };
  for (const [format, limit] of Object.entries(rateLimits)) {
    if (limit !== null && !(limit.perSecond > 0 && Number.isFinite(limit.perSecond) && limit.burst >= 1)) {
      throw new ConfigError(`rateLimits.${format}: needs perSecond > 0 and burst >= 1, or null for no limit`);
    }
  }
  return rateLimits;
}

function resolveDisplay(display: DisplayOptions = {}): Display {
  const productName = display.productName ?? "runhooks";
  const locale = display.locale ?? "en-US";
  const timeZone = display.timeZone ?? "UTC";
  if (typeof productName !== "string" || productName.trim() === "" || productName.length > 100) {
    throw new ConfigError("display.productName: must be a non-empty string of at most 100 characters");
  }
  try {
    new Intl.NumberFormat(locale);
  } catch {
    throw new ConfigError(`display.locale: "${locale}" is not a valid locale tag, e.g. en-US`);
  }
  try {
    new Intl.DateTimeFormat("en-US", { timeZone });
  } catch {
    throw new ConfigError(`display.timeZone: "${timeZone}" is not an IANA time zone, e.g. Europe/Berlin`);
  }
  return { productName, locale, timeZone };
}
