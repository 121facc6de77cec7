/**
 * The three ways of getting a runner's event to webhooks that the benchmark compares:
 *
 * - ceiling: undici `Agent#request({ origin, path })` posting a pre-serialised body, C requests in
 *   flight: what the network stack of one Node process can do at best.
 * - naive: what a runner author writes by hand: an eventemitter3 bus, `JSON.stringify` per event and
 *   p-retry around the top-level `undici.request(url, { dispatcher })` per target (with an HMAC
 *   signature in the `+hmac` variant).
 * - runhooks: the public API, `createNotifier()` with a JSON webhook (signed in the `+hmac` variant;
 *   a Slack one in the Slack scenarios), tuned to the ceiling's 64 connections, events emitted with
 *   `notifier.bus.emit()`; `runhooks-defaults` is the same with runhooks' defaults (8 connections);
 *   `runhooks-run` fires them through run handles instead (`run.stats()` with 5xx codes and
 *   `apiFailureCooldownMs: 0`), the path a runner normally takes;
 *   the `-sqlite` variants keep the queue and the run state in an SQLite file (`sqliteBackend()`), the
 *   `-postgres` ones in PostgreSQL (`postgresBackend()`, a schema of their own).
 * - pgboss (bench/pgboss.ts): pg-boss's own send → work → complete loop on the same PostgreSQL
 *   server, the ceiling of the engine the PostgreSQL backend is built on.
 *
 * All of them use one undici Agent with the same connection cap per origin (`runhooks-defaults` its
 * own default). The libraries users would install instead are in bench/peers.ts.
 */
import { createHmac, randomBytes, randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EventEmitter } from "eventemitter3";
import pRetry, { AbortError, type Options as RetryOptions } from "p-retry";
import { Agent, request, type Dispatcher } from "undici";
import {
  createNotifier,
  generateSecret,
  httpTransport,
  postgresBackend,
  sqliteBackend,
  type EventInput,
  type Notifier,
  type NotifierOptions,
  type NotifierStats,
  type RunHandle,
} from "./runhooks.js";
import type { PATHS } from "./config.js";
import { Feeder, Pending, pump } from "./measure.js";
import { dropSchemas, freshSchema, type PostgresServer } from "./postgres.js";
import { FAILING_BATCH, QUIET_BATCH, apiFailurePayload, runInfo } from "./payload.js";

export type PathName = (typeof PATHS)[number];

/** What a scenario asks of every path. */
export interface ScenarioSpec {
  /** `many`: events spread over `runs` run ids, one target each. `fanout`: each event to every target. */
  shape: "many" | "fanout";
  /** `http://127.0.0.1:<port>` of the receiver. */
  origin: string;
  /** Request paths of the webhooks, e.g. `/hooks/a` (one for `many`, 1,000 for `fanout`). */
  targets: readonly string[];
  /** Distinct run ids for `many` (runhooks: one lane per run and webhook). */
  runs: number;
  /** The receiver answers 503 to each delivery's first attempt: every delivery is retried once. */
  flaky: boolean;
  /** Connections per origin, and the ceiling's requests in flight. */
  concurrency: number;
  /** Queue cap for runhooks: above any burst the scenario produces, so that nothing is dropped. */
  maxQueued: number;
  /** The webhooks' format: the event as a Standard Webhooks JSON envelope, or a Slack message. */
  format?: "json" | "slack" | undefined;
  /** `many`: deliveries outstanding at most (the runner emits the next event as one ends); 0 = one burst. */
  window: number;
}

export interface ThroughputPath {
  readonly name: PathName;
  /** Makes `deliveries` deliveries (for `fanout`, a multiple of the target count) and waits for all. */
  run(deliveries: number): Promise<void>;
  /** What went wrong in the last run, if anything (failed or dropped deliveries). */
  problems(): string[];
  close(): Promise<void>;
}

/** How often the simulated runner looks for ended deliveries on a path that waits on PostgreSQL (see pump). */
export const DATABASE_POLL_MS = 1;

// The same retry policy everywhere: quick enough that scenario (c) measures sending, not sleeping.
const RETRIES = 8;
const MIN_DELAY_MS = 1;
const MAX_DELAY_MS = 100;

/**
 * The serialised body runhooks sends for one `api_failure` in `format`: the ceiling posts exactly these
 * bytes, and the peers post them (JSON) or send the message they hold (Slack).
 */
export function runhooksBody(format: "json" | "slack" = "json"): string {
  const notifier = createNotifier();
  const event = notifier.bus.emit("api_failure", apiFailurePayload("bench-run-000"));
  const body = notifier.preview(event, format).body;
  void notifier.close();
  return body;
}

