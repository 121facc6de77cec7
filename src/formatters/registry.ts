import { ConfigError } from "../errors.js";
import { jsonFormatter } from "./json.js";
import type { Formatter } from "./types.js";

/** @internal The formatters one notifier knows: the built-ins plus the user's. Never module-global. */
export type FormatterRegistry = ReadonlyMap<string, Formatter>;

/** @internal */
export function createRegistry(extra: readonly Formatter[] = []): FormatterRegistry {
  const registry = new Map<string, Formatter>([["json", jsonFormatter()]]);
  const builtIn = new Set(registry.keys());
  for (const formatter of extra) {
    if (
      typeof formatter.name !== "string" ||
      formatter.name === "" ||
      typeof formatter.format !== "function"
    ) {
      throw new ConfigError("formatters: each formatter needs a non-empty name and a format function");
    }
    if (registry.has(formatter.name) && !builtIn.has(formatter.name)) {
      throw new ConfigError(`formatters: two formatters are named "${formatter.name}"; names must be unique`);
    }
    if (builtIn.has(formatter.name)) {
      throw new ConfigError(
        `formatters: "${formatter.name}" is a built-in format; give your formatter another name`,
      );
    }
    registry.set(formatter.name, formatter);
  }
  return registry;
}
