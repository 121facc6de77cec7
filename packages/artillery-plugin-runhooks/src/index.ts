export { LEGACY_METRICS_FORMAT, Plugin } from "./plugin.js";
export { PluginOptionError } from "./options.js";
export type { RunhooksPluginOptions, WebhookOption } from "./options.js";
export type { ScoreFunction } from "./score.js";
export type { ArtilleryMetrics } from "./artillery.js";
