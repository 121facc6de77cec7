import type { KnownBlock, MessageAttachment } from "@slack/types";
import { describe, expect, expectTypeOf, it } from "vitest";
import {
  SLACK_LIMITS,
  escapeSlack,
  slackFormatter,
  type SlackBlock,
  type SlackMessage,
} from "../../src/formatters/slack.js";
import { fixtureEvents, sampleEventVariants, sampleEvents } from "../../src/testing/fixtures.js";
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
      "✅ checkout flow (staging) finished — benchmark passed: score 91.5 ≥ threshold 80, 1.4 % errors (503 × 160, ETIMEDOUT × 12), 12,000 requests, p95 212 ms",
    );
    expect(body.blocks).toEqual([
      {
        type: "header",
        text: { type: "plain_text", text: "✅ checkout flow finished — benchmark passed", emoji: true },
      },
    ]);
    const attachment = body.attachments[0]!;
    expect(attachment.color).toBe("#2eb67d");
    const fields = attachment.blocks
      .flatMap((b) => (b.type === "section" ? (b.fields ?? []) : []))
      .map((f) => f.text);
    expect(fields).toContain("*Requests*\n12,000");
    expect(fields).toContain("*Latency*\np50 48 ms, p95 212 ms, p99 480 ms, max 1.9 s");
    expect(fields).toContain("*Score*\n91.5 ≥ threshold 80");
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
    const variants = sampleEventVariants();
    expect(format(events.finished).body.attachments[0]?.color).toBe("#2eb67d");
    expect(format(variants.finishedBenchmarkFailed).body.attachments[0]?.color).toBe("#e01e5a");
    expect(format(variants.finishedWithErrors).body.attachments[0]?.color).toBe("#ecb22e");
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

  // regression: issue 22 (a finished whose benchmark failed showed a green ✅ and the score alone)
  it("shows a failed benchmark on finished: the verdict, the score against the threshold, the error share", () => {
    const { body } = format(sampleEventVariants().finishedBenchmarkFailed);
    // Slack decodes &lt; back to "<": only &, < and > are escaped.
    expect(body.text).toBe(
      "📉 checkout flow (staging) finished — benchmark failed: score 62.4 &lt; threshold 80, 14.2 % errors (503 × 1,680, ETIMEDOUT × 24), 12,000 requests, p95 1.2 s",
    );
    expect(body.blocks[0]?.type === "header" && body.blocks[0].text.text).toBe(
      "📉 checkout flow finished — benchmark failed",
    );
    const fields = texts(body.attachments[0]!.blocks);
    expect(fields).toContain("*Score*\n62.4 &lt; threshold 80");
    expect(fields).toContain("*Error rate*\n14.2 % (503 × 1,680, ETIMEDOUT × 24)");
    expect(fields).toContain("*Latency*\np50 61 ms, p95 1.2 s, p99 3 s, p99.9 4.9 s, max 9.8 s");
  });

  it("shows the load phases of a started run", () => {
    const { body } = format(sampleEventVariants().startedInPhases);
    expect(body.text).toBe("🚀 checkout flow (staging) started: planned 8 min in 3 phases");
    expect(texts(body.attachments[0]!.blocks)).toContain(
      "*Phases*\nwarm up 1 min @ 5/s; ramp 2 min 5 → 50/s; plateau 5 min @ 50/s (max 500 VUs)",
    );
  });
});
