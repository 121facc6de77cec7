import type { LoadPhase, LoadProfile } from "runhooks";
import type { ScriptPhase } from "./artillery.js";

// runhooks' limits: phases of a profile, characters of a phase name.
const MAX_PHASES = 50;
const MAX_NAME = 200;

// The units of the `ms` package, which Artillery parses durations like "5m" or "2 minutes" with.
const UNIT_SECONDS: Record<string, number> = {
  ms: 0.001,
  msec: 0.001,
  msecs: 0.001,
  millisecond: 0.001,
  milliseconds: 0.001,
  s: 1,
  sec: 1,
  secs: 1,
  second: 1,
  seconds: 1,
  m: 60,
  min: 60,
  mins: 60,
  minute: 60,
  minutes: 60,
  h: 3600,
  hr: 3600,
  hrs: 3600,
  hour: 3600,
  hours: 3600,
  d: 86400,
  day: 86400,
  days: 86400,
};

/**
 * The load profile of `config.phases`: each phase (a `pause` phase as a phase with only its name and
 * duration), the total planned duration and the peak arrival rate. A single phase's fields are also the
 * profile's own. Values Artillery would read (numbers, numeric strings, "5m") are read; others are left
 * out, never thrown on: the profile is information, the run is Artillery's business.
 */
export function toLoadProfile(phases: unknown): LoadProfile | undefined {
  if (!Array.isArray(phases) || phases.length === 0) return undefined;
  // A phase that is not an object (null in a broken script) is described as an empty one.
  const list = (phases as unknown[])
    .slice(0, MAX_PHASES)
    .map((phase) => toPhase((typeof phase === "object" && phase !== null ? phase : {}) as ScriptPhase));
  const [only] = list;
  if (list.length === 1 && only) return flat(only);
  const profile: LoadProfile = { phases: list };
  const durations = list.map((phase) => phase.duration);
  if (durations.every((d) => d !== undefined)) profile.duration = durations.reduce((a, b) => a + b, 0);
  const rates = list.flatMap((phase) => [phase.arrivalRate, phase.rampTo]).filter((r) => r !== undefined);
  if (rates.length > 0) profile.arrivalRate = Math.max(...rates);
  return profile;
}

/** A one-phase profile: the phase's fields, flat, and the phase itself so that its name shows. */
function flat(phase: LoadPhase): LoadProfile {
  const { name: _name, ...fields } = phase;
  return { ...fields, phases: [phase] };
}

function toPhase(spec: ScriptPhase): LoadPhase {
  const phase: LoadPhase = {};
  if (typeof spec.name === "string" && spec.name.trim() !== "")
    phase.name = spec.name.trim().slice(0, MAX_NAME);
  const duration = seconds(spec.pause ?? spec.duration);
  if (duration !== undefined) phase.duration = duration;
  if (spec.pause !== undefined) return phase;
  const arrivalRate = number(spec.arrivalRate);
  if (arrivalRate !== undefined) phase.arrivalRate = arrivalRate;
  const rampTo = number(spec.rampTo);
  if (rampTo !== undefined) phase.rampTo = rampTo;
  const arrivalCount = wholeNumber(spec.arrivalCount);
  if (arrivalCount !== undefined) phase.arrivalCount = arrivalCount;
  const maxVirtualUsers = wholeNumber(spec.maxVusers);
  if (maxVirtualUsers !== undefined) phase.maxVirtualUsers = maxVirtualUsers;
  return phase;
}

/** A duration in seconds: a number, a numeric string, or a string like "5m", "90s", "2 minutes". */
export function seconds(value: unknown): number | undefined {
  const plain = number(value);
  if (plain !== undefined) return plain;
  if (typeof value !== "string") return undefined;
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-z]+)\s*$/i.exec(value);
  const unit = match?.[2] ? UNIT_SECONDS[match[2].toLowerCase()] : undefined;
  return match?.[1] && unit !== undefined ? Number(match[1]) * unit : undefined;
}

/** A finite non-negative number, or a string that is one (Artillery casts `{{ $env.X }}` values so). */
function number(value: unknown): number | undefined {
  const n = typeof value === "string" && value.trim() !== "" ? Number(value) : value;
  return typeof n === "number" && Number.isFinite(n) && n >= 0 ? n : undefined;
}

function wholeNumber(value: unknown): number | undefined {
  const n = number(value);
  return n !== undefined && Number.isInteger(n) ? n : undefined;
}
