import type { BenchConfig } from "./config.js";
import type { CallsResult } from "./calls.js";
import { FLAT_TOLERANCE_MB, type DeadResult } from "./dead.js";
import type { LatencyResult } from "./latency.js";
import type { PathName } from "./paths.js";
import { MIN_MEMORY_SECONDS, type SoakResult } from "./soak.js";
import type { PathResult, ThroughputResult } from "./throughput.js";

export interface Target {
  scenario: string;
  goal: string;
  measured: string;
  pass: boolean;
  /** False when the run was too short for the target to mean anything (a quick run): shown, not judged. */
  judged?: boolean;
}

export interface Environment {
  node: string;
  v8: string;
  platform: string;
  cpus: number;
  cpuModel: string;
  packages: Record<string, string>;
  /** 1-minute load average when the run started and ended: other work on the machine skews everything. */
  loadAverage: { start: number; end: number };
  /** The commit measured; `dirty` lists source files with uncommitted changes at the time. */
  git: { commit: string; dirty: string[] };
  /** Which runhooks was measured: the built package or the sources through tsx (`BENCH_SOURCE`). */
  runhooks: string;
  /** The PostgreSQL server of the `-postgres` and `pgboss` paths: version and `user@host:port/db`. */
  postgres?: string;
}

export interface Results {
  date: string;
  durationSeconds: number;
  environment: Environment;
  config: Omit<BenchConfig, "only" | "paths"> & { only: string[]; paths: string[] };
  bodyBytes: number;
  throughput: ThroughputResult[];
  dead?: DeadResult | undefined;
  soak?: SoakResult | undefined;
  calls?: CallsResult | undefined;
  latency?: LatencyResult | undefined;
  targets: Target[];
  problems: string[];
  /** Conditions that make the numbers less trustworthy (another workload on the machine). */
  warnings: string[];
  /** What was not measured and why, with how to measure it (the PostgreSQL paths without a server). */
  skipped?: string[];
}

const fmt = (n: number, digits = 0): string =>
  Number.isFinite(n)
    ? n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits })
    : "–";
const ratio = (n: number): string => (Number.isFinite(n) ? `${n.toFixed(2)}×` : "–");

function find(result: ThroughputResult | undefined, path: PathName): PathResult | undefined {
  return result?.paths.find((p) => p.path === path);
}

/** The naive path a runhooks path is compared with: signed with signed where the scenario has both. */
function naiveFor(result: ThroughputResult, path: PathName): PathResult | undefined {
  if (path === "runhooks+hmac") return find(result, "naive+hmac") ?? find(result, "naive");
  return find(result, "naive");
}

/** Median ratio, plus the range of per-repetition ratios (repetition i of one path against i of the other). */
function compare(a: PathResult, b: PathResult): { median: number; low: number; high: number } {
  const per = a.reps.map((m, i) => m.perSecond / (b.reps[i]?.perSecond ?? Number.NaN));
  return { median: a.perSecond.median / b.perSecond.median, low: Math.min(...per), high: Math.max(...per) };
}

function ratioText(c: { median: number; low: number; high: number }): string {
  return `${c.median.toFixed(2)}× (per-rep ${c.low.toFixed(2)}–${c.high.toFixed(2)})`;
}

export function throughputTable(results: readonly ThroughputResult[]): string {
  const lines = [
    "| scenario | path | deliveries/s (median) | min–max | spread | ÷ ceiling | ÷ naive | client CPU µs/delivery | peak RSS MiB | requests/delivery |",
    "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
  ];
  for (const result of results) {
    const ceiling = find(result, "ceiling");
    for (const p of result.paths) {
      const naive = p.path.startsWith("runhooks") ? naiveFor(result, p.path) : undefined;
      lines.push(
        `| ${result.id}: ${result.title} | ${p.path} | ${fmt(p.perSecond.median)} | ${fmt(p.perSecond.min)}–${fmt(p.perSecond.max)} | ${fmt(p.perSecond.spread * 100)} % | ${ceiling && p !== ceiling ? ratio(p.perSecond.median / ceiling.perSecond.median) : ""} | ${naive ? ratio(p.perSecond.median / naive.perSecond.median) : ""} | ${fmt(p.cpuUsPerDelivery, 1)} | ${fmt(p.peakRssMb)} | ${fmt(p.attemptsPerDelivery, 2)} |`,
      );
    }
  }
  return lines.join("\n");
}

