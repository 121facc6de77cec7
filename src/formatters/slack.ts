import type { RunEvent } from "../events.js";
import { defineFormatter } from "./define.js";
import { summarize, type Tone } from "./_summary.js";
import { truncate } from "./_text.js";
import type { FormatContext, Formatter } from "./types.js";

/** Options of {@link slackFormatter}. */
export interface SlackFormatterOptions {
  /**
   * The format name webhooks use.
   * @default "slack"
   */
  name?: string | undefined;
  /** Colour of the bar beside the message, per tone (hex). */
  colors?: Partial<Record<Tone, string>> | undefined;
}

/** Block Kit limits (docs.slack.dev reference pages). */
export const SLACK_LIMITS = {
  blocks: 50,
  headerText: 150,
  sectionText: 3000,
  sectionFields: 10,
  fieldText: 2000,
  contextElements: 10,
  contextText: 3000,
  /** Keep the notification text short; Slack truncates above 40,000. */
  text: 3000,
} as const;

const COLORS: Record<Tone, string> = { good: "#2eb67d", info: "#1d9bd1", warning: "#ecb22e", bad: "#e01e5a" };

/** A Block Kit text object. */
export interface SlackTextObject {
  type: "plain_text" | "mrkdwn";
  text: string;
  emoji?: boolean;
}
/** The Block Kit blocks runhooks emits (a subset of `@slack/types` `KnownBlock`). */
export type SlackBlock =
  | { type: "header"; text: SlackTextObject & { type: "plain_text" } }
  | { type: "section"; text?: SlackTextObject; fields?: SlackTextObject[] }
  | { type: "context"; elements: SlackTextObject[] };
/** The body runhooks sends to a Slack incoming webhook. */
export interface SlackMessage {
  text: string;
  blocks: SlackBlock[];
  attachments: Array<{ color: string; fallback: string; blocks: SlackBlock[] }>;
}

/**
 * Escapes the three characters Slack treats as control characters. Nothing else: Slack decodes only
 * these entities, so escaping more would show up literally.
 */
export function escapeSlack(text: string): string {
  if (!/[&<>]/.test(text)) return text;
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/**
 * The `slack` format: Block Kit with a header, the key numbers as fields, the abort reason or error,
 * links and a context line, inside an attachment whose colour bar shows the outcome; plus a one-line
 * `text` (mobile notifications show only that). User text is escaped; every Block Kit limit is
 * enforced, with a visible `…` where text was cut.
 */
export function slackFormatter(options: SlackFormatterOptions = {}): Formatter {
  const colors = { ...COLORS, ...options.colors };
  return defineFormatter({
    name: options.name ?? "slack",
    // A re-configured built-in (same name) replaces the default one.
    replace: (options.name ?? "slack") === "slack",
    format: (event, context) => {
      const warnings: string[] = [];
      const body = buildSlack(event, context, colors, warnings);
      return { body, warnings };
    },
  });
}

function buildSlack(
  event: RunEvent,
  context: FormatContext,
  colors: Record<Tone, string>,
  warnings: string[],
): SlackMessage {
  const summary = summarize(event, context);
  // Escaping can lengthen a text; cut after escaping, and never inside an entity.
  const fit = (text: string, max: number, what: string): string => {
    const escaped = escapeSlack(text);
    if (escaped.length <= max) return escaped;
    warnings.push(`${what} truncated to ${max} characters`);
    return truncate(escaped, max).replace(/&[a-z]{0,3}…$/, "…");
  };

  const header: SlackBlock = {
    type: "header",
    text: {
      type: "plain_text",
      text: fit(`${summary.emoji} ${summary.title}`, SLACK_LIMITS.headerText, "header"),
      emoji: true,
    },
  };
  const inner: SlackBlock[] = [];
  const fields = summary.facts.map<SlackTextObject>((fact) => ({
    type: "mrkdwn",
    text: fit(`*${fact.label}*\n${fact.value}`, SLACK_LIMITS.fieldText, `field "${fact.label}"`),
  }));
  for (let i = 0; i < fields.length; i += SLACK_LIMITS.sectionFields) {
    inner.push({ type: "section", fields: fields.slice(i, i + SLACK_LIMITS.sectionFields) });
  }
  if (summary.detail) {
    const label = `*${summary.detail.label}*\n`;
    inner.push({
      type: "section",
      text: {
        type: "mrkdwn",
        text:
          label +
          fit(
            summary.detail.text,
            SLACK_LIMITS.sectionText - label.length,
            summary.detail.label.toLowerCase(),
          ),
      },
    });
  }
  if (summary.links.length > 0) {
    const links: string[] = [];
    let length = 0;
    for (const link of summary.links) {
      const title = link.title.replace(/\|/g, "/");
      if (title.length > 75) warnings.push("link title truncated to 75 characters");
      const label = escapeSlack(truncate(title, 75));
      // Percent-encode, and encode "|": Slack splits a link at the first one.
      const item = `<${escapeSlack(new URL(link.url).href.replace(/\|/g, "%7C"))}|${label}>`;
      if (length + item.length + 3 > SLACK_LIMITS.sectionText) {
        warnings.push(`${summary.links.length - links.length} links left out to fit Slack's section limit`);
        break;
      }
      links.push(item);
      length += item.length + 3;
    }
    if (links.length > 0) inner.push({ type: "section", text: { type: "mrkdwn", text: links.join(" · ") } });
  }
  inner.push({
    type: "context",
    elements: [{ type: "mrkdwn", text: fit(summary.footer, SLACK_LIMITS.contextText, "context") }],
  });

  const text = fit(summary.headline.replace(/\s*\n\s*/g, " "), SLACK_LIMITS.text, "text");
  return {
    text,
    blocks: [header],
    attachments: [
      { color: colors[summary.tone], fallback: text, blocks: inner.slice(0, SLACK_LIMITS.blocks - 1) },
    ],
  };
}
