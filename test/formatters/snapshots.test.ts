import { describe, expect, it } from "vitest";
import { EVENT_NAMES, type RunEvent } from "../../src/events.js";
import { discordFormatter } from "../../src/formatters/discord.js";
import { jsonFormatter } from "../../src/formatters/json.js";
import { slackFormatter } from "../../src/formatters/slack.js";
import { teamsFormatter } from "../../src/formatters/teams.js";
import { sampleEventVariants, sampleEvents } from "../../src/testing/fixtures.js";
import { testContext } from "../../src/testing/formatter-contract.js";

// Every wire change shows up in review as a snapshot diff.
const formatters = [
  jsonFormatter(),
  jsonFormatter({ name: "predator-json", predator: true }),
  slackFormatter(),
  teamsFormatter(),
  discordFormatter(),
];

describe.each(formatters.map((f) => [f.name, f] as const))("%s payloads", (_name, formatter) => {
  it.each(EVENT_NAMES.map((e) => [e]))("%s", (name) => {
    const event = sampleEvents()[name];
    expect(formatter.format(event, testContext({ links: event.run.links ?? [] })).body).toMatchSnapshot();
  });
  it.each(Object.entries(sampleEventVariants()))("%s", (_name, event: RunEvent) => {
    expect(formatter.format(event, testContext({ links: event.run.links ?? [] })).body).toMatchSnapshot();
  });
});
