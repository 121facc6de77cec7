import { defineFormatter } from "./define.js";
import { summarize, type MessageSummary, type Tone } from "./_summary.js";
import { escapeLineStarts, truncate } from "./_text.js";
import type { Formatter } from "./types.js";

/** Options of {@link teamsFormatter}. */
export interface TeamsFormatterOptions {
  /**
   * The format name webhooks use.
   * @default "teams"
   */
  name?: string | undefined;
  /**
   * Largest body sent, in bytes. Teams rejects messages over 28 KB.
   * @default 28000
   */
  maxBytes?: number | undefined;
}

/** Teams' message size limit as runhooks enforces it: bytes of the serialised body. */
export const TEAMS_MAX_BYTES = 28_000;

/** Adaptive Card colours are names, not hex. */
const COLOR: Record<Tone, "Good" | "Accent" | "Warning" | "Attention"> = {
  good: "Good",
  info: "Accent",
  warning: "Warning",
  bad: "Attention",
};

/** The Adaptive Card elements runhooks emits: text blocks and fact sets. */
export type TeamsCardElement =
  | {
      type: "TextBlock";
      text: string;
      wrap: true;
      size?: "Small" | "Default" | "Large";
      weight?: "Bolder";
      color?: string;
      isSubtle?: boolean;
      fontType?: "Monospace";
      spacing?: "Small" | "Medium";
    }
  | { type: "FactSet"; facts: Array<{ title: string; value: string }> };

/** The body runhooks sends to a Teams Workflows webhook: a message with one Adaptive Card 1.4. */
export interface TeamsMessage {
  type: "message";
  attachments: Array<{
    contentType: "application/vnd.microsoft.card.adaptive";
    contentUrl: null;
    content: {
      $schema: string;
      type: "AdaptiveCard";
      version: "1.4";
      msteams: { width: "Full" };
      body: TeamsCardElement[];
      actions?: Array<{ type: "Action.OpenUrl"; title: string; url: string }>;
    };
  }>;
}

/**
 * Escapes the markdown Adaptive Card text blocks understand, so a test name like `*prod*` or a leading
 * `- ` shows as typed.
 */
export function escapeTeams(text: string): string {
  return escapeLineStarts(text.replace(/[\\*_[\]~`]/g, (c) => `\\${c}`));
}

/** Per-field sizes at full scale; halved step by step until the card fits the byte limit. */
// Hosts render at most 5 actions (the Adaptive Cards default host config; the validator enforces it).
const SIZES = { title: 300, fact: 600, detail: 4000, footer: 600, links: 5, linkTitle: 100 };
const SCALES = [1, 0.5, 0.25, 0.1];

/**
 * The `teams` format for Teams Workflows ("When a Teams webhook request is received"): a message
 * envelope with one Adaptive Card 1.4 — the outcome as a coloured title, the numbers as a `FactSet`,
 * the reason or error, a footer, and `Action.OpenUrl` buttons for the run's links. The whole body stays
 * under 28,000 bytes: long texts are cut with `…` and the warning says so.
 */
export function teamsFormatter(options: TeamsFormatterOptions = {}): Formatter {
  const maxBytes = options.maxBytes ?? TEAMS_MAX_BYTES;
  return defineFormatter({
    name: options.name ?? "teams",
    replace: (options.name ?? "teams") === "teams",
    limits: { maxBytes },
    format: (event, context) => {
      const summary = summarize(event, context);
      for (const scale of SCALES) {
        const warnings: string[] = [];
        const body = buildCard(summary, scale, warnings);
        if (Buffer.byteLength(JSON.stringify(body)) <= maxBytes) {
          if (scale < 1) warnings.push(`message shortened to fit the ${maxBytes}-byte Teams limit`);
          return { body, warnings };
        }
      }
      // Nothing but the title and footer: always small.
      return {
        body: buildCard({ ...summary, facts: [], detail: undefined, links: [] }, 0.1, []),
        warnings: [`message reduced to its title to fit the ${maxBytes}-byte Teams limit`],
      };
    },
  });
}

function buildCard(summary: MessageSummary, scale: number, warnings: string[]): TeamsMessage {
  const size = (n: number): number => Math.max(20, Math.floor(n * scale));
  const cut = (text: string, max: number, what: string): string => {
    if (text.length <= max) return text;
    warnings.push(`${what} truncated to ${max} characters`);
    return truncate(text, max);
  };
  const body: TeamsCardElement[] = [
    {
      type: "TextBlock",
      text: escapeTeams(cut(`${summary.emoji} ${summary.title}`, size(SIZES.title), "title")),
      size: "Large",
      weight: "Bolder",
      color: COLOR[summary.tone],
      wrap: true,
    },
  ];
  if (summary.facts.length > 0) {
    body.push({
      type: "FactSet",
      facts: summary.facts.map((fact) => ({
        title: escapeTeams(fact.label),
        value: escapeTeams(cut(fact.value, size(SIZES.fact), `fact "${fact.label}"`)),
      })),
    });
  }
  if (summary.detail) {
    body.push(
      { type: "TextBlock", text: `**${summary.detail.label}**`, wrap: true, spacing: "Medium" },
      {
        type: "TextBlock",
        text: escapeTeams(cut(summary.detail.text, size(SIZES.detail), summary.detail.label.toLowerCase())),
        wrap: true,
        fontType: "Monospace",
        spacing: "Small",
      },
    );
  }
  body.push({
    type: "TextBlock",
    text: escapeTeams(cut(summary.footer, size(SIZES.footer), "footer")),
    wrap: true,
    size: "Small",
    isSubtle: true,
    spacing: "Medium",
  });

  const links = summary.links.slice(0, Math.max(1, Math.floor(SIZES.links * scale)));
  if (links.length < summary.links.length) {
    warnings.push(
      `${summary.links.length - links.length} links left out (a card shows at most ${SIZES.links} buttons)`,
    );
  }
  const content: TeamsMessage["attachments"][number]["content"] = {
    $schema: "http://adaptivecards.io/schemas/adaptive-card.json",
    type: "AdaptiveCard",
    version: "1.4",
    msteams: { width: "Full" },
    body,
  };
  if (links.length > 0) {
    content.actions = links.map((link) => ({
      type: "Action.OpenUrl",
      title: cut(link.title, SIZES.linkTitle, "link title"),
      url: link.url,
    }));
  }
  return {
    type: "message",
    attachments: [{ contentType: "application/vnd.microsoft.card.adaptive", contentUrl: null, content }],
  };
}

/** @internal For tests: the card of a message. */
export function cardOf(message: TeamsMessage): TeamsMessage["attachments"][number]["content"] {
  const attachment = message.attachments[0];
  if (!attachment) throw new Error("no attachment");
  return attachment.content;
}
