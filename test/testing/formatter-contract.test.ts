import { discordFormatter } from "../../src/formatters/discord.js";
import { jsonFormatter } from "../../src/formatters/json.js";
import { slackFormatter } from "../../src/formatters/slack.js";
import { teamsFormatter } from "../../src/formatters/teams.js";
import { testFormatter } from "../../src/testing/formatter-contract.js";

testFormatter(jsonFormatter());
testFormatter(jsonFormatter({ name: "predator-json", predator: true }));
testFormatter(slackFormatter());
testFormatter(teamsFormatter());
testFormatter(discordFormatter());
