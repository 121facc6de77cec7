import {
  createNotifier,
  isConfigError,
  isValidationError,
  type DeliveryReport,
  type LoadProfile,
  type Notifier,
  type NotifierOptions,
  type RunHandle,
} from "runhooks";
import { sqliteBackend, sqliteStore, type SqliteStore } from "runhooks/sqlite";
import type { ArtilleryMetrics, BeforeExitOptions, PhaseEvent } from "./artillery.js";
import { exitError, stopReason } from "./exit.js";
import { log, safely } from "./log.js";
import { toBatch } from "./metrics.js";
import { PluginOptionError, ROOT, type Settings } from "./options.js";
import { defaultScore, loadScore, scoreOf, type ScoreFunction } from "./score.js";

/** One Artillery run, as runhooks sees it: what each Artillery signal becomes. */
export interface Session {
  /** `phaseStarted`: the first one starts the run, at the phase's start time. */
  phaseStarted(phase: PhaseEvent): void;
  /** `phaseCompleted`: remembered, as the run's end time if no metric comes later. */
  phaseCompleted(phase: PhaseEvent): void;
  /** `stats`: one period's metrics, a delta. */
  stats(metrics: ArtilleryMetrics): void;
  /** `done`: the whole run's metrics → `finished` with them as totals, scored. */
  done(report: ArtilleryMetrics): void;
  /** `beforeExit`: an early stop → `aborted`; an exit without `done` → `failed`; then deliveries. */
  beforeExit(options: BeforeExitOptions): Promise<void>;
  /** `process.exit()` without Artillery's graceful shutdown: `failed`, then deliveries. */
  exitedEarly(code: number | string | null | undefined): Promise<void>;
  /** True once deliveries are done (or given up on): an exit may proceed. */
  readonly closed: boolean;
}

/**
 * Creates the notifier and the run for `settings` (synchronously, so that a bad webhook definition
 * stops Artillery before the test starts: it throws a {@link PluginOptionError}). Every method logs
 * instead of throwing.
 */
export function createSession(settings: Settings, load: LoadProfile | undefined): Session {
  // The score module first: a wrong path stops Artillery before anything is opened.
  const score: Promise<ScoreFunction | undefined> =
    settings.score === undefined ? Promise.resolve(defaultScore) : loadScore(settings.score, `${ROOT}.score`);
  const { notifier, store } = openNotifier(settings);
  const run = openRun(notifier, settings, load);
  let started = false;
  let sawDone = false;
  let lastPhaseEnd: number | undefined;
  // finished() waits for the score function; beforeExit, which Artillery calls right after `done`,
  // waits for it in turn, so nothing is decided or closed before the run's outcome is recorded.
  let finishing: Promise<void> = Promise.resolve();
  const closer = closeOnce(notifier, store, settings.closeTimeoutMs);

  return {
    get closed() {
      return closer.closed;
    },
    phaseStarted: (phase) =>
      safely("phaseStarted", () => {
        if (started || run.ended) return;
        started = true;
        run.started({ at: time(phase.startTime) ?? Date.now() });
      }),
    phaseCompleted: (phase) =>
      safely("phaseCompleted", () => {
        const end = time(phase.endTime);
        if (end !== undefined) lastPhaseEnd = Math.max(end, lastPhaseEnd ?? end);
      }),
    // After an early stop Artillery may still emit a period for a few seconds: the run has ended.
    // A period is reported at Artillery's flush, often well after it: its last metric's time is when.
    stats: (metrics) =>
      safely("stats", () => {
        if (run.ended) return;
        const at = time(metrics.lastMetricAt);
        run.stats(toBatch(metrics), at === undefined ? undefined : { at });
      }),
    done: (report) =>
      safely("done", () => {
        sawDone = true;
        const totals = toBatch(report);
        const at = endTime(report, lastPhaseEnd);
        finishing = score
          .then((fn) => {
            if (!run.ended) run.finished({ totals, score: scoreOf(fn, totals, report), at });
          })
          .catch((error: unknown) => log("finishing the run failed", error));
      }),
    async beforeExit(options) {
      // Without `done`, the outcome is decided now, before a late period can slip in; after it, the
      // outcome is finished() once the score function has run.
      if (!sawDone) safely("beforeExit", () => endEarly(run, options));
      await finishing;
      await closer.close();
    },
    async exitedEarly(code) {
      await finishing;
      safely("exit", () => {
        if (!run.ended) run.failed(exitError(code));
      });
      await closer.close();
    },
  };
}

/** A graceful shutdown without `done`: an early stop is `aborted`, anything else `failed`. */
function endEarly(run: RunHandle, options: BeforeExitOptions): void {
  if (run.ended) return;
  const at = time(options.testInfo?.endTime) ?? Date.now();
  if (options.earlyStop) run.aborted(stopReason(options.exitCode), { at });
  else run.failed(exitError(options.exitCode), { at });
}

