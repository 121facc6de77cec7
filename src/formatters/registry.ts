import { ConfigError } from "../errors.js";
import { defineFormatter, type FormatterDefinition } from "./define.js";
import { discordFormatter } from "./discord.js";
import { jsonFormatter } from "./json.js";
import { slackFormatter } from "./slack.js";
import { teamsFormatter } from "./teams.js";
import type { Formatter } from "./types.js";

/** @internal The formatters one notifier knows: the built-ins plus the user's. Never module-global. */
export type FormatterRegistry = ReadonlyMap<string, Formatter>;

/** The names of the built-in formats. */
export const BUILT_IN_FORMATS = ["json", "slack", "teams", "discord"] as const;

/**
 * @internal Built-ins first, then the user's. A user formatter named like a built-in replaces it only
 * when it says so (`replace: true`); two user formatters with one name are an error.
 */
export function createRegistry(
  extra: ReadonlyArray<Formatter | FormatterDefinition> = [],
): FormatterRegistry {
  const registry = new Map<string, Formatter>(
    [jsonFormatter(), slackFormatter(), teamsFormatter(), discordFormatter()].map((f) => [f.name, f]),
  );
  const seen = new Set<string>();
  for (const [index, candidate] of extra.entries()) {
    let formatter: Formatter;
    try {
      formatter = defineFormatter(candidate);
    } catch (error) {
      throw new ConfigError(`formatters[${index}]: ${(error as Error).message}`, { cause: error });
    }
    if (seen.has(formatter.name)) {
      throw new ConfigError(
        `formatters[${index}]: two formatters are named "${formatter.name}"; names must be unique`,
      );
    }
    if (registry.has(formatter.name) && !formatter.replace) {
      throw new ConfigError(
        `formatters[${index}]: "${formatter.name}" is a built-in format; pass replace: true to replace it, or choose another name`,
      );
    }
    seen.add(formatter.name);
    registry.set(formatter.name, formatter);
  }
  return registry;
}
