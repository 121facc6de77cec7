import { canRun, type Backends } from "./backends.js";
import { PATHS, POSTGRES_PATHS, type BenchConfig } from "./config.js";
import { measure, summarise, type Measurement, type Summary } from "./measure.js";
import {
  ceilingPath,
  naivePath,
  runhooksBody,
  runhooksPath,
  type PathName,
  type ScenarioSpec,
  type ThroughputPath,
} from "./paths.js";
import { gotPath, kyPath, slackWebhookPath } from "./peers.js";
import { pgbossPath, pgbossWorkText } from "./pgboss.js";
import type { PostgresServer } from "./postgres.js";
import type { Receiver } from "./receiver-client.js";

export interface PathResult {
  path: PathName;
  reps: Measurement[];
  perSecond: Summary;
  /** Median over repetitions. */
  cpuUsPerDelivery: number;
  /** The PostgreSQL paths on a server on this machine: its CPU per delivery, median; NaN otherwise. */
  serverCpuUsPerDelivery: number;
  /** Highest over repetitions. */
  peakRssMb: number;
  /** Median over repetitions of the RSS a run rose by, from its start (after a full GC) to its peak. */
  rssRiseMb: number;
  /** Requests the receiver got per delivery, over all repetitions. */
  attemptsPerDelivery: number;
  /** Flaky receiver: how many deliveries took 1, 2, 3… requests, over all repetitions. */
  attemptsHistogram?: Record<string, number>;
  problems: string[];
}

/** The throughput scenarios: (a)–(c), and (a) and (c) with a Slack webhook. */
export type ThroughputId = "a" | "b" | "c" | "a-slack" | "c-slack";

export interface ThroughputResult {
  id: ThroughputId;
  title: string;
  deliveriesPerRep: number;
  /** How the work was driven, for the report. */
  method: string;
  paths: PathResult[];
}

interface Definition {
  id: ThroughputId;
  title: string;
  method: string;
  spec: ScenarioSpec;
  deliveries: number;
  warmup: number;
  paths: readonly PathName[];
}

/** What every scenario shares: the receiver, the concurrency, the runs and the runner's window. */
type BaseSpec = Pick<ScenarioSpec, "origin" | "runs" | "concurrency" | "flaky" | "window">;

/** How (a) and (c) feed their events, for the report. */
function feedText(config: BenchConfig): string {
  return config.window === 0
    ? "emitted in one synchronous burst"
    : `emitted by a simulated runner that keeps ${config.window} deliveries outstanding (the next event as soon as one ends)`;
}

// How the peers and runhooks-defaults are driven and configured, for the report (bench/peers.ts).
const PEERS_TEXT =
  "got and ky (+ p-retry) and @slack/webhook are driven by a runner that keeps 64 sends outstanding, each peer with its own agent (got: Node's http.globalAgent, keep-alive; ky and @slack/webhook: Node's global fetch) and the naive path's retry timing (p-retry, or @slack/webhook's retryConfig: 8 retries, 1 ms doubling to 100 ms); got and ky post the pre-built JSON body with a webhook-id per delivery, @slack/webhook sends the Slack message built once, its text numbered per delivery";
const DEFAULTS_TEXT =
  "runhooks-defaults is createNotifier({ network: { allowPrivate: true }, rateLimits: { <format>: null } }) (8 connections, maxInFlight 128), runhooks the same tuned to the ceiling: httpTransport({ connections: 64 }), maxInFlight 64";

