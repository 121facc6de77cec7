/**
 * @internal The shapes Artillery 2 hands a plugin (read from its source, artilleryio/artillery
 * packages/artillery/lib: launch-platform.ts, cmds/run.ts), as far as this plugin reads them. Every field
 * is optional: a key Artillery leaves out (no HTTP traffic, an early stop) must never crash a listener.
 */

/** One entry of `config.phases`, as written in the script. */
export interface ScriptPhase {
  name?: unknown;
  duration?: unknown;
  pause?: unknown;
  arrivalRate?: unknown;
  rampTo?: unknown;
  arrivalCount?: unknown;
  maxVusers?: unknown;
}

/** The test script as a plugin's constructor gets it (a copy: changing it changes nothing). */
export interface ArtilleryScript {
  config?: {
    name?: unknown;
    phases?: unknown;
    plugins?: Record<string, unknown>;
  };
}

/** The third constructor argument. */
export interface RunnerOptions {
  /** `--environment`, when given. */
  environment?: unknown;
  scriptPath?: unknown;
  absoluteScriptPath?: unknown;
}

/** `phaseStarted` / `phaseCompleted`: the script's phase plus what the launcher adds. */
export interface PhaseEvent extends ScriptPhase {
  index?: number;
  id?: string;
  /** Milliseconds since the epoch. */
  startTime?: number;
  /** `phaseCompleted` only. */
  endTime?: number;
}

/** A latency summary: `summaries['http.response_time']`. */
export type Summary = Record<string, unknown>;

/** `stats` (one period) and `done` (the whole run): Artillery's metrics, not its legacy report. */
export interface ArtilleryMetrics {
  period?: string | number;
  counters?: Record<string, unknown>;
  rates?: Record<string, unknown>;
  summaries?: Record<string, Summary | undefined>;
  firstMetricAt?: number;
  lastMetricAt?: number;
}

/** What a `beforeExit` extension gets from Artillery's graceful shutdown. */
export interface BeforeExitOptions {
  /** True on SIGINT, SIGTERM or a stop from Artillery Cloud. */
  earlyStop?: boolean;
  /** 130 on SIGINT, 143 on SIGTERM, 0 after `done`. */
  exitCode?: number;
  /** The `done` report; `{}` when the run did not get that far. */
  report?: ArtilleryMetrics;
  testInfo?: { endTime?: number };
}

/** The emitter a plugin listens on. Artillery does not await listeners, and a throw would reach it. */
export interface ArtilleryEvents {
  on(event: string, listener: (payload: never) => void): unknown;
}

/** What this plugin uses of `global.artillery`. */
export interface ArtilleryGlobal {
  ext?: (extension: { ext: string; method: (options: BeforeExitOptions) => Promise<void> }) => void;
  testRunId?: unknown;
  testInfo?: { tags?: Array<{ name?: unknown; value?: unknown }> };
}

/** `global.artillery`, when the plugin runs inside Artillery. */
export function artilleryGlobal(): ArtilleryGlobal | undefined {
  return (globalThis as { artillery?: ArtilleryGlobal }).artillery;
}

/**
 * True in a worker: Artillery constructs every plugin again in each worker thread (`LOCAL_WORKER_ID`)
 * and on each cloud worker (`WORKER_ID`); only the main process sees the whole run.
 */
export function isWorker(): boolean {
  return process.env["LOCAL_WORKER_ID"] !== undefined || process.env["WORKER_ID"] !== undefined;
}
