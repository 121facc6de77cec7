/**
 * Benchmark sizes. The defaults give a run of about 20 minutes on a 2-core machine (11 of them the
 * soak, scenario (e)); `BENCH_QUICK=1` shrinks everything for a smoke run of under a minute (one
 * repetition per path: it checks that every path runs and counts right, not how fast). Every size can
 * be overridden one by one.
 */
export interface BenchConfig {
  quick: boolean;
  /** Repetitions per path; medians and min–max come from these. */
  reps: number;
  /** Requests in flight (ceiling workers) and connections per origin, for every path alike. */
  concurrency: number;
  /** Distinct run ids the runhooks and naive paths spread events over in (a), (c) and their Slack variants. */
  runs: number;
  /**
   * Scenarios (a) and (c), naive and runhooks: deliveries outstanding at most; the simulated runner
   * emits its next event each time one ends. 0 emits each repetition in one synchronous burst.
   */
  window: number;
  /** Deliveries per measured repetition in scenario (a). */
  deliveries: number;
  /** Deliveries per path before the first repetition, to get past JIT tiering and connection setup. */
  warmup: number;
  /** Webhooks one event fans out to in scenario (b). */
  fanoutWebhooks: number;
  /** Events (fan-out rounds) per measured repetition in scenario (b). */
  fanoutRounds: number;
  /** Deliveries per measured repetition in scenario (c); each takes two requests. */
  retryDeliveries: number;
  /** Queue cap in scenario (d). */
  deadQueueCap: number;
  /** Seconds each scenario (d) repetition is measured for, after a warm-up second. */
  deadSeconds: number;
  /** Seconds of the scenario (d) soak run that decides whether RSS stays flat. */
  deadSoakSeconds: number;
  /** Scenario (e): seconds the soak runs for (the memory targets are judged from 600 s). */
  soakSeconds: number;
  /** Scenario (e): runs the simulated runner starts each second. */
  soakRunsPerSecond: number;
  /** Scenario (e): statistics batches per run, one per 100 ms tick. */
  soakBatches: number;
  /** Scenario (e): seconds between samples of heap and RSS, each right after a full GC. */
  soakSampleSeconds: number;
  /** Webhooks matching the event in the runner-call benchmark. */
  callWebhooks: number;
  /** Time budget per tinybench task, in milliseconds. */
  callTimeMs: number;
  /** One-at-a-time samples per path for event-to-first-byte latency. */
  latencySamples: number;
  /** Scenarios to run: a, b, c, a-slack, c-slack, d, e, calls, latency. */
  only: ReadonlySet<string>;
  /** Paths to run in scenarios (a)–(c) (all by default); for profiling one path alone. */
  paths: ReadonlySet<string>;
  /** Where the JSON results go. */
  out: string;
  /** Upper bound for any single measured run, so that a stuck path cannot hang the benchmark. */
  runTimeoutMs: number;
}

export const SCENARIOS = ["a", "b", "c", "a-slack", "c-slack", "d", "e", "calls", "latency"] as const;
export const PATHS = [
  "ceiling",
  "naive",
  "naive+hmac",
  // What users would install instead (bench/peers.ts): got and ky with p-retry, @slack/webhook.
  "got",
  "ky",
  "slack-webhook",
  "runhooks-defaults",
  "runhooks",
  "runhooks+hmac",
  "runhooks-run",
  "runhooks-sqlite",
  "runhooks-run-sqlite",
  "runhooks-postgres",
  "runhooks-run-postgres",
  "pgboss",
] as const;

/** The paths that need better-sqlite3 built for this Node (bench/backends.ts). */
export const SQLITE_PATHS: ReadonlySet<string> = new Set(["runhooks-sqlite", "runhooks-run-sqlite"]);

/**
 * The paths that need a PostgreSQL server and Node ≥ 22.12 (pg-boss 12): without them they are left
 * out, and the report says so and how to run them (bench/backends.ts).
 */
export const POSTGRES_PATHS: ReadonlySet<string> = new Set([
  "runhooks-postgres",
  "runhooks-run-postgres",
  "pgboss",
]);

export function loadConfig(env: NodeJS.ProcessEnv = process.env): BenchConfig {
  const quick = env.BENCH_QUICK === "1" || env.BENCH_QUICK === "true";
  const int = (name: string, full: number, small: number, min = 1): number => {
    const raw = env[name];
    const value = raw === undefined || raw === "" ? (quick ? small : full) : Number(raw);
    if (!Number.isInteger(value) || value < min) {
      throw new RangeError(`${name}: must be a whole number, ${min} or more (got ${raw ?? ""})`);
    }
    return value;
  };
  /** A comma-separated subset of `known` (all of it when unset); an unknown name is an error. */
  const subset = <T extends string>(name: string, what: string, known: readonly T[]): Set<T> => {
    const picked = (env[name] ?? known.join(","))
      .split(",")
      .map((s) => s.trim())
      .filter((s) => s !== "");
    for (const item of picked) {
      if (!(known as readonly string[]).includes(item)) {
        throw new RangeError(`${name}: unknown ${what} "${item}"; known: ${known.join(", ")}`);
      }
    }
    return new Set(picked as T[]);
  };
  const only = subset("BENCH_ONLY", "scenario", SCENARIOS);
  const paths = subset("BENCH_PATHS", "path", PATHS);
  const fanoutWebhooks = int("BENCH_FANOUT_WEBHOOKS", 1000, 300);
  const config: BenchConfig = {
    quick,
    reps: int("BENCH_REPS", 3, 1),
    concurrency: int("BENCH_CONCURRENCY", 64, 64),
    runs: int("BENCH_RUNS", 64, 64),
    window: int("BENCH_WINDOW", 1024, 1024, 0),
    deliveries: int("BENCH_DELIVERIES", 20_000, 400),
    warmup: int("BENCH_WARMUP", 3_000, 100, 0),
    fanoutWebhooks,
    fanoutRounds: int("BENCH_FANOUT_ROUNDS", 15, 2),
    retryDeliveries: int("BENCH_RETRY_DELIVERIES", 6_000, 200),
    deadQueueCap: int("BENCH_DEAD_QUEUE_CAP", 1000, 1000),
    deadSeconds: int("BENCH_DEAD_SECONDS", 3, 1),
    deadSoakSeconds: int("BENCH_DEAD_SOAK_SECONDS", 10, 2),
    soakSeconds: int("BENCH_SOAK_SECONDS", 660, 4),
    soakRunsPerSecond: int("BENCH_SOAK_RUNS_PER_SECOND", 100, 100),
    soakBatches: int("BENCH_SOAK_BATCHES", 10, 10),
    soakSampleSeconds: int("BENCH_SOAK_SAMPLE_SECONDS", 10, 1),
    callWebhooks: int("BENCH_CALL_WEBHOOKS", 100, 100),
    callTimeMs: int("BENCH_CALL_TIME_MS", 1500, 50),
    latencySamples: int("BENCH_LATENCY_SAMPLES", 500, 40),
    only,
    paths,
    out: env.BENCH_OUT ?? "bench/results/latest.json",
    runTimeoutMs: int("BENCH_RUN_TIMEOUT_MS", 120_000, 60_000),
  };
  return config;
}
