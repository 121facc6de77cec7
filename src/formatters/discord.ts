import { defineFormatter } from "./define.js";
import { summarize, type MessageSummary, type Tone } from "./_summary.js";
import { escapeLineStarts, truncate } from "./_text.js";
import type { Formatter } from "./types.js";

/** Options of {@link discordFormatter}. */
export interface DiscordFormatterOptions {
  /**
   * The format name webhooks use.
   * @default "discord"
   */
  name?: string | undefined;
  /** Overrides the webhook's configured bot name. */
  username?: string | undefined;
}

/** Discord's message and embed limits (discord-api-docs, resources/webhook and message). */
export const DISCORD_LIMITS = {
  content: 2000,
  title: 256,
  description: 4096,
  fields: 25,
  fieldName: 256,
  fieldValue: 1024,
  footer: 2048,
  /** Characters across title, description, field names and values, footer and author of all embeds. */
  embedTotal: 6000,
} as const;

const COLORS: Record<Tone, number> = { good: 0x2eb67d, info: 0x1d9bd1, warning: 0xecb22e, bad: 0xe01e5a };

/** The body runhooks sends to a Discord webhook. */
export interface DiscordMessage {
  content: string;
  username?: string;
  embeds: Array<{
    title: string;
    description?: string;
    color: number;
    fields: Array<{ name: string; value: string; inline: boolean }>;
    footer: { text: string };
    timestamp: string;
  }>;
  /** Nothing in a message may ping anyone, whatever the test name says. */
  allowed_mentions: { parse: [] };
}

/** Escapes Discord markdown so user text shows as typed. */
export function escapeDiscord(text: string): string {
  return escapeLineStarts(text.replace(/[\\*_~`|<[\]]/g, (c) => `\\${c}`));
}

/** A URL that survives markdown link syntax: percent-encoded, with no bare parentheses. */
function linkUrl(url: string): string {
  return new URL(url).href.replace(/\(/g, "%28").replace(/\)/g, "%29");
}

/**
 * The `discord` format: a one-line `content` plus an embed with the outcome's colour, the numbers as
 * inline fields, the reason or error, links and a footer. `allowed_mentions: { parse: [] }` keeps
 * `@everyone` in a test name from pinging anyone. Every Discord limit is enforced (2,000 content,
 * 6,000 across the embed, 25 fields), with `…` where text was cut.
 */
export function discordFormatter(options: DiscordFormatterOptions = {}): Formatter {
  return defineFormatter({
    name: options.name ?? "discord",
    replace: (options.name ?? "discord") === "discord",
    format: (event, context) => {
      const warnings: string[] = [];
      const body = buildDiscord(summarize(event, context), event.at, warnings);
      if (options.username !== undefined) body.username = truncate(options.username, 80);
      return { body, warnings };
    },
  });
}

function buildDiscord(summary: MessageSummary, at: string, warnings: string[]): DiscordMessage {
  const fit = (text: string, max: number, what: string): string => {
    const escaped = escapeDiscord(text);
    if (escaped.length <= max) return escaped;
    warnings.push(`${what} truncated to ${max} characters`);
    // Never leave a dangling backslash that would escape the ellipsis.
    return truncate(escaped, max).replace(/\\…$/, "…");
  };
  const title = fit(`${summary.emoji} ${summary.title}`, DISCORD_LIMITS.title, "title");
  const footer = fit(summary.footer, DISCORD_LIMITS.footer, "footer");
  let budget = DISCORD_LIMITS.embedTotal - title.length - footer.length;

  const fields: DiscordMessage["embeds"][number]["fields"] = [];
  if (summary.links.some((link) => link.title.length > 80))
    warnings.push("link titles truncated to 80 characters");
  const linkLines = summary.links.map(
    (link) => `[${escapeDiscord(truncate(link.title, 80))}](${linkUrl(link.url)})`,
  );
  const links = linkLines.join("\n");
  // Links only if they fit one field whole; a cut URL is worse than none.
  const wanted = [
    ...summary.facts.map((fact) => ({ name: fact.label, value: fact.value, inline: true, raw: false })),
    ...(links.length > 0 && links.length <= DISCORD_LIMITS.fieldValue
      ? [{ name: "Links", value: links, inline: false, raw: true }]
      : []),
  ];
  if (links.length > DISCORD_LIMITS.fieldValue)
    warnings.push("links left out: they do not fit one Discord field");

  let description: string | undefined;
  if (summary.detail) {
    // The reason or error goes first in the budget: it is the point of the message.
    const label = `**${summary.detail.label}**\n`;
    const max = Math.min(DISCORD_LIMITS.description, budget - 600) - label.length;
    description = `${label}${fit(summary.detail.text, Math.max(100, max), summary.detail.label.toLowerCase())}`;
    budget -= description.length;
  }
  for (const field of wanted) {
    if (fields.length >= DISCORD_LIMITS.fields) {
      warnings.push(
        `${wanted.length - fields.length} fields left out (Discord allows ${DISCORD_LIMITS.fields})`,
      );
      break;
    }
    const name = fit(field.name, DISCORD_LIMITS.fieldName, "field name");
    const value = field.raw
      ? field.value
      : fit(field.value, DISCORD_LIMITS.fieldValue, `field "${field.name}"`);
    if (name.length + value.length > budget) {
      warnings.push(
        `${wanted.length - fields.length} fields left out to stay within Discord's ${DISCORD_LIMITS.embedTotal}-character embed limit`,
      );
      break;
    }
    budget -= name.length + value.length;
    fields.push({ name, value, inline: field.inline });
  }

  const embed: DiscordMessage["embeds"][number] = {
    title,
    color: COLORS[summary.tone],
    fields,
    footer: { text: footer },
    timestamp: at,
  };
  if (description !== undefined) embed.description = description;
  return {
    content: fit(summary.headline.replace(/\s*\n\s*/g, " "), DISCORD_LIMITS.content, "content"),
    embeds: [embed],
    allowed_mentions: { parse: [] },
  };
}