function payloads(spec: ScenarioSpec, prefix: string): Array<EventInput<"api_failure">> {
  const count = spec.shape === "many" ? spec.runs : 64;
  return Array.from({ length: count }, (_, i) =>
    apiFailurePayload(`${prefix}-${String(i).padStart(3, "0")}`),
  );
}

/** The rounds of a fan-out run: `deliveries` must be a whole number of rounds, one per target each. */
export function fanoutRounds(spec: ScenarioSpec, deliveries: number): number {
  const rounds = deliveries / spec.targets.length;
  if (!Number.isInteger(rounds)) {
    throw new RangeError(`fan-out: ${deliveries} deliveries is not a multiple of ${spec.targets.length}`);
  }
  return rounds;
}

/** The undici Agent of a path: the same connection cap and keep-alive for every path. */
export function agentFor(spec: ScenarioSpec): Agent {
  // runhooks' own Agent keeps idle sockets for 4 s; the others get the same.
  return new Agent({ connections: spec.concurrency, keepAliveTimeout: 4_000 });
}

// ---------------------------------------------------------------------------------------------
// ceiling
// ---------------------------------------------------------------------------------------------

/** The ceiling: undici `agent.request()` posting `body`, `spec.concurrency` requests in flight. */
export function ceilingPath(spec: ScenarioSpec, body: string): ThroughputPath {
  const agent = agentFor(spec);
  const target = spec.targets[0] ?? "/";
  const staticHeaders: Record<string, string> = {
    "content-type": "application/json",
    "user-agent": "bench-ceiling/1.0",
    "webhook-id": "msg_ceiling",
    "webhook-timestamp": String(Math.floor(Date.now() / 1000)),
  };
  let serial = 0;

  const post = async (path: string): Promise<void> => {
    // The flaky receiver keys on webhook-id, so every delivery needs its own; otherwise the headers
    // are built once, as a hand-tuned sender would.
    const headers = spec.flaky
      ? {
          "content-type": "application/json",
          "user-agent": "bench-ceiling/1.0",
          "webhook-id": `msg_ceiling_${serial++}`,
          "webhook-timestamp": String(Math.floor(Date.now() / 1000)),
        }
      : staticHeaders;
    for (let attempt = 1; ; attempt++) {
      const response = await agent.request({ origin: spec.origin, path, method: "POST", headers, body });
      await response.body.dump();
      if (response.statusCode < 300) return;
      if (attempt > RETRIES) throw new Error(`ceiling: answered ${response.statusCode}`);
    }
  };

  /** `count` posts, `concurrency` at a time: each worker sends its next request as soon as one ends. */
  const workers = async (count: number, pathOf: (i: number) => string): Promise<void> => {
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < count) {
        const i = next++;
        await post(pathOf(i));
      }
    };
    await Promise.all(Array.from({ length: Math.min(spec.concurrency, count) }, worker));
  };

  return {
    name: "ceiling",
    async run(deliveries) {
      if (spec.shape === "many") {
        await workers(deliveries, () => target);
        return;
      }
      for (let round = fanoutRounds(spec, deliveries); round > 0; round--) {
        await workers(spec.targets.length, (i) => spec.targets[i] ?? target);
      }
    },
    problems: () => [],
    close: () => agent.close(),
  };
}

// ---------------------------------------------------------------------------------------------
// naive
// ---------------------------------------------------------------------------------------------

/** The event a runner author builds by hand. */
interface NaiveEvent {
  id: string;
  event: "api_failure";
  at: string;
  run: EventInput<"api_failure">["run"];
  stats: EventInput<"api_failure">["stats"];
  failures: EventInput<"api_failure">["failures"];
}

class HttpStatusError extends Error {
  constructor(readonly status: number) {
    super(`answered ${status}`);
  }
}

