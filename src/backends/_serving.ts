import { ConfigError } from "../errors.js";
import type { BackendHooks } from "./types.js";

/**
 * @internal A backend's error channel before and after the notifier hands it over: what is reported
 * before `start(hooks)` (a failed migration, a write of the first calls) is held, then passed on.
 */
export function heldReports(): {
  report: (error: Error) => void;
  /** The notifier's hooks, from `start()`: what was held goes out now. */
  attach: (hooks: BackendHooks) => void;
} {
  let hooks: BackendHooks | undefined;
  const early: Error[] = [];
  return {
    report: (error) => {
      if (hooks) hooks.error(error);
      else early.push(error);
    },
    attach: (given) => {
      hooks = given;
      for (const error of early.splice(0)) given.error(error);
    },
  };
}

/**
 * @internal Throws when a backend is asked for its run state or queue after `close()`, or a second
 * time: one backend serves one notifier. `factory` names it (`sqliteBackend()`), `shared` what several
 * may share (`the file`).
 */
export function checkServesOnce(
  name: string,
  factory: string,
  shared: string,
  closed: boolean,
  built: boolean,
): void {
  if (closed) throw new ConfigError(`${name}: the backend is closed; create a new one for a new notifier`);
  if (built)
    throw new ConfigError(
      `${name}: one ${factory} serves one notifier; create one per notifier (they may share ${shared})`,
    );
}