/** Closes the notifier (and the store) once, however many exits ask; `closed` once it is done. */
function closeOnce(
  notifier: Notifier,
  store: SqliteStore | undefined,
  timeoutMs: number,
): { close(): Promise<void>; readonly closed: boolean } {
  let closing: Promise<void> | undefined;
  let closed = false;
  return {
    close: () =>
      (closing ??= notifier
        .close({ timeoutMs })
        .then((result) => {
          if (!result.drained) log(`gave up on ${result.pending} deliveries after ${timeoutMs} ms`);
        })
        .catch((error: unknown) => log("closing the notifier failed", error))
        .finally(() => {
          closed = true;
          safely("closing the SQLite store", () => store?.close());
        })),
    get closed() {
      return closed;
    },
  };
}

function openNotifier(settings: Settings): { notifier: Notifier; store: SqliteStore | undefined } {
  const options: NotifierOptions = {
    network: settings.network,
    logger: { warn: (message) => log(message), error: (message) => log(message) },
  };
  let store: SqliteStore | undefined;
  if (settings.sqlite !== undefined) {
    try {
      store = sqliteStore({ file: settings.sqlite });
      options.store = store;
      options.backend = sqliteBackend({ file: settings.sqlite });
    } catch (error) {
      store?.close();
      throw new PluginOptionError(`${ROOT}.sqlite`, message(error), { cause: error });
    }
  }
  // Definitions are declared, not inline: their ids then derive from them alone, so that the next run
  // on the same SQLite file resumes the deliveries a killed Artillery left to them.
  const definitions = settings.webhooks.flatMap((entry, i) =>
    typeof entry === "string" ? [] : [{ entry, i }],
  );
  options.webhooks = definitions.map(({ entry }) => entry);
  let notifier: Notifier;
  try {
    notifier = createNotifier(options);
  } catch (error) {
    store?.close();
    // A network option runhooks refused ("network.allow: …") is the plugin's network option.
    if (isConfigError(error) && error.message.startsWith("network")) {
      const [option = "network", ...problem] = error.message.split(": ");
      throw new PluginOptionError(`${ROOT}.${option}`, problem.join(": "), { cause: error });
    }
    if (!isValidationError(error)) throw error;
    const first = error.issues[0];
    // options.webhooks[k]… is the k-th definition: the script's webhooks[i]…
    const path = (first?.path ?? "").replace(
      /^options\.webhooks\[(\d+)\]/,
      (_whole, k: string) => `${ROOT}.webhooks[${definitions[Number(k)]?.i ?? k}]`,
    );
    throw new PluginOptionError(path || ROOT, first?.message ?? error.message, { cause: error });
  }
  notifier.on("delivery", reportFailure);
  return { notifier, store };
}

/** A delivery that will not be tried again and did not arrive: the one thing worth a line in the output. */
function reportFailure(report: DeliveryReport): void {
  // A superseded in_progress is by design: the run ended before it went out, and its end does.
  if (!report.final || report.ok || report.reason === "superseded") return;
  const detail = report.error ? ` (${report.error.code ?? report.error.name}: ${report.error.message})` : "";
  log(
    `"${report.event}" to ${report.webhookName} (${report.target}) was not delivered: ${report.reason ?? report.outcome}${detail}`,
  );
}

function openRun(notifier: Notifier, settings: Settings, load: LoadProfile | undefined): RunHandle {
  try {
    const ids = settings.webhooks.filter((entry) => typeof entry === "string");
    return notifier.run({ ...settings.run, load, ...(ids.length > 0 && { webhooks: ids }) });
  } catch (error) {
    if (!isValidationError(error)) throw error;
    const first = error.issues[0];
    const option = first ? optionOf(first.path) : ROOT;
    throw new PluginOptionError(option, first?.message ?? error.message, { cause: error });
  }
}

// The run info's fields named otherwise as options (the others share their names).
const FIELD_OPTIONS: Record<string, string> = { id: "runId" };

/** The option behind a run-info field runhooks rejected: `info.webhooks.0.url` → `…webhooks[0].url`. */
export function optionOf(path: string): string {
  const [, field = "", ...rest] = path.split(".");
  if (field === "load") return "config.phases";
  const tail = rest.map((part) => (/^\d+$/.test(part) ? `[${part}]` : `.${part}`)).join("");
  return `${ROOT}.${FIELD_OPTIONS[field] ?? field}${tail}`;
}

/** When the run ended: Artillery's last metric, or the last phase's end if that is later. */
function endTime(report: ArtilleryMetrics, lastPhaseEnd: number | undefined): number {
  const times = [time(report.lastMetricAt), lastPhaseEnd].filter((t) => t !== undefined);
  return times.length > 0 ? Math.max(...times) : Date.now();
}

function time(value: unknown): number | undefined {
  return typeof value === "number" && Number.isFinite(value) && value > 0 ? value : undefined;
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
