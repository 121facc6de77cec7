/**
 * `npm run bench`: runhooks against what a user would install instead (got and ky with p-retry,
 * @slack/webhook), the undici ceiling and a hand-written naive notifier, on loopback, with the receiver
 * in a child process; its durable backends against the memory backend, and the PostgreSQL one against
 * pg-boss's own loop on the same server. See docs/performance.md for what is
 * measured and how.
 *
 * Sizes come from environment variables (bench/config.ts); `BENCH_QUICK=1` is a smoke run. The
 * PostgreSQL paths need a server (bench/postgres.ts) and Node ≥ 22.12; without them the report says
 * they were skipped, and how to run them.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import { dirname } from "node:path";
import { runCalls, type CallsResult } from "./calls.js";
import { findBackends, type Backends } from "./backends.js";
import { loadConfig } from "./config.js";
import { runDeadEndpoint, type DeadResult } from "./dead.js";
import { runLatency, type LatencyResult } from "./latency.js";
import { runhooksBody } from "./paths.js";
import { runSoak, type SoakResult } from "./soak.js";
import { startReceiver, type Receiver } from "./receiver-client.js";
import { evaluateTargets, renderReport, type Environment, type Results } from "./report.js";
import { measured } from "./runhooks.js";
import { runThroughput, throughputScenarios, type ThroughputResult } from "./throughput.js";

// Cores of CPU used by other processes during a measured run above which the run is flagged.
const FOREIGN_LOAD_WARNING = 0.2;

const log = (line: string): void => {
  process.stderr.write(`${line}\n`);
};
const startedAt = performance.now();
/** A section's heading, with the seconds since the start: where a run's time goes. */
const section = (line: string): void => {
  log(`[${((performance.now() - startedAt) / 1000).toFixed(1)} s] ${line}`);
};

function packageVersion(name: string): string {
  try {
    const text = readFileSync(new URL(`../node_modules/${name}/package.json`, import.meta.url), "utf8");
    return (JSON.parse(text) as { version?: string }).version ?? "?";
  } catch {
    return "?";
  }
}

/** The commit measured, and the source files that differed from it (the numbers are for those). */
function gitState(): { commit: string; dirty: string[] } {
  try {
    // Not trimmed at the start: porcelain lines begin with a status column that may be a space.
    const git = (...args: string[]): string => execFileSync("git", args, { encoding: "utf8" }).trimEnd();
    const dirty = git("status", "--porcelain", "--", "src", "package.json", "package-lock.json")
      .split("\n")
      .filter((line) => line !== "")
      .map((line) => line.slice(3));
    return { commit: git("rev-parse", "--short", "HEAD"), dirty };
  } catch {
    return { commit: "unknown", dirty: [] };
  }
}

function environment(loadAtStart: number, backends: Backends): Environment {
  return {
    node: process.versions.node,
    v8: process.versions.v8,
    platform: `${os.platform()} ${os.release()}`,
    cpus: os.availableParallelism(),
    cpuModel: os.cpus()[0]?.model.trim() ?? "unknown",
    packages: Object.fromEntries(
      [
        "undici",
        "p-retry",
        "eventemitter3",
        "zod",
        "tinybench",
        "better-sqlite3",
        "pg",
        "pg-boss",
        "got",
        "ky",
        "@slack/webhook",
      ].map((name) => [name, packageVersion(name)]),
    ),
    ...(backends.postgres && {
      postgres: `PostgreSQL ${backends.postgres.version} at ${backends.postgres.target}`,
    }),
    loadAverage: { start: loadAtStart, end: os.loadavg()[0] ?? Number.NaN },
    git: gitState(),
    runhooks: measured,
  };
}

/** Another workload on a 2-core machine takes CPU from the client or the receiver: say so. */
function foreignLoadWarnings(
  throughput: readonly ThroughputResult[],
  dead: DeadResult | undefined,
): string[] {
  const foreign = [
    ...throughput.flatMap((t) =>
      t.paths.flatMap((p) =>
        p.reps.map((m, i) => ({ what: `${t.id}/${p.path} rep ${i + 1}`, cores: m.foreignCores })),
      ),
    ),
    ...(dead?.reps ?? []).map((r, i) => ({ what: `d run ${i + 1}`, cores: r.foreignCores })),
  ];
  const busy = foreign.filter((f) => f.cores > FOREIGN_LOAD_WARNING);
  return busy.length > 0
    ? [
        `other workloads used more than ${FOREIGN_LOAD_WARNING} cores during ${busy.length} of ${foreign.length} measured runs (worst ${Math.max(...busy.map((b) => b.cores)).toFixed(2)} cores: ${busy
          .slice(0, 6)
          .map((b) => b.what)
          .join(", ")}${busy.length > 6 ? ", …" : ""}); rerun on a quiet machine`,
      ]
    : [];
}

