/**
 * Writes docs/formats.md: what each event looks like in each built-in format, rendered from the
 * sample events by the real formatters. `npm run docs:formats` rewrites it; a test fails when it is stale.
 */
import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { EVENT_NAMES, type RunEvent } from "../src/events.js";
import { createNotifier } from "../src/notifier.js";
import type { DiscordMessage } from "../src/formatters/discord.js";
import type { SlackMessage } from "../src/formatters/slack.js";
import type { TeamsMessage } from "../src/formatters/teams.js";
import { sampleEventVariants, sampleEvents, type SampleEventVariants } from "../src/testing/fixtures.js";

/**
 * A Block Kit Builder link that opens with `message` loaded: the fragment is the URI-encoded JSON of
 * the message's `blocks` and `attachments` (kept, so the colour bar shows). Parentheses are encoded
 * too, so the URL cannot end a markdown link early.
 */
function blockKitBuilderUrl(message: SlackMessage): string {
  const payload = { blocks: message.blocks, attachments: message.attachments };
  const fragment = encodeURIComponent(JSON.stringify(payload)).replace(
    /[()]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
  return `https://app.slack.com/block-kit-builder#${fragment}`;
}

/** What every message says, whatever the format: the rules behind the numbers in the pictures below. */
const RULES = [
  "## What the messages say",
  "",
  "Every chat format (`slack`, `teams`, `discord`) says the same things, each in its own markup:",
  "",
  "- **`finished` shows its verdict.** It carries the run's benchmark verdict (`event.benchmark`, the one",
  "  `benchmark_passed` or `benchmark_failed` carried just before), so a channel that subscribes to `finished`",
  "  only still sees a failed benchmark: the title reads `finished — benchmark failed` (📉, red) or",
  "  `finished — benchmark passed` (✅, green), and the score is shown against its threshold:",
  "  `62.4 < threshold 80`, `91.5 ≥ threshold 80` (the same on the benchmark events).",
  "- **The error share** is the requests that failed on the server's side — 5xx responses plus requests that",
  "  got no response at all (`stats.errors`) — as a share of the requests completed (`stats.requests`):",
  "  `14.2 % errors (503 × 1,680, ETIMEDOUT × 24)`, the three most frequent kinds in brackets. 4xx are left out:",
  "  they answer what the test asked (a negative test expects its 404s), and stay in **Status codes**.",
  "  - Every message with statistics lists it as the **Error rate** fact as soon as one request failed",
  "    that way; the **No response** fact counts the requests without a response on their own.",
  "  - The headline (Slack's `text`, Discord's `content`, what notifications show) gives it when the",
  "    benchmark failed — always, `no errors` included, so the reader sees whether errors were the cause —",
  "    and otherwise when it is **notable: 1 % of the requests or more**.",
  "  - A `finished` without a benchmark whose error share is notable reads `finished with errors` (⚠️, amber).",
  "    With a benchmark, the verdict decides the colour; a notable share is still in the headline.",
  "  - With no requests completed there is no share to give.",
  "- **Latency** is one fact: p50 (`p50`, else `median`), p95, p99, p99.9 and the maximum, as far as the runner",
  "  gave them; p90 stands in for a missing p95, the mean for a missing p50. The other keys (`min`, `p75`,",
  "  `count`, …) are in the JSON only: chat messages stay short.",
  "- **Load phases** (`run.load.phases`) are one fact on `started`: `warm up 1 min @ 5/s; ramp 2 min 5 → 50/s;",
  "  …`, at most five, then `+ N more`. The planned duration is the profile's `duration`, else the phases' sum",
  "  when each gives one.",
  "- **JSON** sends the event as it is: `finished`'s `benchmark`, every latency key and the load phases are",
  "  in `data`, in the order of the event's schema.",
  "",
];

/** One event's section: the Slack text, the Teams facts and picture (when drawn), and every payload. */
function section(
  notifier: ReturnType<typeof createNotifier>,
  heading: string,
  event: RunEvent,
  picture: string | undefined,
): string[] {
  const slack = JSON.parse(notifier.preview(event, "slack").body) as SlackMessage;
  const teams = JSON.parse(notifier.preview(event, "teams").body) as TeamsMessage;
  const discord = JSON.parse(notifier.preview(event, "discord").body) as DiscordMessage;
  const card = teams.attachments[0]?.content;
  const facts = card?.body.find((e) => e.type === "FactSet");
  const out = [heading, ""];
  out.push(`**Slack notification text:** ${slack.text}`, "");
  out.push(`[Open in Block Kit Builder](${blockKitBuilderUrl(slack)})`, "");
  out.push(`**Card title:** ${card?.body[0]?.type === "TextBlock" ? card.body[0].text : ""}`, "");
  if (facts?.type === "FactSet") {
    out.push("| fact | value |", "| --- | --- |");
    for (const fact of facts.facts) out.push(`| ${fact.title} | ${fact.value.replace(/\|/g, "\\|")} |`);
    out.push("");
  }
  if (picture !== undefined) out.push(picture, "");
  for (const [label, body] of [
    ["Slack", slack],
    ["Teams", teams],
    ["Discord", discord],
    ["JSON", JSON.parse(notifier.preview(event, "json").body) as unknown],
  ] as const) {
    out.push(
      `<details><summary>${label} payload</summary>`,
      "",
      "```json",
      JSON.stringify(body, null, 2),
      "```",
      "",
      "</details>",
      "",
    );
  }
  return out;
}

/** The sample variants the doc shows after the eight events, with their headings. */
/** The variants' sections: the sample, its heading, and the name of its Teams picture (render-teams-cards.ts). */
export const VARIANTS: ReadonlyArray<[keyof SampleEventVariants, string, string]> = [
  ["finishedBenchmarkFailed", "## `finished`, benchmark failed", "finished-benchmark-failed"],
  ["finishedWithErrors", "## `finished` without a benchmark, 14.2 % errors", "finished-with-errors"],
  ["startedInPhases", "## `started`, in three load phases", "started-in-phases"],
];

export function formatsDoc(): string {
  const notifier = createNotifier();
  const events = sampleEvents();
  const variants = sampleEventVariants();
  const out: string[] = [
    "# Formats",
    "",
    "<!-- Generated by `npm run docs:formats` from the sample events in src/testing/fixtures.ts. Do not edit. -->",
    "",
    "Every event in every built-in format, rendered by the real formatters from the sample run",
    '`checkout flow` (environment `staging`, one "Report" link), then the same kinds in the states a message',
    "must tell apart at a glance: a `finished` whose benchmark failed, one with many errors and no benchmark,",
    "a `started` in phases. What each format sends:",
    "",
    "| format | body | limits enforced |",
    "| --- | --- | --- |",
    "| `slack` | Block Kit: a `header`, then an attachment with the outcome's colour bar holding `section` fields, the reason or error, links and a `context` line; plus a one-line `text` (mobile notifications show only `text`) | 50 blocks, header 150, section 3,000, 10 fields of 2,000, context 10 elements; `&` `<` `>` escaped everywhere |",
    '| `teams` | `{ type: "message", attachments: [Adaptive Card 1.4] }` for Teams Workflows: a coloured title, a `FactSet`, the reason or error, a footer, `Action.OpenUrl` buttons | 28,000 bytes for the whole body, 5 buttons, named colours |',
    "| `discord` | `content` (one line) plus an embed with colour, inline fields and footer; `allowed_mentions: { parse: [] }` | content 2,000, title 256, description 4,096, 25 fields (256/1,024), 6,000 across the embed |",
    "| `json` | Standard Webhooks envelope `{ type, timestamp, data }`, `data` being the event | — |",
    "",
    "Text that had to be cut ends with `…`, and `notifier.preview(event, format).warnings` says what was cut.",
    "Each event's **Open in Block Kit Builder** link opens its Slack message in [Block Kit Builder](https://app.slack.com/block-kit-builder).",
    "The Teams pictures are the cards as Microsoft's Adaptive Cards renderer draws them with a light,",
    "Teams-like host config; `node --import tsx scripts/render-teams-cards.ts` redraws them (the test does not check them).",
    "",
    ...RULES,
  ];
  for (const name of EVENT_NAMES) {
    const picture = `![Teams card for ${name}](images/teams-${name}.png)`;
    out.push(...section(notifier, `## \`${name}\``, events[name], picture));
  }
  for (const [key, heading, picture] of VARIANTS) {
    const image = `![Teams card for ${heading.slice(3).replaceAll("`", "")}](images/teams-${picture}.png)`;
    out.push(...section(notifier, heading, variants[key], image));
  }
  void notifier.close();
  return out.join("\n");
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  writeFileSync(new URL("../docs/formats.md", import.meta.url), formatsDoc());
  console.log("wrote docs/formats.md");
}
