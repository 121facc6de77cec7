import type { BenchmarkResult, FinishedEvent, RunEvent, RunLink, Stats } from "../events.js";
import { summarizeLoad } from "./_load.js";
import {
  NOTABLE_ERROR_SHARE,
  addStats,
  describeErrorShare,
  errorShare,
  keyNumbers,
  topCodes,
  type ErrorShare,
  type Fact,
} from "./_stats.js";
import { formatNumber, formatTime } from "./_text.js";
import type { FormatContext } from "./types.js";

/** How an event feels — good, info, warning or bad: it picks the colour in every chat format. */
export type Tone = "good" | "info" | "warning" | "bad";

/**
 * @internal What every chat format shows for an event, in plain (unescaped) text. Each format renders
 * this in its own markup, so the messages say the same thing everywhere.
 */
export interface MessageSummary {
  tone: Tone;
  emoji: string;
  /** `checkout flow finished`: the run's name and what happened. */
  title: string;
  /** One line for notifications and text fallbacks, with the key numbers. */
  headline: string;
  facts: Fact[];
  /** Longer text: the abort reason or the failure message. */
  detail?: { label: string; text: string } | undefined;
  links: readonly RunLink[];
  /** Run and test ids, time and product. */
  footer: string;
}

interface Look {
  tone: Tone;
  emoji: string;
  verb: string;
}

const LOOK: Record<RunEvent["event"], Look> = {
  started: { tone: "info", emoji: "🚀", verb: "started" },
  in_progress: { tone: "info", emoji: "⏳", verb: "is in progress" },
  api_failure: { tone: "warning", emoji: "💥", verb: "is getting server errors" },
  aborted: { tone: "warning", emoji: "🛑", verb: "was aborted" },
  failed: { tone: "bad", emoji: "❌", verb: "failed to run" },
  finished: { tone: "good", emoji: "✅", verb: "finished" },
  benchmark_passed: { tone: "good", emoji: "🏆", verb: "passed its benchmark" },
  benchmark_failed: { tone: "bad", emoji: "📉", verb: "failed its benchmark" },
};

// `finished` looks like its verdict: a channel that subscribes to `finished` only must still see a
// failed benchmark, or a run that finished with many server errors, as what it is.
const FINISHED_LOOK = {
  benchmarkPassed: { tone: "good", emoji: "✅", verb: "finished — benchmark passed" },
  benchmarkFailed: { tone: "bad", emoji: "📉", verb: "finished — benchmark failed" },
  withErrors: { tone: "warning", emoji: "⚠️", verb: "finished with errors" },
} as const satisfies Record<string, Look>;

/** What one event adds to its message, besides the run's name, environment and footer. */
interface EventPart {
  look: Look;
  facts: Fact[];
  /** Key numbers for the headline, after the verb. */
  bits: string[];
  detail?: MessageSummary["detail"];
}

/** @internal */
export function summarize(event: RunEvent, context: FormatContext): MessageSummary {
  const run = event.run;
  const part = eventPart(event, context.locale);
  const facts: Fact[] = run.environment ? [{ label: "Environment", value: run.environment }] : [];
  facts.push(...part.facts.filter((fact) => fact.value !== ""));
  const { look, bits } = part;
  const where = run.environment ? ` (${run.environment})` : "";
  const footerBits = [`run ${run.id}`, `test ${run.testId}`];
  if (run.jobId) footerBits.push(`job ${run.jobId}`);
  footerBits.push(formatTime(event.at, context.timeZone), context.productName);
  return {
    tone: look.tone,
    emoji: look.emoji,
    title: `${run.name} ${look.verb}`,
    headline: `${look.emoji} ${run.name}${where} ${look.verb}${bits.length > 0 ? `: ${bits.join(", ")}` : ""}`,
    facts,
    detail: part.detail,
    links: context.links,
    footer: footerBits.join(" · "),
  };
}

function eventPart(event: RunEvent, locale: string): EventPart {
  const look = LOOK[event.event];
  const n = (value: number, digits = 0): string => formatNumber(value, locale, digits);
  switch (event.event) {
    case "started": {
      const load = event.run.load && summarizeLoad(event.run.load, locale);
      return { look, facts: load?.facts ?? [], bits: load?.headline ? [load.headline] : [] };
    }
    case "api_failure": {
      const facts: Fact[] = [
        { label: "5xx since last report", value: n(event.failures.count) },
        { label: "5xx codes", value: topCodes(event.failures.codes, locale) },
        { label: "5xx in total", value: n(event.failures.total) },
      ];
      addStats(event.stats, facts, locale, { codes: false });
      const bits = [`${n(event.failures.count)} × 5xx (${topCodes(event.failures.codes, locale, 3)})`];
      return { look, facts, bits };
    }
    case "aborted":
    case "failed":
      return endedPart(event, look, locale);
    case "benchmark_passed":
    case "benchmark_failed": {
      const verdict = verdictOf(event.benchmark, event.stats, locale);
      const facts = [verdict.score, lastScores(event.benchmark, locale)];
      addStats(event.stats, facts, locale, { codes: true });
      const bits = [verdict.headline];
      if (verdict.errors) bits.push(describeErrorShare(verdict.errors, locale));
      return { look, facts, bits };
    }
    case "in_progress": {
      const facts: Fact[] = [];
      addStats(event.stats, facts, locale, { codes: true });
      return { look, facts, bits: keyNumbers(event.stats, locale) };
    }
    case "finished":
      return finishedPart(event, locale);
  }
}