async function main(): Promise<void> {
  const config = loadConfig();
  if ((globalThis as { gc?: unknown }).gc === undefined) {
    log(
      "note: run with node --expose-gc (npm run bench does) so that each measured run starts after a full GC",
    );
  }
  const started = performance.now();
  const loadAtStart = os.loadavg()[0] ?? Number.NaN;
  const gitAtStart = gitState();
  const body = runhooksBody();
  const { backends, skipped } = await findBackends(config);
  const server = backends.postgres;
  const problems: string[] = [];
  const throughput: ThroughputResult[] = [];
  let dead: DeadResult | undefined;
  let soak: SoakResult | undefined;
  let calls: CallsResult | undefined;
  let latency: LatencyResult | undefined;

  log(
    `runhooks bench: ${config.quick ? "quick" : "full"} run; scenarios ${[...config.only].join(", ")}; body ${Buffer.byteLength(body)} bytes`,
  );
  if (server) log(`postgres: PostgreSQL ${server.version} at ${server.target}`);
  for (const line of skipped) log(`skipped: ${line}`);
  const receiver: Receiver = await startReceiver();
  const stop = (): void => {
    void receiver.stop().finally(() => process.exit(130));
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  try {
    log(`receiver: pid ${receiver.pid}, ${receiver.origin}`);
    for (const definition of throughputScenarios(config, receiver.origin, backends)) {
      section(`(${definition.id}) ${definition.title}`);
      const result = await runThroughput(definition, config, receiver, body, log, backends);
      throughput.push(result);
      for (const p of result.paths)
        problems.push(...p.problems.map((text) => `${result.id}/${p.path}: ${text}`));
    }
    if (config.only.has("d")) {
      section("(d) dead endpoint + live one");
      dead = await runDeadEndpoint(config, receiver, log);
      problems.push(...dead.problems.map((text) => `d: ${text}`));
    }
    if (config.only.has("e")) {
      section(
        `(e) soak: ${config.soakRunsPerSecond} runs/s for ${config.soakSeconds} s, a healthy and a dead webhook`,
      );
      soak = await runSoak(config, receiver, log);
      problems.push(...soak.problems.map((text) => `e: ${text}`));
    }
    if (config.only.has("latency")) {
      section("event → first byte latency");
      latency = await runLatency(config, receiver, body, log);
      problems.push(...latency.problems.map((text) => `latency: ${text}`));
    }
  } finally {
    await receiver.stop();
  }
  // No network at all: runs after the receiver is gone.
  if (config.only.has("calls")) {
    section("runner-call cost (tinybench)");
    calls = await runCalls(config, backends);
    problems.push(...calls.problems.map((text) => `calls: ${text}`));
  }

  const warnings = foreignLoadWarnings(throughput, dead);
  const env = environment(loadAtStart, backends);
  if (JSON.stringify(env.git) !== JSON.stringify(gitAtStart)) {
    warnings.push(
      `the source changed while the benchmark ran (commit ${gitAtStart.commit}, uncommitted ${gitAtStart.dirty.join(", ") || "none"} at the start): scenarios may have measured different code`,
    );
  }

  const results: Results = {
    date: new Date().toISOString(),
    durationSeconds: (performance.now() - started) / 1000,
    environment: env,
    config: { ...config, only: [...config.only], paths: [...config.paths] },
    bodyBytes: Buffer.byteLength(body),
    throughput,
    dead,
    soak,
    calls,
    latency,
    targets: evaluateTargets(throughput, dead, calls, latency, soak),
    problems,
    warnings,
    skipped,
  };
  const report = renderReport(results);
  process.stdout.write(`\n${report}\n`);
  mkdirSync(dirname(config.out), { recursive: true });
  writeFileSync(config.out, `${JSON.stringify(results, null, 2)}\n`);
  section(`written to ${config.out}`);
  if (problems.length > 0) process.exitCode = 1;
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
