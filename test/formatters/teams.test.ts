import { createRequire } from "node:module";
import { describe, expect, it } from "vitest";
import {
  TEAMS_MAX_BYTES,
  cardOf,
  escapeTeams,
  teamsFormatter,
  type TeamsMessage,
} from "../../src/formatters/teams.js";
import { fixtureEvents, sampleEventVariants, sampleEvents } from "../../src/testing/fixtures.js";
import { testContext } from "../../src/testing/formatter-contract.js";

// Microsoft's own Adaptive Cards library: its UMD build parses and validates cards headless.
interface AdaptiveCardsModule {
  Versions: { v1_4: unknown };
  ValidationEvent: Record<number, string>;
  SerializationContext: new (version: unknown) => {
    eventCount: number;
    getEventAt(i: number): { event: number; message: string };
  };
  AdaptiveCard: new () => {
    parse(json: unknown, context: unknown): void;
    validateProperties(): { validationEvents: Array<{ event: number; message: string }> };
  };
}
const AC = createRequire(import.meta.url)("adaptivecards/dist/adaptivecards.js") as AdaptiveCardsModule;

function validate(card: unknown): string[] {
  const context = new AC.SerializationContext(AC.Versions.v1_4);
  const parsed = new AC.AdaptiveCard();
  parsed.parse(card, context);
  const problems: string[] = [];
  for (let i = 0; i < context.eventCount; i++) {
    const e = context.getEventAt(i);
    problems.push(`${AC.ValidationEvent[e.event]}: ${e.message}`);
  }
  for (const e of parsed.validateProperties().validationEvents)
    problems.push(`${AC.ValidationEvent[e.event]}: ${e.message}`);
  return problems;
}

const teams = teamsFormatter();
const format = (event: Parameters<typeof teams.format>[0]) => {
  const message = teams.format(event, testContext({ links: event.run.links ?? [] }));
  return { body: message.body as TeamsMessage, warnings: message.warnings ?? [] };
};

describe("teams format", () => {
  it("sends the Workflows envelope with one Adaptive Card 1.4", () => {
    const { body } = format(sampleEvents().benchmark_passed);
    expect(body.type).toBe("message");
    expect(body.attachments).toHaveLength(1);
    expect(body.attachments[0]).toMatchObject({
      contentType: "application/vnd.microsoft.card.adaptive",
      contentUrl: null,
    });
    const card = cardOf(body);
    expect(card).toMatchObject({ type: "AdaptiveCard", version: "1.4" });
    expect(card.body[0]).toMatchObject({
      type: "TextBlock",
      text: "🏆 checkout flow passed its benchmark",
      color: "Good",
      weight: "Bolder",
    });
    const facts = card.body.find((e) => e.type === "FactSet");
    expect(facts?.type === "FactSet" && facts.facts).toEqual(
      expect.arrayContaining([
        { title: "Score", value: "91.5 ≥ threshold 80" },
        { title: "Last scores", value: "88.2, 90.1" },
        { title: "Latency", value: "p50 48 ms, p95 212 ms, p99 480 ms, max 1.9 s" },
      ]),
    );
    expect(card.actions).toEqual([
      { type: "Action.OpenUrl", title: "Report", url: "https://predator.example/reports/run-42" },
    ]);
  });

  // regression: issue 22 (a finished whose benchmark failed looked like a success)
  it("titles a finished run with its verdict, in the verdict's colour", () => {
    const variants = sampleEventVariants();
    const title = (event: Parameters<typeof format>[0]) => cardOf(format(event).body).body[0];
    expect(title(variants.finishedBenchmarkFailed)).toMatchObject({
      text: "📉 checkout flow finished — benchmark failed",
      color: "Attention",
    });
    expect(title(sampleEvents().finished)).toMatchObject({
      text: "✅ checkout flow finished — benchmark passed",
      color: "Good",
    });
    expect(title(variants.finishedWithErrors)).toMatchObject({
      text: "⚠️ checkout flow finished with errors",
      color: "Warning",
    });
    const facts = cardOf(format(variants.finishedBenchmarkFailed).body).body.find(
      (e) => e.type === "FactSet",
    );
    expect(facts?.type === "FactSet" && facts.facts).toEqual(
      expect.arrayContaining([
        { title: "Score", value: "62.4 < threshold 80" },
        { title: "Error rate", value: "14.2 % (503 × 1,680, ETIMEDOUT × 24)" },
      ]),
    );
  });

  it("parses with Microsoft's adaptivecards library at version 1.4 with zero validation events, for every fixture", () => {
    for (const { event, label } of fixtureEvents()) {
      expect(validate(cardOf(format(event).body)), label).toEqual([]);
    }
  });

  it("the validator does catch what Teams rejects (so the check above can fail)", () => {
    const card = cardOf(format(sampleEvents().finished).body);
    expect(validate({ ...card, body: [{ type: "Table", columns: [] }] }).join()).toMatch(/Table/);
    expect(validate({ ...card, body: [{ type: "TextBlock", text: "x", color: "Purple" }] }).join()).toMatch(
      /Purple/,
    );
  });

  it("stays under 28,000 bytes for every fixture, uses named colours and only Action.OpenUrl", () => {
    for (const { event, label } of fixtureEvents()) {
      const { body, warnings } = format(event);
      const size = Buffer.byteLength(JSON.stringify(body));
      expect(size, label).toBeLessThanOrEqual(TEAMS_MAX_BYTES);
      const card = cardOf(body);
      for (const element of card.body) {
        if (element.type === "TextBlock" && element.color !== undefined)
          expect(["Good", "Accent", "Warning", "Attention"]).toContain(element.color);
      }
      for (const action of card.actions ?? []) expect(action.type, label).toBe("Action.OpenUrl");
      if (JSON.stringify(body).includes("…")) expect(warnings.length, label).toBeGreaterThan(0);
    }
  });

  it("shrinks a message that would be too big, and says so", () => {
    const long = fixtureEvents().find((f) => f.label === "failed / 4000-character multi-line error")!;
    const small = teamsFormatter({ maxBytes: 3000 });
    const message = small.format(long.event, testContext());
    expect(Buffer.byteLength(JSON.stringify(message.body))).toBeLessThanOrEqual(3000);
    expect(message.warnings?.join("\n")).toMatch(/shortened to fit the 3000-byte Teams limit/);
  });

  it("escapes markdown in user text", () => {
    expect(escapeTeams("*prod* [x](y) _a_")).toBe("\\*prod\\* \\[x\\](y) \\_a\\_");
    expect(escapeTeams("- item\n# head\n## big\n1. one")).toBe("\\- item\n\\# head\n\\## big\n1\\. one");
  });
});