/** `aborted` and `failed`: the reason or error is the point; statistics when the run had some. */
function endedPart(
  event: Extract<RunEvent, { event: "aborted" | "failed" }>,
  look: Look,
  locale: string,
): EventPart {
  const facts: Fact[] = [];
  let detail: MessageSummary["detail"];
  if (event.event === "aborted") {
    detail = event.reason ? { label: "Reason", text: event.reason } : undefined;
  } else {
    const error = event.error;
    const text = error
      ? error.name && error.name !== "Error"
        ? `${error.name}: ${error.message}`
        : error.message
      : "";
    detail = { label: "Error", text: text || "No error details were given" };
    if (error?.code) facts.push({ label: "Error code", value: error.code });
  }
  if (event.stats) addStats(event.stats, facts, locale, { codes: true });
  return { look, facts, bits: detail ? [detail.text.split("\n")[0] ?? ""] : [], detail };
}

/**
 * `finished`: a benchmark verdict decides the look, and its score comes first; without one, a notable
 * error share turns the message amber. The error share is in the headline when the benchmark failed or
 * when it is notable (see {@link NOTABLE_ERROR_SHARE}).
 */
function finishedPart(event: FinishedEvent, locale: string): EventPart {
  const { benchmark, stats } = event;
  const facts: Fact[] = [];
  const bits: string[] = [];
  let look: Look = LOOK.finished;
  let errors: ErrorShare | undefined;
  if (benchmark) {
    const verdict = verdictOf(benchmark, stats, locale);
    look = benchmark.passed ? FINISHED_LOOK.benchmarkPassed : FINISHED_LOOK.benchmarkFailed;
    facts.push(verdict.score);
    bits.push(verdict.headline);
    errors = verdict.errors;
  } else {
    if (event.score !== undefined)
      facts.push({ label: "Score", value: formatNumber(event.score, locale, 1) });
    errors = notableErrors(stats);
    if (errors) look = FINISHED_LOOK.withErrors;
  }
  addStats(stats, facts, locale, { codes: true });
  bits.push(...keyNumbers(stats, locale, errors));
  if (!benchmark && event.score !== undefined) bits.push(`score ${formatNumber(event.score, locale, 1)}`);
  return { look, facts, bits };
}

/**
 * A verdict's words: the `Score` fact (`62.4 < threshold 80`), the headline's `score 62.4 < threshold
 * 80`, and the error share when the headline should give it: always when the benchmark failed (it tells
 * whether errors were the cause), else when notable.
 */
function verdictOf(
  benchmark: BenchmarkResult,
  stats: Stats,
  locale: string,
): { score: Fact; headline: string; errors?: ErrorShare | undefined } {
  const { score, threshold } = benchmark;
  // The sign says what the numbers are; `passed` (the tracker's verdict) picks the look.
  const sign = score >= threshold ? "≥" : "<";
  const digits = distinctDigits(score, threshold, locale);
  const text = `${formatNumber(score, locale, digits)} ${sign} threshold ${formatNumber(threshold, locale, digits)}`;
  const errors = benchmark.passed ? notableErrors(stats) : errorShare(stats);
  return { score: { label: "Score", value: text }, headline: `score ${text}`, errors };
}

/** One decimal, or as many more (up to 4) as it takes for unequal numbers not to print the same. */
function distinctDigits(a: number, b: number, locale: string): number {
  let digits = 1;
  while (digits < 4 && a !== b && formatNumber(a, locale, digits) === formatNumber(b, locale, digits))
    digits += 1;
  return digits;
}

function lastScores(benchmark: BenchmarkResult, locale: string): Fact {
  const scores = benchmark.lastScores.map((s) => formatNumber(s, locale, 1));
  return { label: "Last scores", value: scores.length > 0 ? scores.join(", ") : "none yet" };
}

function notableErrors(stats: Stats): ErrorShare | undefined {
  const errors = errorShare(stats);
  return errors !== undefined && errors.share >= NOTABLE_ERROR_SHARE ? errors : undefined;
}
