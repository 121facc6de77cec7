import type { KnownBlock, MessageAttachment } from "@slack/types";
import { describe, expect, expectTypeOf, it } from "vitest";
import {
  SLACK_LIMITS,
  escapeSlack,
  slackFormatter,
  type SlackBlock,
  type SlackMessage,
} from "../../src/formatters/slack.js";
import { fixtureEvents, sampleEvents } from "../../src/testing/fixtures.js";
import { testContext } from "../../src/testing/formatter-contract.js";

const slack = slackFormatter();
const format = (event: Parameters<typeof slack.format>[0]) => {
  const message = slack.format(event, testContext({ links: event.run.links ?? [] }));
  return { body: message.body as SlackMessage, warnings: message.warnings ?? [] };
};
const texts = (blocks: SlackBlock[]): string[] =>
  blocks.flatMap((b) =>
    b.type === "header"
      ? [b.text.text]
      : b.type === "context"
        ? b.elements.map((e) => e.text)
        : [...(b.text ? [b.text.text] : []), ...(b.fields ?? []).map((f) => f.text)],
  );

describe("slack format", () => {
  it("type-checks against @slack/types", () => {
    expectTypeOf<SlackBlock>().toExtend<KnownBlock>();
    expectTypeOf<SlackMessage["attachments"][number]>().toExtend<MessageAttachment>();
  });

  it("shows a header, the numbers as fields, a context line, a colour bar and a one-line text", () => {
    const { body } = format(sampleEvents().finished);
    expect(body.text).toBe(
      "✅ checkout flow (staging) finished: 12,000 requests, p95 212 ms, 160 × 5xx, score 91.5",
    );
    expect(body.blocks).toEqual([
      { type: "header", text: { type: "plain_text", text: "✅ checkout flow finished", emoji: true } },
    ]);
    const attachment = body.attachments[0]!;
    expect(attachment.color).toBe("#2eb67d");
    const fields = attachment.blocks
      .flatMap((b) => (b.type === "section" ? (b.fields ?? []) : []))
      .map((f) => f.text);
    expect(fields).toContain("*Requests*\n12,000");
    expect(fields).toContain("*p95 latency*\n212 ms");
    expect(fields).toContain("*Score*\n91.5");
    expect(attachment.blocks.at(-1)).toEqual({
      type: "context",
      elements: [
        { type: "mrkdwn", text: "run run-42 · test test-7 · job job-3 · 2026-01-01 00:00 UTC · runhooks" },
      ],
    });
    expect(texts(attachment.blocks)).toContain("<https://predator.example/reports/run-42|Report>");
  });

  it("colours each outcome", () => {
    const events = sampleEvents();
    expect(format(events.benchmark_failed).body.attachments[0]?.color).toBe("#e01e5a");
    expect(format(events.aborted).body.attachments[0]?.color).toBe("#ecb22e");
    expect(format(events.started).body.attachments[0]?.color).toBe("#1d9bd1");
  });

  it("escapes &, < and > in every text, plain_text included, and nothing else", () => {
    expect(escapeSlack("a & <b> *c*")).toBe("a &amp; &lt;b&gt; *c*");
    for (const { event, label } of fixtureEvents().filter((f) => f.label.includes("markup"))) {
      const { body } = format(event);
      const all = [body.text, ...texts(body.blocks), ...texts(body.attachments[0]!.blocks)];
      for (const text of all) {
        expect(text, label).not.toContain("<!channel>");
        expect(text, label).not.toContain("<b>");
        // Every & starts an entity; every < starts one of our links.
        expect(text.replace(/&(amp|lt|gt);/g, ""), label).not.toContain("&");
        for (const match of text.matchAll(/</g))
          expect(text.slice(match.index, match.index + 9), label).toMatch(/^<https?:\/\//);
      }
    }
  });

  it("keeps every Block Kit limit on every fixture, and says when it cut", () => {
    for (const { event, label } of fixtureEvents()) {
      const { body, warnings } = format(event);
      const all = [...body.blocks, ...body.attachments.flatMap((a) => a.blocks)];
      expect(all.length, label).toBeLessThanOrEqual(SLACK_LIMITS.blocks);
      expect(body.text.length, label).toBeGreaterThan(0);
      expect(body.text.length, label).toBeLessThanOrEqual(SLACK_LIMITS.text);
      expect(body.text, label).not.toContain("\n");
      for (const block of all) {
        if (block.type === "header") {
          expect(block.text.text.length, label).toBeLessThanOrEqual(SLACK_LIMITS.headerText);
          expect(block.text.type).toBe("plain_text");
        }
        if (block.type === "section") {
          expect(block.text !== undefined || (block.fields?.length ?? 0) > 0, label).toBe(true);
          if (block.text) expect(block.text.text.length, label).toBeLessThanOrEqual(SLACK_LIMITS.sectionText);
          expect(block.fields?.length ?? 0, label).toBeLessThanOrEqual(SLACK_LIMITS.sectionFields);
          for (const field of block.fields ?? []) {
            expect(field.text.length, label).toBeLessThanOrEqual(SLACK_LIMITS.fieldText);
            expect(field.text.length, label).toBeGreaterThan(0);
          }
        }
        if (block.type === "context") {
          expect(block.elements.length, label).toBeLessThanOrEqual(SLACK_LIMITS.contextElements);
          for (const element of block.elements)
            expect(element.text.length, label).toBeLessThanOrEqual(SLACK_LIMITS.contextText);
        }
      }
      const cut = JSON.stringify(body).includes("…");
      if (label.includes("very long")) expect(cut, label).toBe(true);
      if (cut) expect(warnings.length, `${label}: a cut must be reported`).toBeGreaterThan(0);
    }
  });

  it("shows the failure message, and renders failed without an error", () => {
    const failed = format(sampleEvents().failed).body;
    expect(texts(failed.attachments[0]!.blocks)).toContain("*Error*\nrunner crashed: out of memory");
    const bare = fixtureEvents().find((f) => f.label === "failed / no error given")!;
    expect(texts(format(bare.event).body.attachments[0]!.blocks)).toContain(
      "*Error*\nNo error details were given",
    );
  });

  it("lists only the top status codes when there are many", () => {
    const huge = fixtureEvents().find((f) => f.label === "finished / huge code and error maps")!;
    const codes = texts(format(huge.event).body.attachments[0]!.blocks).find((t) =>
      t.startsWith("*Status codes*"),
    );
    expect(codes).toMatch(
      /^\*Status codes\*\n598 × 4,186, 595 × 4,165, 592 × 4,144, 589 × 4,123, 586 × 4,102, \+ 162 more/,
    );
  });
});