/** What a user would install instead of runhooks (bench/peers.ts), and what they would write (naive). */
const PEERS: readonly PathName[] = ["got", "ky", "slack-webhook", "naive"];
/** The libraries among them: runhooks with its defaults has a target against each. */
const LIBRARIES: readonly PathName[] = ["got", "ky", "slack-webhook"];
/** The runhooks paths of the peer table, each with its options written out for the report. */
const RUNHOOKS_OPTIONS: ReadonlyArray<{ path: PathName; label: string; options: string }> = [
  {
    path: "runhooks-defaults",
    label: "runhooks, defaults",
    options:
      "createNotifier({ network: { allowPrivate: true }, rateLimits: { [format]: null } }): everything else its default (httpTransport() with 8 connections, maxInFlight 128, maxQueued 10,000); in (c) also retry: { retries: 8, minDelayMs: 1, maxDelayMs: 100 }, circuitBreaker: false",
  },
  {
    path: "runhooks",
    label: "runhooks, 64 connections",
    options:
      "the same plus transport: httpTransport({ network, connections: 64 }), maxInFlight: 64, maxQueued: 2 × deliveries, retry: { retries: 8, minDelayMs: 1, maxDelayMs: 100 }, apiFailureCooldownMs: 0",
  },
  {
    path: "runhooks-sqlite",
    label: "runhooks-sqlite",
    options: "runhooks, 64 connections, plus backend: sqliteBackend({ file })",
  },
  {
    path: "runhooks-postgres",
    label: "runhooks-postgres",
    options: "runhooks, 64 connections, plus backend: postgresBackend({ connectionString, schema })",
  },
];

/**
 * What runhooks gains over what a user would install or write instead, from the same run: one row per
 * peer of each scenario, and per runhooks path its throughput ÷ the peer's and its client CPU per
 * delivery ÷ the peer's. `undefined` when no scenario had a peer.
 */
export function peerTable(results: readonly ThroughputResult[]): string | undefined {
  const withPeers = results.filter((r) => r.paths.some((p) => PEERS.includes(p.path)));
  const columns = RUNHOOKS_OPTIONS.filter((c) => withPeers.some((r) => find(r, c.path)));
  if (withPeers.length === 0 || columns.length === 0) return undefined;
  const lines = [
    `| scenario | path | deliveries/s | client CPU µs/delivery | RSS rise MiB | requests/delivery | ${columns.map((c) => `${c.label} ÷ it: deliveries/s, CPU/delivery`).join(" | ")} |`,
    `|---|---|---:|---:|---:|---:|${columns.map(() => "---:|").join("")}`,
  ];
  const row = (result: ThroughputResult, p: PathResult, cells: string[]): string =>
    `| ${result.id} | ${p.path} | ${fmt(p.perSecond.median)} | ${fmt(p.cpuUsPerDelivery, 1)} | ${fmt(p.rssRiseMb)} | ${fmt(p.attemptsPerDelivery, 2)} | ${cells.join(" | ")} |`;
  for (const result of withPeers) {
    for (const c of columns) {
      const p = find(result, c.path);
      if (p)
        lines.push(
          row(
            result,
            p,
            columns.map(() => ""),
          ),
        );
    }
    for (const peer of PEERS) {
      const o = find(result, peer);
      if (!o) continue;
      const cells = columns.map((c) => {
        const p = find(result, c.path);
        return p
          ? `${ratio(p.perSecond.median / o.perSecond.median)}, ${ratio(p.cpuUsPerDelivery / o.cpuUsPerDelivery)}`
          : "";
      });
      lines.push(row(result, o, cells));
    }
  }
  const legend = columns.map((c) => `- ${c.label} (\`${c.path}\`): ${c.options}`);
  return [...lines, "", ...legend].join("\n");
}

