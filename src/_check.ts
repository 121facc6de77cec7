/**
 * @internal `value` when it is a whole number of 1 or more (a count option: a cap, a threshold);
 * otherwise a `RangeError` that names the option.
 */
export function countOption(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1)
    throw new RangeError(`${name}: must be a whole number, 1 or more`);
  return value;
}
