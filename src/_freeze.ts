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