// Each durable path beside the memory path it is the same as, and the engine it is built on (pgboss).
const DURABLE: ReadonlyArray<{ path: PathName; memory: PathName; engine?: PathName }> = [
  { path: "runhooks-sqlite", memory: "runhooks" },
  { path: "runhooks-run-sqlite", memory: "runhooks-run" },
  { path: "runhooks-postgres", memory: "runhooks", engine: "pgboss" },
  { path: "runhooks-run-postgres", memory: "runhooks-run", engine: "pgboss" },
];

/**
 * The durable backends against the memory backend, and the PostgreSQL one against pg-boss's own loop,
 * from the same run: throughput ratios (with the per-repetition range) and client CPU per delivery.
 */
export function durableTable(results: readonly ThroughputResult[]): string | undefined {
  const lines = [
    "| scenario | durable path | ÷ memory path | ÷ pgboss (engine) | client CPU µs/delivery: durable, memory, pgboss | PostgreSQL server CPU µs/delivery: durable, pgboss |",
    "|---|---|---|---|---|---|",
  ];
  const cpu = (paths: ReadonlyArray<PathResult | undefined>, server: boolean): string =>
    paths.map((x) => (x ? fmt(server ? x.serverCpuUsPerDelivery : x.cpuUsPerDelivery, 1) : "–")).join(", ");
  for (const result of results) {
    for (const { path, memory, engine } of DURABLE) {
      const p = find(result, path);
      if (!p) continue;
      const m = find(result, memory);
      const e = engine === undefined ? undefined : find(result, engine);
      const versusMemory = m ? `${ratioText(compare(p, m))} ${memory}` : "–";
      const versusEngine = engine === undefined ? "" : e ? ratioText(compare(p, e)) : "–";
      const client = cpu([p, m, ...(engine === undefined ? [] : [e])], false);
      const server = engine === undefined ? "" : cpu([p, e], true);
      lines.push(`| ${result.id} | ${path} | ${versusMemory} | ${versusEngine} | ${client} | ${server} |`);
    }
  }
  return lines.length > 2 ? lines.join("\n") : undefined;
}

