/**
 * `runhooks/formatters`: the parts of the built-in formats, for writing a formatter of your own or
 * checking a message by hand: each chat service's escaping and size limits, and the message shapes the
 * built-in formatters produce. The formatters themselves (`slackFormatter()`, `teamsFormatter()`,
 * `discordFormatter()`, `jsonFormatter()`) and `defineFormatter()` are in the root entry.
 *
 * @packageDocumentation
 */
export { DISCORD_LIMITS, escapeDiscord } from "./discord.js";
export type { DiscordMessage } from "./discord.js";
export type { PredatorJsonBody } from "./json.js";
export { SLACK_LIMITS, escapeSlack } from "./slack.js";
export type { SlackBlock, SlackMessage, SlackTextObject } from "./slack.js";
export { TEAMS_MAX_BYTES, escapeTeams } from "./teams.js";
export type { TeamsCardElement, TeamsMessage } from "./teams.js";
export type { Tone } from "./_summary.js";
