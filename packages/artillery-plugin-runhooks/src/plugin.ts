import {
  artilleryGlobal,
  isWorker,
  type ArtilleryEvents,
  type ArtilleryMetrics,
  type ArtilleryScript,
  type PhaseEvent,
  type RunnerOptions,
} from "./artillery.js";
import { holdExit } from "./exit.js";
import { toLoadProfile } from "./load.js";
import { readOptions } from "./options.js";
import { createSession } from "./session.js";

/**
 * Artillery reads this export: `false` means the plugin gets Artillery 2's metrics (`counters`,
 * `summaries`, `rates`), not the legacy report.
 */
export const LEGACY_METRICS_FORMAT = false;

/**
 * The Artillery 2 plugin (`config.plugins.runhooks`). Artillery constructs it in its main process,
 * where it creates the notifier and the run and maps Artillery's events to them, and again in each
 * worker, where it does nothing.
 *
 * The constructor throws (and Artillery exits with code 1 before the test starts) when an option is
 * wrong, naming it. After that nothing it does throws: a failure is logged with a `runhooks:` prefix and
 * the load test goes on.
 *
 * @example
 * // config:
 * //   plugins:
 * //     runhooks:
 * //       webhooks:
 * //         - url: "{{ $env.SLACK_WEBHOOK_URL }}"
 */
export class Plugin {
  constructor(script: ArtilleryScript, events: ArtilleryEvents, runnerOptions: RunnerOptions = {}) {
    if (isWorker()) return;
    const artillery = artilleryGlobal();
    const settings = readOptions(script.config?.plugins?.["runhooks"], {
      configName: script.config?.name,
      nameTag: artillery?.testInfo?.tags?.find((tag) => tag.name === "name")?.value,
      testRunId: artillery?.testRunId,
      environment: runnerOptions.environment,
      scriptPath: runnerOptions.absoluteScriptPath,
      env: process.env,
    });
    const session = createSession(settings, toLoadProfile(script.config?.phases));
    events.on("phaseStarted", (phase: PhaseEvent) => session.phaseStarted(phase));
    events.on("phaseCompleted", (phase: PhaseEvent) => session.phaseCompleted(phase));
    events.on("stats", (metrics: ArtilleryMetrics) => session.stats(metrics));
    events.on("done", (report: ArtilleryMetrics) => session.done(report));
    // Outside Artillery (a test of the mapping) there is no shutdown to hook into, nor an exit to hold.
    if (!artillery?.ext) return;
    // Awaited by Artillery's graceful shutdown (after `done`, and on SIGINT/SIGTERM) before it exits.
    artillery.ext({ ext: "beforeExit", method: (options) => session.beforeExit(options) });
    holdExit(
      (code) => session.exitedEarly(code),
      () => session.closed,
      settings.closeTimeoutMs,
    );
  }

  /** Artillery's unload hook. Deliveries were awaited in `beforeExit` already. */
  cleanup(done: (error?: Error) => void): void {
    done();
  }
}
