/**
 * Why an early stop happened, from the exit code Artillery's signal handlers pass (128 + the signal).
 * Artillery Cloud's stop button passes none.
 */
export function stopReason(exitCode: number | undefined): string {
  if (exitCode === 130) return "stopped by SIGINT (exit code 130)";
  if (exitCode === 143) return "stopped by SIGTERM (exit code 143)";
  return exitCode === undefined ? "stopped early" : `stopped early (exit code ${exitCode})`;
}

/** What a run that ended without Artillery's `done` report failed with. */
export function exitError(exitCode: number | string | null | undefined): Error & { code: string } {
  const code = exitCode ?? 0;
  // 11 is what Artillery's local platform exits with when a worker fails (a processor that does not load…).
  const why = Number(code) === 11 ? ": a worker failed (see Artillery's output above)" : "";
  const message = `Artillery exited with code ${code} before the run finished${why}`;
  return Object.assign(new Error(message), { name: "ArtilleryExit", code: `EXIT_${code}` });
}

/**
 * Holds back `process.exit()` until `before(code)` settles (at most `timeoutMs`), for the exits that
 * skip Artillery's graceful shutdown, and so its `beforeExit` hook: a worker that fails makes Artillery
 * call `process.exit(11)` at once. Then the run's `failed` can still be delivered. An exit after
 * `isSettled()` (the graceful shutdown's own, once deliveries are done) goes through at once; one while
 * an exit is held is dropped, so the first exit's code is the process's (Artillery may still reach its
 * graceful shutdown, and its `process.exit(0)`, while a failure's exit is held).
 */
export function holdExit(
  before: (code: number | string | null | undefined) => Promise<void>,
  isSettled: () => boolean,
  timeoutMs: number,
): void {
  const exit = process.exit.bind(process);
  let holding = false;
  const held = (code?: number | string | null): never => {
    // process.exit() never returns; this one does (later, the process ends). Artillery calls it last.
    if (holding) return undefined as never;
    if (isSettled()) return exit(code);
    holding = true;
    const release = (): void => {
      clearTimeout(timer);
      exit(code);
    };
    const timer = setTimeout(release, timeoutMs);
    before(code).then(release, release);
    return undefined as never;
  };
  process.exit = held;
}
