import type { RunEvent, RunLink, Stats } from "../events.js";
import { formatDuration, formatLatency, formatNumber, formatTime } from "./_text.js";
import type { FormatContext } from "./types.js";

/** How an event feels — good, info, warning or bad: it picks the colour in every chat format. */
export type Tone = "good" | "info" | "warning" | "bad";

/** @internal One labelled value of a message, e.g. `p95 latency: 212 ms`. */
export interface Fact {
  label: string;
  value: string;
}

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

const LOOK: Record<RunEvent["event"], { tone: Tone; emoji: string; verb: string }> = {
  started: { tone: "info", emoji: "🚀", verb: "started" },
  in_progress: { tone: "info", emoji: "⏳", verb: "is in progress" },
  api_failure: { tone: "warning", emoji: "💥", verb: "is getting server errors" },
  aborted: { tone: "warning", emoji: "🛑", verb: "was aborted" },
  failed: { tone: "bad", emoji: "❌", verb: "failed to run" },
  finished: { tone: "good", emoji: "✅", verb: "finished" },
  benchmark_passed: { tone: "good", emoji: "🏆", verb: "passed its benchmark" },
  benchmark_failed: { tone: "bad", emoji: "📉", verb: "failed its benchmark" },
};

/** How many status codes a message lists before it summarises the rest. */
const TOP_CODES = 5;

/** @internal */
export function summarize(event: RunEvent, context: FormatContext): MessageSummary {
  const look = LOOK[event.event];
  const { locale } = context;
  const run = event.run;
  const n = (value: number, digits = 0): string => formatNumber(value, locale, digits);
  const facts: Fact[] = [];
  const add = (label: string, value: string | undefined): void => {
    if (value !== undefined && value !== "") facts.push({ label, value });
  };
  add("Environment", run.environment);
  let detail: MessageSummary["detail"];
  const headlineBits: string[] = [];

  switch (event.event) {
    case "started": {
      const load = run.load;
      if (load) {
        add("Duration", load.duration === undefined ? undefined : formatDuration(load.duration * 1000));
        if (load.arrivalRate !== undefined) {
          const ramp = load.rampTo === undefined ? "" : ` → ${n(load.rampTo, 1)}/s`;
          add("Arrival rate", `${n(load.arrivalRate, 1)}/s${ramp}`);
        }
        add("Arrival count", load.arrivalCount === undefined ? undefined : n(load.arrivalCount));
        add("Runners", load.runners === undefined ? undefined : n(load.runners));
        add("Max virtual users", load.maxVirtualUsers === undefined ? undefined : n(load.maxVirtualUsers));
        if (load.duration !== undefined) headlineBits.push(`planned ${formatDuration(load.duration * 1000)}`);
      }
      break;
    }
    case "api_failure": {
      add("5xx since last report", n(event.failures.count));
      add("5xx codes", topCodes(event.failures.codes, locale));
      add("5xx in total", n(event.failures.total));
      addStats(event.stats, facts, locale, { codes: false });
      headlineBits.push(`${n(event.failures.count)} × 5xx (${topCodes(event.failures.codes, locale, 3)})`);
      break;
    }
    case "aborted":
    case "failed": {
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
        if (error?.code) add("Error code", error.code);
      }
      if (event.stats) addStats(event.stats, facts, locale, { codes: true });
      if (detail) headlineBits.push(detail.text.split("\n")[0] ?? "");
      break;
    }
    case "benchmark_passed":
    case "benchmark_failed": {
      const { score, threshold, lastScores } = event.benchmark;
      add("Score", `${n(score, 1)} (threshold ${n(threshold, 1)})`);
      add("Last scores", lastScores.length > 0 ? lastScores.map((s) => n(s, 1)).join(", ") : "none yet");
      addStats(event.stats, facts, locale, { codes: true });
      headlineBits.push(`score ${n(score, 1)} vs threshold ${n(threshold, 1)}`);
      break;
    }
    case "in_progress":
    case "finished": {
      if (event.event === "finished" && event.score !== undefined) add("Score", n(event.score, 1));
      addStats(event.stats, facts, locale, { codes: true });
      headlineBits.push(...keyNumbers(event.stats, locale));
      if (event.event === "finished" && event.score !== undefined)
        headlineBits.push(`score ${n(event.score, 1)}`);
      break;
    }
  }

  const title = `${run.name} ${look.verb}`;
  const where = run.environment ? ` (${run.environment})` : "";
  const headline = `${look.emoji} ${run.name}${where} ${look.verb}${headlineBits.length > 0 ? `: ${headlineBits.join(", ")}` : ""}`;
  const footerBits = [`run ${run.id}`, `test ${run.testId}`];
  if (run.jobId) footerBits.push(`job ${run.jobId}`);
  footerBits.push(formatTime(event.at, context.timeZone), context.productName);
  return {
    tone: look.tone,
    emoji: look.emoji,
    title,
    headline,
    facts,
    detail,
    links: context.links,
    footer: footerBits.join(" · "),
  };
}

function keyNumbers(stats: Stats, locale: string): string[] {
  const bits = [`${formatNumber(stats.requests, locale)} requests`];
  if (stats.latency?.p95 !== undefined) bits.push(`p95 ${formatLatency(stats.latency.p95, locale)}`);
  const fiveHundreds = sumWhere(stats.codes, (code) => code.startsWith("5"));
  if (fiveHundreds > 0) bits.push(`${formatNumber(fiveHundreds, locale)} × 5xx`);
  return bits;
}

function addStats(stats: Stats, facts: Fact[], locale: string, options: { codes: boolean }): void {
  const push = (label: string, value: string): void => {
    facts.push({ label, value });
  };
  if (stats.elapsedMs !== undefined) push("Elapsed", formatDuration(stats.elapsedMs));
  push("Requests", formatNumber(stats.requests, locale));
  if (stats.rps !== undefined) push("RPS", formatNumber(stats.rps, locale, 1));
  if (stats.latency?.p95 !== undefined) push("p95 latency", formatLatency(stats.latency.p95, locale));
  if (stats.latency?.p99 !== undefined) push("p99 latency", formatLatency(stats.latency.p99, locale));
  const errors = sumWhere(stats.errors, () => true);
  if (errors > 0) push("Errors", `${formatNumber(errors, locale)} (${topCodes(stats.errors, locale, 3)})`);
  // api_failure lists its 5xx codes itself; repeating all codes there would bury them.
  if (options.codes && Object.keys(stats.codes).length > 0)
    push("Status codes", topCodes(stats.codes, locale));
}

/** `503 × 160, 500 × 3` — the most frequent first, the rest summed as `+ N more`. */
export function topCodes(counts: Readonly<Record<string, number>>, locale: string, top = TOP_CODES): string {
  const entries = Object.entries(counts)
    .filter(([, count]) => count > 0)
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  const shown = entries.slice(0, top).map(([code, count]) => `${code} × ${formatNumber(count, locale)}`);
  const rest = entries.slice(top);
  if (rest.length > 0) {
    const others = rest.reduce((sum, [, count]) => sum + count, 0);
    shown.push(`+ ${rest.length} more (${formatNumber(others, locale)})`);
  }
  return shown.length > 0 ? shown.join(", ") : "none";
}

function sumWhere(counts: Readonly<Record<string, number>>, keep: (key: string) => boolean): number {
  let total = 0;
  for (const key in counts) if (keep(key)) total += counts[key] ?? 0;
  return total;
}