/** The notifier a runner author writes by hand: eventemitter3, `JSON.stringify`, p-retry, undici. */
export function naivePath(spec: ScenarioSpec, signed: boolean): ThroughputPath {
  const dispatcher: Dispatcher = agentFor(spec);
  const urls = spec.targets.map((path) => `${spec.origin}${path}`);
  const key = signed ? randomBytes(32) : undefined;
  const events = new EventEmitter();
  let pending = new Pending();
  const retryOptions: RetryOptions = {
    retries: RETRIES,
    factor: 2,
    minTimeout: MIN_DELAY_MS,
    maxTimeout: MAX_DELAY_MS,
    randomize: true,
  };

  // --- what the runner author writes ---------------------------------------------------------
  const post = async (url: string, id: string, body: string): Promise<void> => {
    const timestamp = String(Math.floor(Date.now() / 1000));
    const headers: Record<string, string> = {
      "content-type": "application/json",
      "user-agent": "my-runner/1.0",
      "webhook-id": id,
      "webhook-timestamp": timestamp,
    };
    if (key) {
      const signature = createHmac("sha256", key).update(`${id}.${timestamp}.${body}`).digest("base64");
      headers["webhook-signature"] = `v1,${signature}`;
    }
    const response = await request(url, { method: "POST", headers, body, dispatcher });
    await response.body.text();
    const status = response.statusCode;
    if (status >= 500 || status === 429 || status === 408) throw new HttpStatusError(status);
    if (status >= 300) throw new AbortError(new HttpStatusError(status));
  };
  events.on("api_failure", (event: NaiveEvent) => {
    const body = JSON.stringify({ type: event.event, timestamp: event.at, data: event });
    for (let i = 0; i < urls.length; i++) {
      const url = urls[i] ?? "";
      const id = `${event.id}_${i}`;
      pending.add(pRetry(() => post(url, id, body), retryOptions));
    }
  });
  // ----------------------------------------------------------------------------------------------

  const inputs = payloads(spec, signed ? "naive-hmac" : "naive");
  const emit = (input: EventInput<"api_failure">): void => {
    const event: NaiveEvent = {
      id: `evt_${randomUUID()}`,
      event: "api_failure",
      at: new Date().toISOString(),
      run: input.run,
      stats: input.stats,
      failures: input.failures,
    };
    events.emit("api_failure", event);
  };
  let lastFailures = 0;

  return {
    name: signed ? "naive+hmac" : "naive",
    async run(deliveries) {
      if (spec.shape === "many") {
        const feeder = new Feeder(deliveries, spec.window, (i) => {
          emit(inputs[i % inputs.length]!);
        });
        pending = new Pending(() => {
          feeder.ended();
        });
        await feeder.run();
        await pending.idle();
      } else {
        pending = new Pending();
        for (let round = 0, rounds = fanoutRounds(spec, deliveries); round < rounds; round++) {
          emit(inputs[round % inputs.length]!);
          await pending.idle();
        }
      }
      lastFailures = pending.failures;
    },
    problems: () => (lastFailures > 0 ? [`${lastFailures} deliveries failed`] : []),
    close: () => dispatcher.close(),
  };
}

// ---------------------------------------------------------------------------------------------
// runhooks
// ---------------------------------------------------------------------------------------------

/** How runhooks events are produced: the raw bus, or run handles as a runner uses them. */
export type RunhooksVia = "bus" | "run";

// A run handle fires this many api_failure events before the simulated runner starts a new run: a
// run's snapshot keeps every event it fired, and a real run fires one per cooldown, not thousands.
const EVENTS_PER_RUN = 100;

/**
 * Where a runhooks path keeps its queue and run state: in memory (the default backend), in an SQLite
 * file in the temporary directory (as a runner keeps it on local disk), or in a fresh schema on the
 * benchmark's PostgreSQL server.
 */
export type Storage = { kind: "memory" } | { kind: "sqlite" } | { kind: "postgres"; server: PostgresServer };

/** The backend option of a runhooks path, and what to remove once it is closed. */
function backendFor(storage: Storage): {
  backend?: NotifierOptions["backend"];
  suffix: string;
  remove: () => Promise<void>;
} {
  switch (storage.kind) {
    case "memory":
      return { suffix: "", remove: () => Promise.resolve() };
    case "sqlite": {
      const folder = mkdtempSync(join(tmpdir(), "runhooks-bench-"));
      return {
        backend: sqliteBackend({ file: join(folder, "runhooks.db") }),
        suffix: "-sqlite",
        remove: () => {
          rmSync(folder, { recursive: true, force: true });
          return Promise.resolve();
        },
      };
    }
    case "postgres": {
      const { server } = storage;
      const schema = freshSchema("bench_runhooks");
      // The backend's defaults (a pool of 10, pollMs 200, leaseMs 15 s), as a user gets them.
      return {
        backend: postgresBackend({ connectionString: server.url, schema }),
        suffix: "-postgres",
        // The backend's tables, and pg-boss's beside them.
        remove: () => dropSchemas(server, [schema, `${schema}_queue`]),
      };
    }
  }
}

/**
 * The notifier options of a runhooks path. `tuned` gives it the ceiling's concurrency; `defaults` only
 * what a benchmark on loopback cannot do without (and, in the Slack and retry scenarios, what would
 * otherwise measure a rate limit or a backoff instead of the sending).
 */