/** (a) and (c) with a Slack webhook: @slack/webhook beside runhooks and the ceiling posting the same message. */
function slackScenarios(config: BenchConfig, base: BaseSpec): Definition[] {
  const slack = { ...base, shape: "many" as const, format: "slack" as const };
  const bytes = Buffer.byteLength(runhooksBody("slack"));
  return [
    {
      id: "a-slack",
      title: "many events to one Slack webhook",
      method: `(a) with a Slack webhook (rate limit off) instead of a JSON one: ${config.deliveries} api_failure events per repetition, ${feedText(config)}, over ${config.runs} run ids; the receiver answers 200 "ok" as Slack does; the ceiling posts runhooks' Slack message (${bytes} bytes), pre-serialised; ${DEFAULTS_TEXT}; ${PEERS_TEXT}`,
      spec: { ...slack, targets: ["/slack/a"], maxQueued: config.deliveries * 2 },
      deliveries: config.deliveries,
      warmup: config.warmup,
      paths: [
        "ceiling",
        "slack-webhook",
        "runhooks-defaults",
        "runhooks",
        "runhooks-sqlite",
        "runhooks-postgres",
      ],
    },
    {
      id: "c-slack",
      title: "503 then 200 to one Slack webhook: every delivery retried once",
      method: `(c) with a Slack webhook: ${config.retryDeliveries} events per repetition to a receiver that answers 503 to the first request of each delivery (webhook-id, or the body for @slack/webhook, which sets no such header), then 200 "ok"; runhooks with retry { minDelayMs: 1 } and circuitBreaker false, @slack/webhook with retryConfig { minTimeout: 1 }`,
      spec: { ...slack, targets: ["/slack/c"], flaky: true, maxQueued: config.retryDeliveries * 2 },
      deliveries: config.retryDeliveries,
      warmup: Math.min(config.warmup, config.retryDeliveries),
      paths: ["ceiling", "slack-webhook", "runhooks-defaults", "runhooks"],
    },
  ];
}

/**
 * The scenarios (a)–(c) and their Slack variants that `BENCH_ONLY` and `BENCH_PATHS` select, each
 * with the paths it runs; the paths of a backend this run cannot use are left out.
 */
export function throughputScenarios(
  config: BenchConfig,
  origin: string,
  backends: Backends = { sqlite: true },
): Definition[] {
  const base: BaseSpec = {
    origin,
    runs: config.runs,
    concurrency: config.concurrency,
    flaky: false,
    window: config.window,
  };
  const fanoutTargets = Array.from({ length: config.fanoutWebhooks }, (_, i) => `/fanout/${i}`);
  const fanoutDeliveries = config.fanoutRounds * config.fanoutWebhooks;
  const roundUp = (n: number): number =>
    Math.max(1, Math.round(n / config.fanoutWebhooks)) * config.fanoutWebhooks;
  const all: Definition[] = [
    {
      id: "a",
      title: "many events to one webhook",
      method: `${config.deliveries} api_failure events per repetition, ${feedText(config)}, round-robin over ${config.runs} run ids (runhooks: ${config.runs} (webhook, run) lanes, each with one delivery in flight); runhooks and runhooks+hmac emit with notifier.bus.emit(), runhooks-run calls run.stats() with 5xx codes on ${config.runs} run handles (apiFailureCooldownMs 0, a new run every 100 events); ${DEFAULTS_TEXT}; the -sqlite paths are the same with sqliteBackend() on a file in the temporary directory, the -postgres paths with postgresBackend() on a fresh schema (its defaults: a pool of 10, pollMs 200); pgboss sends one job per event with boss.send() to a key_strict_fifo queue keyed by (webhook, run) and boss.work() POSTs each job's pre-serialised body (${pgbossWorkText(config.concurrency)}), pool of 10; ${PEERS_TEXT}; the ceiling keeps ${config.concurrency} requests in flight`,
      spec: { ...base, shape: "many", targets: ["/hooks/a"], maxQueued: config.deliveries * 2 },
      deliveries: config.deliveries,
      warmup: config.warmup,
      // Every path but the Slack peer.
      paths: PATHS.filter((p) => p !== "slack-webhook"),
    },
    {
      id: "b",
      title: `one event fanned out to ${config.fanoutWebhooks} webhooks`,
      method: `${config.fanoutRounds} rounds per repetition; each round is one event to ${config.fanoutWebhooks} global webhooks (distinct paths on the receiver) and waits until all are delivered; the ceiling posts ${config.fanoutWebhooks} pre-serialised bodies per round, ${config.concurrency} in flight; pgboss inserts an event's ${config.fanoutWebhooks} jobs with one boss.insert()`,
      spec: { ...base, shape: "fanout", targets: fanoutTargets, maxQueued: config.fanoutWebhooks * 2 },
      deliveries: fanoutDeliveries,
      warmup: roundUp(config.warmup),
      paths: [
        "ceiling",
        "naive",
        "naive+hmac",
        "runhooks",
        "runhooks+hmac",
        "runhooks-sqlite",
        "runhooks-postgres",
        "pgboss",
      ],
    },
    {
      id: "c",
      title: "503 then 200: every delivery retried once",
      method: `${config.retryDeliveries} events per repetition, fed as in (a), to a receiver that answers 503 to the first request of each webhook-id; retries after 1–2 ms (runhooks and runhooks-defaults retry.minDelayMs 1 and circuitBreaker false, p-retry minTimeout 1 for naive, got and ky); the ceiling resends at once`,
      spec: {
        ...base,
        shape: "many",
        targets: ["/hooks/c"],
        flaky: true,
        maxQueued: config.retryDeliveries * 2,
      },
      deliveries: config.retryDeliveries,
      warmup: Math.min(config.warmup, config.retryDeliveries),
      paths: ["ceiling", "naive", "got", "ky", "runhooks-defaults", "runhooks", "runhooks+hmac"],
    },
    ...slackScenarios(config, base),
  ];
  return all
    .filter((d) => config.only.has(d.id))
    .map((d) => ({
      ...d,
      paths: d.paths.filter((p) => config.paths.has(p) && canRun(p, backends)),
    }))
    .filter((d) => d.paths.length > 0);
}

