/** @internal Freezes a plain data structure and everything in it (already frozen parts are skipped). */
export function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const key in value) {
      const field: unknown = value[key];
      // Only objects need a call: most fields are numbers and strings.
      if (typeof field === "object" && field !== null) deepFreeze(field);
    }
  }
  return value;
}

/** @internal Whether a value and everything in it is frozen: then it can never change. */
export function isDeepFrozen(value: unknown): boolean {
  if (typeof value !== "object" || value === null) return true;
  if (!Object.isFrozen(value)) return false;
  for (const key of Object.keys(value)) {
    if (!isDeepFrozen((value as Record<string, unknown>)[key])) return false;
  }
  return true;
}