export function runhooksOptions(spec: ScenarioSpec, tuning: "tuned" | "defaults"): NotifierOptions {
  const format = spec.format ?? "json";
  // Every format unlimited: Slack's 1/s per webhook would measure the limiter.
  const rateLimits = { [format]: null };
  const quickRetry = { retries: RETRIES, minDelayMs: MIN_DELAY_MS, maxDelayMs: MAX_DELAY_MS };
  // (c)'s receiver fails every first attempt, 64 at a time: ten in a row would open the circuit and
  // hold every delivery back for the 30 s probe delay, which measures the breaker, not the retries.
  // The naive path and the peers have no breaker either; (a), (b), (d) and (e) keep it on.
  const noBreaker = spec.flaky && { circuitBreaker: false as const };
  // The receiver is on loopback: opt in, for webhook creation and for the transport's connect guard.
  const network = { allowPrivate: true };
  if (tuning === "defaults") {
    // The default cap (10,000) holds the simulated runner's window; a one-burst run needs more.
    return {
      network,
      rateLimits,
      ...(spec.flaky && { retry: quickRetry }),
      ...noBreaker,
      ...(spec.window === 0 && { maxQueued: spec.maxQueued }),
    };
  }
  return {
    network,
    transport: httpTransport({ network, connections: spec.concurrency }),
    // The same concurrency as the ceiling: as many attempts at once as there are connections.
    maxInFlight: spec.concurrency,
    maxQueued: spec.maxQueued,
    rateLimits,
    retry: quickRetry,
    ...noBreaker,
    // Every 5xx batch fires api_failure (by default only one per 5 minutes would).
    apiFailureCooldownMs: 0,
  };
}

/**
 * runhooks through its public API: a notifier with `spec.targets` as global webhooks of `spec.format`,
 * fed through the bus or run handles, its queue and run state in `storage`.
 */
export async function runhooksPath(
  spec: ScenarioSpec,
  signed: boolean,
  via: RunhooksVia = "bus",
  storage: Storage = { kind: "memory" },
  tuning: "tuned" | "defaults" = "tuned",
): Promise<ThroughputPath> {
  const { backend, suffix, remove } = backendFor(storage);
  const notifier: Notifier = createNotifier({
    ...(backend && { backend }),
    ...runhooksOptions(spec, tuning),
  });
  for (const [i, path] of spec.targets.entries()) {
    await notifier.webhooks.create({
      name: `sink-${i}`,
      url: `${spec.origin}${path}`,
      format: spec.format ?? "json",
      events: ["api_failure"],
      global: true,
      ...(signed && { secret: generateSecret() }),
    });
  }
  // A backend that cannot reach its database reports it here and goes on in memory: that must show up
  // as a problem of the run, not be measured as if it were the database.
  const errors: string[] = [];
  if (storage.kind === "postgres") notifier.on("error", (error) => errors.push(error.message));
  const base =
    via === "run"
      ? "runhooks-run"
      : signed
        ? "runhooks+hmac"
        : tuning === "defaults"
          ? "runhooks-defaults"
          : "runhooks";
  const name = `${base}${suffix}` as PathName;
  const inputs = payloads(spec, name);
  const lanes = spec.shape === "many" ? spec.runs : 64;
  const handles: Array<{ run: RunHandle; fired: number }> = [];
  let generation = 0;
  /** The i-th event: through the bus, or as the i-th failing stats batch of one of the runs. */
  const fire = (i: number): void => {
    if (via === "bus") {
      notifier.bus.emit("api_failure", inputs[i % inputs.length]!);
      return;
    }
    const lane = i % lanes;
    let handle = handles[lane];
    if (handle === undefined || handle.fired >= EVENTS_PER_RUN) {
      handle = { run: notifier.run(runInfo(`${name}-${lane}-${generation++}`)), fired: 0 };
      handles[lane] = handle;
      // The first batch of a run fires started and in_progress, which no webhook here listens to.
      handle.run.stats(QUIET_BATCH);
    }
    handle.fired += 1;
    handle.run.stats(FAILING_BATCH);
  };
  let before: NotifierStats = notifier.stats();
  let expected = 0;
  const ended = (): number => {
    const now = notifier.stats();
    return now.delivered + now.failed + now.dropped - (before.delivered + before.failed + before.dropped);
  };

  return {
    name,
    async run(deliveries) {
      before = notifier.stats();
      expected = deliveries;
      if (spec.shape === "many") {
        await pump(deliveries, spec.window, fire, ended, storage.kind === "postgres" ? DATABASE_POLL_MS : 0);
        await notifier.flush();
      } else {
        for (let round = 0, rounds = fanoutRounds(spec, deliveries); round < rounds; round++) {
          fire(round);
          await notifier.flush();
        }
      }
    },
    problems() {
      const after = notifier.stats();
      const out: string[] = errors.splice(0);
      const delivered = after.delivered - before.delivered;
      if (delivered !== expected) out.push(`${delivered} of ${expected} delivered`);
      if (after.failed !== before.failed) out.push(`${after.failed - before.failed} failed`);
      if (after.dropped !== before.dropped) out.push(`${after.dropped - before.dropped} dropped`);
      if (spec.flaky && after.retried - before.retried !== expected) {
        out.push(`${after.retried - before.retried} retries for ${expected} deliveries`);
      }
      return out;
    },
    async close() {
      await notifier.close({ timeoutMs: 5_000 });
      await remove();
    },
  };
}
