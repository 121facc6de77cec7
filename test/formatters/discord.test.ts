import { describe, expect, it } from "vitest";
import type { RunEvent } from "../../src/events.js";
import {
  DISCORD_LIMITS,
  discordFormatter,
  escapeDiscord,
  type DiscordMessage,
} from "../../src/formatters/discord.js";
import { slackFormatter, type SlackMessage } from "../../src/formatters/slack.js";
import { fixtureEvents, sampleEventVariants, sampleEvents } from "../../src/testing/fixtures.js";
import { testContext } from "../../src/testing/formatter-contract.js";

const discord = discordFormatter();
const format = (event: Parameters<typeof discord.format>[0]) => {
  const message = discord.format(event, testContext({ links: event.run.links ?? [] }));
  return { body: message.body as DiscordMessage, warnings: message.warnings ?? [] };
};
const embedLength = (body: DiscordMessage): number =>
  body.embeds.reduce(
    (sum, e) =>
      sum +
      e.title.length +
      (e.description?.length ?? 0) +
      e.footer.text.length +
      e.fields.reduce((s, f) => s + f.name.length + f.value.length, 0),
    0,
  );

describe("discord format", () => {
  it("sends content and one coloured embed with inline fields, pinging nobody", () => {
    const { body } = format(sampleEvents().api_failure);
    expect(body.allowed_mentions).toEqual({ parse: [] });
    expect(body.content).toBe("💥 checkout flow (staging) is getting server errors: 160 × 5xx (503 × 160)");
    const embed = body.embeds[0]!;
    expect(embed.title).toBe("💥 checkout flow is getting server errors");
    expect(embed.color).toBe(0xecb22e);
    expect(embed.timestamp).toBe("2026-01-01T00:00:00.000Z");
    expect(embed.fields).toEqual(
      expect.arrayContaining([
        { name: "5xx since last report", value: "160", inline: true },
        { name: "5xx codes", value: "503 × 160", inline: true },
        { name: "Links", value: "[Report](https://predator.example/reports/run-42)", inline: false },
      ]),
    );
  });

  // regression: issue 22 (a finished whose benchmark failed looked like a success)
  it("colours a finished run by its verdict and says it in content and title", () => {
    const failed = format(sampleEventVariants().finishedBenchmarkFailed).body;
    expect(failed.content).toMatch(
      /^📉 checkout flow \(staging\) finished — benchmark failed: score 62\.4 \\< threshold 80, 14\.2 % errors/,
    );
    expect(failed.embeds[0]).toMatchObject({
      title: "📉 checkout flow finished — benchmark failed",
      color: 0xe01e5a,
    });
    expect(failed.embeds[0]?.fields).toContainEqual({
      name: "Error rate",
      value: "14.2 % (503 × 1,680, ETIMEDOUT × 24)",
      inline: true,
    });
    expect(format(sampleEvents().finished).body.embeds[0]?.color).toBe(0x2eb67d);
    expect(format(sampleEventVariants().finishedWithErrors).body.embeds[0]?.color).toBe(0xecb22e);
  });

  it("keeps every Discord limit on every fixture", () => {
    for (const { event, label } of fixtureEvents()) {
      const { body, warnings } = format(event);
      expect(body.content.length, label).toBeLessThanOrEqual(DISCORD_LIMITS.content);
      expect(body.content.length, label).toBeGreaterThan(0);
      expect(body.embeds.length, label).toBeLessThanOrEqual(10);
      expect(embedLength(body), label).toBeLessThanOrEqual(DISCORD_LIMITS.embedTotal);
      for (const embed of body.embeds) {
        expect(embed.title.length, label).toBeLessThanOrEqual(DISCORD_LIMITS.title);
        expect(embed.description?.length ?? 0, label).toBeLessThanOrEqual(DISCORD_LIMITS.description);
        expect(embed.fields.length, label).toBeLessThanOrEqual(DISCORD_LIMITS.fields);
        expect(embed.footer.text.length, label).toBeLessThanOrEqual(DISCORD_LIMITS.footer);
        for (const field of embed.fields) {
          expect(field.name.length, label).toBeLessThanOrEqual(DISCORD_LIMITS.fieldName);
          expect(field.value.length, label).toBeLessThanOrEqual(DISCORD_LIMITS.fieldValue);
          expect(field.value.length, label).toBeGreaterThan(0);
        }
      }
      expect(body.allowed_mentions, label).toEqual({ parse: [] });
      if (JSON.stringify(body).includes("…")) expect(warnings.length, label).toBeGreaterThan(0);
    }
  });

  it("escapes markdown and mention syntax in user text", () => {
    expect(escapeDiscord("*a* _b_ ~c~ `d` <@1> |e|")).toBe("\\*a\\* \\_b\\_ \\~c\\~ \\`d\\` \\<@1> \\|e\\|");
    expect(escapeDiscord("# head\n> quote")).toBe("\\# head\n\\> quote");
    const markup = fixtureEvents().find((f) => f.label === "aborted / markup in every text")!;
    expect(format(markup.event).body.embeds[0]?.title).toContain("\\<b>bold\\</b>");
  });

  it("puts the error first and renders failed without one", () => {
    expect(format(sampleEvents().failed).body.embeds[0]?.description).toBe(
      "**Error**\nrunner crashed: out of memory",
    );
    const bare = fixtureEvents().find((f) => f.label === "failed / no error given")!;
    expect(format(bare.event).body.embeds[0]?.description).toBe("**Error**\nNo error details were given");
  });

  it("can set the bot name", () => {
    const named = discordFormatter({ username: "Predator" }).format(sampleEvents().started, testContext());
    expect((named.body as DiscordMessage).username).toBe("Predator");
  });
});

describe("regressions", () => {
  const withLink = (url: string): RunEvent => ({
    ...sampleEvents().finished,
    run: { ...sampleEvents().finished.run, links: [{ title: "Grafana", url }] },
  });

  // regression: b90c099 (link encoding: a URL's | & space and parentheses kept whole)
  it("encodes link URLs so Slack and Discord keep them whole", () => {
    const event = withLink("https://grafana.example/d/x?var-a=1|2&q=a b&c=(x)");
    const slack = slackFormatter().format(event, testContext({ links: event.run.links ?? [] }))
      .body as SlackMessage;
    const links = JSON.stringify(slack);
    expect(links).toContain("<https://grafana.example/d/x?var-a=1%7C2&amp;q=a%20b&amp;c=(x)|Grafana>");
    const discord = discordFormatter().format(event, testContext({ links: event.run.links ?? [] }))
      .body as DiscordMessage;
    expect(discord.embeds[0]?.fields.find((f) => f.name === "Links")?.value).toBe(
      "[Grafana](https://grafana.example/d/x?var-a=1|2&q=a%20b&c=%28x%29)",
    );
  });

  // regression: b90c099 (markdown escaping at line starts)
  it("escapes numbered lists, deep headings and Discord subtext", () => {
    expect(escapeDiscord("1. smoke\n## big\n-# tiny")).toBe("1\\. smoke\n\\## big\n\\-# tiny");
  });

  // regression: b90c099 (the description's budget counts its label)
  it("keeps a Discord description within 4096 characters with its label", () => {
    const event = { ...sampleEvents().aborted, reason: "r".repeat(9000) };
    const body = discordFormatter().format(event, testContext()).body as DiscordMessage;
    expect(body.embeds[0]?.description?.length).toBeLessThanOrEqual(4096);
  });
});