async function makePath(
  name: PathName,
  spec: ScenarioSpec,
  body: string,
  server: PostgresServer | undefined,
): Promise<ThroughputPath> {
  /** The server, for a PostgreSQL path (throughputScenarios left them out without one). */
  const postgres = (): PostgresServer => {
    if (server === undefined) throw new Error(`${name} needs a PostgreSQL server`);
    return server;
  };
  switch (name) {
    case "ceiling":
      return ceilingPath(spec, body);
    case "got":
      return gotPath(spec, body);
    case "ky":
      return kyPath(spec, body);
    case "slack-webhook":
      return slackWebhookPath(spec, body);
    case "runhooks-defaults":
      return runhooksPath(spec, false, "bus", { kind: "memory" }, "defaults");
    case "naive":
      return naivePath(spec, false);
    case "naive+hmac":
      return naivePath(spec, true);
    case "runhooks":
      return runhooksPath(spec, false);
    case "runhooks+hmac":
      return runhooksPath(spec, true);
    case "runhooks-run":
      return runhooksPath(spec, false, "run");
    case "runhooks-sqlite":
      return runhooksPath(spec, false, "bus", { kind: "sqlite" });
    case "runhooks-run-sqlite":
      return runhooksPath(spec, false, "run", { kind: "sqlite" });
    case "runhooks-postgres":
      return runhooksPath(spec, false, "bus", { kind: "postgres", server: postgres() });
    case "runhooks-run-postgres":
      return runhooksPath(spec, false, "run", { kind: "postgres", server: postgres() });
    case "pgboss":
      return pgbossPath(spec, body, postgres());
  }
}

/** A path's result before its first repetition. */
function emptyResult(path: PathName): PathResult {
  return {
    path,
    reps: [],
    perSecond: summarise([]),
    cpuUsPerDelivery: Number.NaN,
    serverCpuUsPerDelivery: Number.NaN,
    peakRssMb: 0,
    rssRiseMb: Number.NaN,
    attemptsPerDelivery: 0,
    problems: [],
  };
}

/** Deliveries a path makes, unmeasured, right before each measured run (at most the warm-up's). */
export const PRIMER = 1_000;

/** {@link PRIMER} for `definition`: at most its warm-up, and whole rounds of a fan-out. */
function primerOf(definition: Definition): number {
  const { spec } = definition;
  const round = spec.shape === "many" ? 1 : spec.targets.length;
  // The warm-up of a fan-out is whole rounds already: the smaller of the two is too.
  return Math.min(definition.warmup, Math.ceil(PRIMER / round) * round);
}

/**
 * Runs one scenario: every path warmed up, then `reps` rounds in which each path is measured once,
 * in an order that is reversed every other round and rotated every other round (so that no path
 * always runs first after a GC or always follows the same path), each measured run right after an
 * unmeasured {@link PRIMER} deliveries of the same path.
 */
