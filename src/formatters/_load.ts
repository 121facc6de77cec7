import type { LoadPhase, LoadProfile } from "../events.js";
import type { Fact } from "./_stats.js";
import { formatDuration, formatNumber } from "./_text.js";

/** How many phases a message lists before it summarises the rest: a profile may have 50. */
const TOP_PHASES = 5;

/** @internal What a `started` message says about the load profile. */
export interface LoadSummary {
  facts: Fact[];
  /** For the headline: `planned 8 min in 3 phases`. */
  headline?: string | undefined;
}

/**
 * @internal The load profile's facts: the flat fields as given, and the phases in one line. The planned
 * duration is the profile's own, else the phases' sum when every phase gives its duration.
 */
export function summarizeLoad(load: LoadProfile, locale: string): LoadSummary {
  const n = (value: number, digits = 0): string => formatNumber(value, locale, digits);
  const facts: Fact[] = [];
  const add = (label: string, value: string | undefined): void => {
    if (value !== undefined) facts.push({ label, value });
  };
  const phases = load.phases ?? [];
  const planned =
    load.duration ??
    (phases.length > 0 && phases.every((phase) => phase.duration !== undefined)
      ? phases.reduce((sum, phase) => sum + (phase.duration ?? 0), 0)
      : undefined);
  add("Duration", planned === undefined ? undefined : formatDuration(planned * 1000));
  if (load.arrivalRate !== undefined) {
    const ramp = load.rampTo === undefined ? "" : ` → ${n(load.rampTo, 1)}/s`;
    add("Arrival rate", `${n(load.arrivalRate, 1)}/s${ramp}`);
  }
  add("Arrival count", load.arrivalCount === undefined ? undefined : n(load.arrivalCount));
  if (phases.length > 0) {
    const shown = phases.slice(0, TOP_PHASES).map((phase, i) => describePhase(phase, i, locale));
    if (phases.length > TOP_PHASES) shown.push(`+ ${phases.length - TOP_PHASES} more`);
    add("Phases", shown.join("; "));
  }
  add("Runners", load.runners === undefined ? undefined : n(load.runners));
  add("Max virtual users", load.maxVirtualUsers === undefined ? undefined : n(load.maxVirtualUsers));

  const count = phases.length === 1 ? "1 phase" : `${n(phases.length)} phases`;
  const headline =
    planned !== undefined
      ? `planned ${formatDuration(planned * 1000)}${phases.length > 0 ? ` in ${count}` : ""}`
      : phases.length > 0
        ? count
        : undefined;
  return { facts, headline };
}

/** `warm up 1 min @ 5/s`, `ramp 2 min 5 → 50/s`, `peak 5 min @ 50/s (max 500 VUs)`. */
function describePhase(phase: LoadPhase, index: number, locale: string): string {
  const n = (value: number, digits = 0): string => formatNumber(value, locale, digits);
  let text = phase.name ?? `phase ${index + 1}`;
  if (phase.duration !== undefined) text += ` ${formatDuration(phase.duration * 1000)}`;
  if (phase.arrivalRate !== undefined) {
    text +=
      phase.rampTo === undefined
        ? ` @ ${n(phase.arrivalRate, 1)}/s`
        : ` ${n(phase.arrivalRate, 1)} → ${n(phase.rampTo, 1)}/s`;
  } else if (phase.rampTo !== undefined) {
    text += ` → ${n(phase.rampTo, 1)}/s`;
  }
  if (phase.arrivalCount !== undefined) text += `, ${n(phase.arrivalCount)} arrivals`;
  if (phase.maxVirtualUsers !== undefined) text += ` (max ${n(phase.maxVirtualUsers)} VUs)`;
  return text;
}
