// Status-code maps ({ "200": 1180, "503": 20 }) are everywhere in events, and V8 stores keys such as
// "503" as array elements: a plain copy (`{ ...codes }`, or `out[code] = n` into `{}`) gives a six-key
// map a backing store of ~770 slots (~6 KB), slow to walk, serialise and collect. These helpers build
// maps whose elements live in a compact dictionary instead (~0.6–1.4 KB), with the same keys, values
// and enumeration order.

/** @internal Adds a read-only, enumerable property: elements defined so go to the compact dictionary. */
export function defineFrozen(target: object, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true });
}

/** @internal An empty, writable counts map that stays compact however its number-like keys grow. */
export function emptyCounts(): Record<string, number> {
  const out: Record<string, number> = {};
  // An element with non-default attributes switches the map to dictionary elements; removing it keeps
  // them there.
  Object.defineProperty(out, "0", { value: 0, configurable: true });
  Reflect.deleteProperty(out, "0");
  return out;
}

/** @internal A frozen, compact copy of a counts map. */
export function frozenCounts(source: Readonly<Record<string, number>>): Readonly<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const key of Object.keys(source)) defineFrozen(out, key, source[key]);
  return Object.freeze(out);
}

/**
 * @internal The sum of a counts map's values, of the keys `keep` accepts when given (own keys only: an
 * error kind named "constructor" must not pick up Object.prototype's).
 */
export function sumCounts(
  counts: Readonly<Record<string, number>> | undefined,
  keep?: (key: string) => boolean,
): number {
  let total = 0;
  for (const key in counts)
    if (Object.hasOwn(counts, key) && (keep === undefined || keep(key))) total += counts[key] ?? 0;
  return total;
}