export async function runThroughput(
  definition: Definition,
  config: BenchConfig,
  receiver: Receiver,
  body: string,
  log: (line: string) => void,
  backends: Backends = { sqlite: true },
): Promise<ThroughputResult> {
  const server = backends.postgres;
  const { spec } = definition;
  const mode = spec.flaky ? "flaky" : "ok";
  const slack = spec.format === "slack";
  // Every path of a Slack scenario sends (or, @slack/webhook, holds) the message runhooks builds.
  const payload = slack ? runhooksBody("slack") : body;
  const answer = slack ? "slack" : "empty";
  const paths: ThroughputPath[] = [];
  for (const name of definition.paths) paths.push(await makePath(name, spec, payload, server));
  const results = new Map<PathName, PathResult>(paths.map((p) => [p.name, emptyResult(p.name)]));
  const requests = new Map<PathName, number>();
  const histograms = new Map<PathName, Record<string, number>>();

  try {
    for (const path of paths) {
      await receiver.reset(mode, { answer });
      await path.run(definition.warmup);
      const problems = path.problems();
      if (problems.length > 0)
        throw new Error(`${definition.id}/${path.name} warm-up: ${problems.join("; ")}`);
    }
    for (let rep = 0; rep < config.reps; rep++) {
      // Rotated alone, each path would always follow the same one (the cyclic order is kept):
      // reversed every other round, each path gets other predecessors; rotated every other round,
      // each runs first in turn (with two paths too, whose reversal is a rotation).
      const base = rep % 2 === 0 ? paths : [...paths].reverse();
      const shift = Math.floor(rep / 2);
      const order = base.map((_, i) => base[(i + shift) % base.length]!);
      for (const path of order) {
        // Unmeasured, so that what the previous path left (its garbage, its sockets, other code in the
        // caches) is paid for here: without it the path after @slack/webhook took up to ~40 % more CPU
        // per delivery, and @slack/webhook ~15 % more after runhooks (bench/HISTORY.md, run 26).
        await receiver.reset(mode, { answer });
        await path.run(primerOf(definition));
        const primed = path.problems();
        results.get(path.name)!.problems.push(...primed.map((p) => `rep ${rep + 1} primer: ${p}`));
        await receiver.reset(mode, { answer });
        const m = await measure(
          definition.deliveries,
          config.runTimeoutMs,
          () => path.run(definition.deliveries),
          receiver.pid,
          // The server's CPU is this path's work, not another workload's.
          POSTGRES_PATHS.has(path.name) ? server?.pid : undefined,
        );
        const counts = await receiver.counts();
        const result = results.get(path.name)!;
        result.reps.push(m);
        result.problems.push(...path.problems().map((p) => `rep ${rep + 1}: ${p}`));
        const expected = definition.deliveries * (spec.flaky ? 2 : 1);
        if (counts.requests !== expected) {
          result.problems.push(
            `rep ${rep + 1}: the receiver got ${counts.requests} requests, expected ${expected}`,
          );
        }
        requests.set(path.name, (requests.get(path.name) ?? 0) + counts.requests);
        if (spec.flaky) {
          const histogram = histograms.get(path.name) ?? {};
          for (const [n, count] of Object.entries(counts.attemptsHistogram)) {
            histogram[n] = (histogram[n] ?? 0) + count;
          }
          histograms.set(path.name, histogram);
        }
        log(
          `  ${definition.id} rep ${rep + 1} ${path.name.padEnd(21)} ${Math.round(m.perSecond).toString().padStart(7)} deliveries/s  ${m.cpuUsPerDelivery.toFixed(1).padStart(6)} µs CPU/delivery${Number.isNaN(m.serverCpuUsPerDelivery) ? "" : ` + ${m.serverCpuUsPerDelivery.toFixed(1)} µs server`}  ${m.peakRssMb.toFixed(0)} MiB  other load ${m.foreignCores.toFixed(2)} cores`,
        );
      }
    }
  } finally {
    for (const path of paths) await path.close();
  }

  for (const result of results.values()) {
    result.perSecond = summarise(result.reps.map((m) => m.perSecond));
    result.cpuUsPerDelivery = summarise(result.reps.map((m) => m.cpuUsPerDelivery)).median;
    result.serverCpuUsPerDelivery = summarise(result.reps.map((m) => m.serverCpuUsPerDelivery)).median;
    result.peakRssMb = Math.max(...result.reps.map((m) => m.peakRssMb));
    result.rssRiseMb = summarise(result.reps.map((m) => m.rssRiseMb)).median;
    result.attemptsPerDelivery = (requests.get(result.path) ?? 0) / (definition.deliveries * config.reps);
    const histogram = histograms.get(result.path);
    if (histogram) result.attemptsHistogram = histogram;
  }
  return {
    id: definition.id,
    title: definition.title,
    deliveriesPerRep: definition.deliveries,
    method: definition.method,
    paths: [...results.values()],
  };
}
