/**
 * A custom format: Mattermost incoming webhooks (`{ text, attachments }` in Slack's legacy attachment
 * shape, Markdown text). Registered per notifier with `createNotifier({ formatters: [mattermost] })`,
 * then used by any webhook with `format: "mattermost"`.
 */
import { defineFormatter, type RunEvent } from "runhooks";

const COLOR: Record<RunEvent["event"], string> = {
  started: "#1d9bd1",
  in_progress: "#1d9bd1",
  api_failure: "#ecb22e",
  aborted: "#ecb22e",
  failed: "#e01e5a",
  finished: "#2eb67d",
  benchmark_passed: "#2eb67d",
  benchmark_failed: "#e01e5a",
};

/** Mattermost Markdown: escape what would format or mention. */
function escape(text: string): string {
  return text.replace(/[\\*_~`[\]()#>|@]/g, (c) => `\\${c}`);
}

/** The numbers worth a glance, when the event has statistics. */
function fields(event: RunEvent): Array<{ title: string; value: string; short: boolean }> {
  const out: Array<{ title: string; value: string; short: boolean }> = [];
  if (event.run.environment)
    out.push({ title: "Environment", value: escape(event.run.environment), short: true });
  if ("stats" in event && event.stats) {
    out.push({ title: "Requests", value: event.stats.requests.toLocaleString("en-US"), short: true });
    if (event.stats.latency?.p95 !== undefined)
      out.push({ title: "p95", value: `${event.stats.latency.p95} ms`, short: true });
  }
  if (event.event === "benchmark_passed" || event.event === "benchmark_failed") {
    out.push({
      title: "Score",
      value: `${event.benchmark.score} (threshold ${event.benchmark.threshold})`,
      short: true,
    });
  }
  if (event.event === "aborted" && event.reason)
    out.push({ title: "Reason", value: escape(event.reason.slice(0, 2000)), short: false });
  if (event.event === "failed")
    out.push({
      title: "Error",
      value: escape((event.error?.message ?? "no details").slice(0, 2000)),
      short: false,
    });
  return out;
}

/** The `mattermost` format. */
export const mattermost = defineFormatter({
  name: "mattermost",
  // Mattermost rejects posts over 16,383 characters; keep well below.
  limits: { maxBytes: 60_000 },
  format: (event, context) => {
    const title = `${escape(event.run.name.slice(0, 300))}: ${event.event.replace("_", " ")}`;
    return {
      body: {
        text: title,
        username: context.productName,
        attachments: [
          {
            fallback: title,
            color: COLOR[event.event],
            fields: fields(event),
            footer: `run ${escape(event.run.id)} · ${context.productName}`,
          },
        ],
      },
    };
  },
});