export function deadTable(dead: DeadResult): string {
  const withReps = dead.reps.filter((r) => r.withDead);
  const withoutReps = dead.reps.filter((r) => !r.withDead);
  const median = (values: number[]): number =>
    [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? Number.NaN;
  const lines = [
    "| d: dead endpoint + live one | live deliveries/s (median) | min–max | client CPU µs/live delivery | peak RSS MiB | dropped (overflow) per run | dead attempts per run |",
    "|---|---:|---:|---:|---:|---:|---:|",
    `| live only | ${fmt(dead.without.median)} | ${fmt(dead.without.min)}–${fmt(dead.without.max)} | ${fmt(median(withoutReps.map((r) => r.cpuUsPerLiveDelivery)), 1)} | ${fmt(Math.max(...withoutReps.map((r) => r.peakRssMb)))} | 0 | 0 |`,
    `| live + dead, maxQueued ${dead.cap} | ${fmt(dead.with.median)} | ${fmt(dead.with.min)}–${fmt(dead.with.max)} | ${fmt(median(withReps.map((r) => r.cpuUsPerLiveDelivery)), 1)} | ${fmt(Math.max(...withReps.map((r) => r.peakRssMb)))} | ${fmt(median(withReps.map((r) => r.dropped)))} | ${fmt(median(withReps.map((r) => r.deadAttempts)))} |`,
    "",
    `soak (${fmt(dead.soak.seconds)} s with the dead endpoint, full GC every 500 ms): ${rssTrail(dead)}; after-GC growth from the first to the last third: RSS ${fmt(dead.soak.rssGrowthMb, 1)} MiB, heap ${fmt(dead.soak.heapGrowthMb, 1)} MiB`,
  ];
  return lines.join("\n");
}

/** After-GC RSS of the soak at about one point a second, e.g. "RSS 150 → 152 → 151 MiB". */
function rssTrail(dead: DeadResult): string {
  const points = dead.soak.samples.filter((s) => s.afterGc);
  const step = Math.max(1, Math.round(points.length / 8));
  const picked = points.filter((_, i) => i % step === 0 || i === points.length - 1);
  return `after-GC RSS ${picked.map((p) => fmt(p.rssMb)).join(" → ")} MiB (queued ${fmt(points[points.length - 1]?.queued ?? Number.NaN)})`;
}

// Scenario (e)'s targets: from the issue that asked for the soak (issue 19).
const SOAK_HEALTHY_SHARE = 0.999;
const SOAK_HEAP_SLOPE_MB_PER_MIN = 1;
// "RSS reaches a plateau": the allocator returns memory late and in steps, so RSS gets a looser slope
// than the heap; the leak that prompted the soak grew RSS 12 MiB/min.
const SOAK_RSS_SLOPE_MB_PER_MIN = 2;
const SOAK_CALL_P999_US = 5_000;

const outcomes = (counts: Record<string, number>): string =>
  Object.entries(counts)
    .sort((a, b) => b[1] - a[1])
    .map(([k, n]) => `${k} ${fmt(n)}`)
    .join(", ") || "none";

export function soakTable(soak: SoakResult): string {
  const h = soak.healthy;
  const points = soak.samples;
  const step = Math.max(1, Math.round(points.length / 10));
  const trail = (key: "heapMb" | "externalMb" | "rssMb"): string =>
    points
      .filter((_, i) => i % step === 0 || i === points.length - 1)
      .map((p) => fmt(p[key], key === "rssMb" ? 0 : 1))
      .join(" → ");
  const last = points[points.length - 1];
  return [
    `e: soak, ${fmt(soak.seconds)} s, ${fmt(soak.runsStarted)} runs`,
    "",
    "| e: soak | measured |",
    "|---|---|",
    `| healthy webhook | ${fmt(h.delivered)} of ${fmt(h.expected)} delivered (${fmt(h.share * 100, 3)} % of those not superseded); superseded ${fmt(h.superseded)}; lost: ${outcomes(h.lost)}; receiver requests ${fmt(h.receiverRequests)} |`,
    `| dead webhook | ${fmt(soak.dead.attempts)} attempts; final outcomes: ${outcomes(soak.dead.outcomes)} |`,
    `| runner calls | ${fmt(soak.calls.count)} calls: p50 ${fmt(soak.calls.p50Us, 1)} µs, p99 ${fmt(soak.calls.p99Us, 1)} µs, p99.9 ${fmt(soak.calls.p999Us, 1)} µs, max ${fmt(soak.calls.maxUs)} µs |`,
    `| heap after GC, MiB | ${trail("heapMb")}; last half ${fmt(soak.heapSlopeMbPerMin, 2)} MiB/min |`,
    `| external (Buffers) after GC, MiB | ${trail("externalMb")} |`,
    `| RSS after GC, MiB | ${trail("rssMb")}; last half ${fmt(soak.rssSlopeMbPerMin, 2)} MiB/min |`,
    `| at the end | queued ${fmt(last?.queued ?? Number.NaN)}, in flight ${fmt(last?.inFlight ?? Number.NaN)}, open circuits ${fmt(last?.openCircuits ?? Number.NaN)} |`,
  ].join("\n");
}

function soakTargets(soak: SoakResult): Target[] {
  const h = soak.healthy;
  const slope = (n: number): string => `${n >= 0 ? "+" : ""}${n.toFixed(2)} MiB/min`;
  const memory = (target: Omit<Target, "scenario" | "judged">): Target =>
    soak.memoryJudged
      ? { scenario: "e", ...target }
      : {
          scenario: "e",
          ...target,
          measured: `${target.measured} (not judged: a ${fmt(soak.seconds)} s soak, under ${MIN_MEMORY_SECONDS} s)`,
          judged: false,
        };
  return [
    {
      scenario: "e",
      goal: `the healthy webhook delivers ≥ ${SOAK_HEALTHY_SHARE * 100} % of its events beside a dead one`,
      measured: `${fmt(h.share * 100, 3)} % (${fmt(h.delivered)} of ${fmt(h.expected - h.superseded)}; lost: ${outcomes(h.lost)})`,
      pass: h.share >= SOAK_HEALTHY_SHARE,
    },
    {
      scenario: "e",
      goal: `no runner call over ${SOAK_CALL_P999_US / 1000} ms at p99.9`,
      measured: `p99.9 ${fmt(soak.calls.p999Us, 1)} µs (max ${fmt(soak.calls.maxUs)} µs, ${fmt(soak.calls.count)} calls)`,
      pass: soak.calls.p999Us <= SOAK_CALL_P999_US,
    },
    memory({
      goal: `heap after GC grows ≤ ${SOAK_HEAP_SLOPE_MB_PER_MIN} MiB/min over the last half`,
      measured: slope(soak.heapSlopeMbPerMin),
      pass: soak.heapSlopeMbPerMin <= SOAK_HEAP_SLOPE_MB_PER_MIN,
    }),
    memory({
      goal: `RSS reaches a plateau: after-GC RSS grows ≤ ${SOAK_RSS_SLOPE_MB_PER_MIN} MiB/min over the last half`,
      measured: slope(soak.rssSlopeMbPerMin),
      pass: soak.rssSlopeMbPerMin <= SOAK_RSS_SLOPE_MB_PER_MIN,
    }),
  ];
}

export function callsTable(calls: CallsResult): string {
  const lines = [
    "| runner call (stub transport) | per | median µs | p99 µs | samples |",
    "|---|---|---:|---:|---:|",
  ];
  for (const c of calls.costs) {
    lines.push(`| ${c.name} | ${c.unit} | ${fmt(c.medianUs, 2)} | ${fmt(c.p99Us, 2)} | ${c.samples} |`);
  }
  return lines.join("\n");
}

export function latencyTable(latency: LatencyResult): string {
  const lines = [
    "| event → first byte at the receiver, one at a time | p50 µs | p99 µs | max µs | samples |",
    "|---|---:|---:|---:|---:|",
  ];
  for (const p of latency.paths) {
    lines.push(`| ${p.path} | ${fmt(p.p50Us)} | ${fmt(p.p99Us)} | ${fmt(p.maxUs)} | ${p.samples} |`);
  }
  return lines.join("\n");
}

/** (c) and its Slack variant: every runhooks delivery took exactly two requests, as the receiver counts. */
function attemptTargets(result: ThroughputResult): Target[] {
  const targets: Target[] = [];
  for (const path of ["runhooks-defaults", "runhooks", "runhooks+hmac"] as const) {
    const p = find(result, path);
    if (!p) continue;
    const histogram = p.attemptsHistogram ?? {};
    const keys = Object.keys(histogram);
    const exact =
      keys.length === 1 && keys[0] === "2" && histogram["2"] === result.deliveriesPerRep * p.reps.length;
    targets.push({
      scenario: result.id,
      goal: `${path}: every delivery attempted exactly 2 times (at the receiver)`,
      measured: `${p.attemptsPerDelivery.toFixed(3)} requests/delivery; deliveries by attempts ${JSON.stringify(histogram)}`,
      pass: exact,
    });
  }
  return targets;
}

// Issue 23: runhooks with its defaults against each library a user would install instead.
const PEER_THROUGHPUT = 2;
const PEER_CPU = 0.5;

/** runhooks-defaults ≥ 2× each library peer's deliveries/s and ≤ 0.5× its client CPU per delivery. */
function peerTargets(throughput: readonly ThroughputResult[]): Target[] {
  const targets: Target[] = [];
  for (const result of throughput) {
    const p = find(result, "runhooks-defaults");
    if (!p) continue;
    for (const peer of LIBRARIES) {
      const o = find(result, peer);
      if (!o) continue;
      const throughputRatio = compare(p, o);
      const cpu = p.cpuUsPerDelivery / o.cpuUsPerDelivery;
      targets.push(
        {
          scenario: result.id,
          goal: `runhooks-defaults ≥ ${PEER_THROUGHPUT}× ${peer} (deliveries/s)`,
          measured: `${ratioText(throughputRatio)}: ${fmt(p.perSecond.median)} against ${fmt(o.perSecond.median)}/s`,
          pass: throughputRatio.median >= PEER_THROUGHPUT,
        },
        {
          scenario: result.id,
          goal: `runhooks-defaults client CPU per delivery ≤ ${PEER_CPU}× ${peer}'s`,
          measured: `${cpu.toFixed(2)}×: ${fmt(p.cpuUsPerDelivery, 1)} against ${fmt(o.cpuUsPerDelivery, 1)} µs`,
          pass: cpu <= PEER_CPU,
        },
      );
    }
  }
  return targets;
}

export function evaluateTargets(
  throughput: readonly ThroughputResult[],
  dead: DeadResult | undefined,
  calls: CallsResult | undefined,
  latency: LatencyResult | undefined,
  soak?: SoakResult,
): Target[] {
  const targets: Target[] = [];
  const byId = (id: string): ThroughputResult | undefined => throughput.find((t) => t.id === id);
  const versus = (scenario: string, path: PathName, other: PathName, goal: number): void => {
    const result = byId(scenario);
    if (!result) return;
    const p = find(result, path);
    const o = other === "naive" ? naiveFor(result, path) : find(result, other);
    if (!p || !o) return;
    const c = compare(p, o);
    // The client is the bottleneck (the receiver has the other core), so the inverse ratio of CPU per
    // delivery predicts the throughput ratio; unlike wall-clock throughput it hardly moves when another
    // workload takes CPU time from the run. Shown for context; the target is judged on throughput.
    const cpu = o.cpuUsPerDelivery / p.cpuUsPerDelivery;
    // Against pgboss both sides also wait on the PostgreSQL server, which takes CPU from the same two
    // cores: the ratio of client + server CPU per delivery is then the better predictor.
    const both =
      (o.cpuUsPerDelivery + o.serverCpuUsPerDelivery) / (p.cpuUsPerDelivery + p.serverCpuUsPerDelivery);
    const withServer = Number.isFinite(both) ? `, by client + server CPU ${both.toFixed(2)}×` : "";
    targets.push({
      scenario,
      goal: `${path} ≥ ${goal}× ${o.path}`,
      measured: `${ratioText(c)}; by client CPU per delivery ${cpu.toFixed(2)}×${withServer}`,
      pass: c.median >= goal,
    });
  };

  targets.push(...peerTargets(throughput));
  for (const path of ["runhooks", "runhooks+hmac", "runhooks-run"] as const) {
    versus("a", path, "ceiling", 0.75);
    versus("a", path, "naive", 1.3);
  }
  for (const path of ["runhooks", "runhooks+hmac"] as const) versus("b", path, "ceiling", 0.85);
  // Durable (issue 20): an SQLite file costs a transaction per event and per delivery.
  versus("a", "runhooks-sqlite", "runhooks", 0.5);
  versus("a", "runhooks-run-sqlite", "runhooks-run", 0.5);
  versus("b", "runhooks-sqlite", "runhooks", 0.6);
  // PostgreSQL (issue 21): against pg-boss's own send → work → complete loop on the same server.
  versus("a", "runhooks-postgres", "pgboss", 0.5);
  versus("a", "runhooks-run-postgres", "pgboss", 0.5);
  versus("b", "runhooks-postgres", "pgboss", 0.5);
  for (const result of throughput.filter((t) => t.id === "c" || t.id === "c-slack")) {
    targets.push(...attemptTargets(result));
  }
  for (const path of ["runhooks", "runhooks+hmac"] as const) versus("c", path, "naive", 1.3);
  if (dead) {
    targets.push({
      scenario: "d",
      goal: "live throughput with the dead endpoint ≥ 0.9× without",
      measured: `${dead.ratio.toFixed(2)}× (${fmt(dead.with.median)} vs ${fmt(dead.without.median)} deliveries/s)`,
      pass: dead.ratio >= 0.9,
    });
    targets.push({
      scenario: "d",
      goal: `RSS flat once the queue cap is reached (soak: after-GC RSS and heap grow ≤ ${FLAT_TOLERANCE_MB} MiB from the first to the last third)`,
      measured: `RSS ${dead.soak.rssGrowthMb >= 0 ? "+" : ""}${dead.soak.rssGrowthMb.toFixed(1)} MiB, heap ${dead.soak.heapGrowthMb >= 0 ? "+" : ""}${dead.soak.heapGrowthMb.toFixed(1)} MiB over ${dead.soak.seconds.toFixed(0)} s`,
      pass: dead.rssFlat,
    });
  }
  if (soak) targets.push(...soakTargets(soak));
  const quiet = calls?.costs[0];
  if (quiet) {
    targets.push({
      scenario: "calls",
      goal: "run.stats() that fires no event: median ≤ 2 µs",
      measured: `${quiet.medianUs.toFixed(2)} µs`,
      pass: quiet.medianUs <= 2,
    });
  }
  for (const p of latency?.paths ?? []) {
    if (!p.path.startsWith("runhooks")) continue;
    targets.push({
      scenario: "latency",
      goal: `${p.path}: event → first byte p50 ≤ 1 ms`,
      measured: `p50 ${fmt(p.p50Us)} µs, p99 ${fmt(p.p99Us)} µs`,
      pass: p.p50Us <= 1000,
    });
  }
  return targets;
}

export function targetsTable(targets: readonly Target[]): string {
  const lines = ["| scenario | target | measured | |", "|---|---|---|---|"];
  for (const t of targets)
    lines.push(
      `| ${t.scenario} | ${t.goal} | ${t.measured} | ${t.judged === false ? "not judged" : t.pass ? "PASS" : "**MISS**"} |`,
    );
  return lines.join("\n");
}

export function renderReport(results: Results): string {
  const parts = [
    `runhooks benchmark (${results.environment.runhooks}) — ${results.date}, commit ${results.environment.git.commit}${results.environment.git.dirty.length > 0 ? ` + uncommitted changes to ${results.environment.git.dirty.join(", ")}` : ""}, Node ${results.environment.node} (V8 ${results.environment.v8}), ${results.environment.cpus} × ${results.environment.cpuModel}`,
    ...(results.environment.postgres === undefined ? [] : [results.environment.postgres]),
    ...(results.skipped ?? []).map((line) => `SKIPPED: ${line}`),
    `load average ${results.environment.loadAverage.start.toFixed(2)} at start, ${results.environment.loadAverage.end.toFixed(2)} at end; body ${results.bodyBytes} bytes (JSON), ${results.config.concurrency} connections per origin for every path but runhooks-defaults (8, its default) and the peers (their own agents, ${results.config.concurrency} sends outstanding), ${results.config.reps} repetitions, medians; ${results.durationSeconds.toFixed(0)} s in all`,
    "",
  ];
  if (results.throughput.length > 0) {
    const peers = peerTable(results.throughput);
    if (peers !== undefined) parts.push(peers, "");
    parts.push(throughputTable(results.throughput), "");
    const durable = durableTable(results.throughput);
    if (durable !== undefined) parts.push(durable, "");
    for (const t of results.throughput) parts.push(`- ${t.id}: ${t.method}`);
    parts.push("");
  }
  if (results.dead) parts.push(deadTable(results.dead), "", `- d: ${results.dead.method}`, "");
  if (results.soak) parts.push(soakTable(results.soak), "", `- e: ${results.soak.method}`, "");
  if (results.calls) parts.push(callsTable(results.calls), "");
  if (results.latency) {
    parts.push(
      latencyTable(results.latency),
      "",
      `- clocks: process.hrtime (CLOCK_MONOTONIC) in both processes; largest disagreement found ${results.latency.clockSkewUs.toFixed(1)} µs, IPC round trip ${results.latency.ipcRoundTripUs.toFixed(0)} µs`,
      "",
    );
  }
  parts.push(targetsTable(results.targets));
  if (results.warnings.length > 0) parts.push("", ...results.warnings.map((w) => `WARNING: ${w}`));
  if (results.problems.length > 0)
    parts.push(
      "",
      "PROBLEMS (the numbers above are not trustworthy where these apply):",
      ...results.problems.map((p) => `- ${p}`),
    );
  return parts.join("\n");
}
