import { existsSync } from "node:fs";
import { PluginOptionError } from "./options.js";
import { pathToFileURL } from "node:url";
import { successScore, type StatsBatch } from "runhooks";
import type { ArtilleryMetrics } from "./artillery.js";
import { log } from "./log.js";

/**
 * A benchmark score function: the run's totals (the runhooks statistics of Artillery's `done` report)
 * and that report itself → a score, or `undefined` for none. A module named by the `score` option
 * exports it as its default export or as `score`.
 */
export type ScoreFunction = (stats: StatsBatch, report: ArtilleryMetrics) => number | undefined;

/** runhooks' `successScore`: the share of requests answered with anything but a 5xx, in percent. */
export const defaultScore: ScoreFunction = (stats) => successScore(stats);

/**
 * Starts loading the score module at `path` (absolute) and resolves with its function. The module is
 * checked to exist now, so that a wrong path stops the run before it starts; a module that then fails
 * to load, or exports no function, is logged at once and the run is not scored (it still finishes).
 */
export function loadScore(path: string, option: string): Promise<ScoreFunction | undefined> {
  if (!existsSync(path)) throw new PluginOptionError(option, `no such file: ${path}`);
  return import(pathToFileURL(path).href).then(
    (module: Record<string, unknown>) => {
      const score = typeof module["default"] === "function" ? module["default"] : module["score"];
      if (typeof score === "function") return score as ScoreFunction;
      log(
        `${option}: ${path} exports no function (as its default export or as "score"); runs are not scored`,
      );
      return undefined;
    },
    (error: unknown) => {
      log(`${option}: ${path} could not be loaded; runs are not scored`, error);
      return undefined;
    },
  );
}

/** The score of a finished run, or undefined (logged) when the function throws or returns no number. */
export function scoreOf(
  score: ScoreFunction | undefined,
  stats: StatsBatch,
  report: ArtilleryMetrics,
): number | undefined {
  if (!score) return undefined;
  try {
    const value = score(stats, report);
    if (value === undefined) return undefined;
    if (typeof value === "number" && Number.isFinite(value)) return value;
    log(
      `the score function returned ${typeof value === "number" ? String(value) : typeof value}, not a number`,
    );
  } catch (error) {
    log("the score function threw; the run is not scored", error);
  }
  return undefined;
}
