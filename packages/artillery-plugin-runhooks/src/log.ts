/**
 * @internal Where the plugin says what went wrong: stderr, each line prefixed `runhooks:` so that it
 * stands out in Artillery's output. Never a secret: runhooks masks webhook URLs in every message.
 */
export function log(message: string, error?: unknown): void {
  const detail = error === undefined ? "" : `: ${describe(error)}`;
  console.error(`runhooks: ${message}${detail}`);
}

/** Runs `work`, logging instead of throwing: a listener must never reach Artillery's emitter. */
export function safely(what: string, work: () => void): void {
  try {
    work();
  } catch (error) {
    log(`${what} failed`, error);
  }
}

function describe(error: unknown): string {
  if (error instanceof Error) return error.message;
  return typeof error === "string" ? error : String(error);
}
