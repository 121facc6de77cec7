import { randomUUID } from "node:crypto";
import { basename, dirname, extname, resolve } from "node:path";
import {
  isEventName,
  type EventName,
  type NetworkOptions,
  type RunLink,
  type WebhookDefinition,
} from "runhooks";

/** Where Artillery scripts put this plugin's options; every error message starts with it. */
export const ROOT = "config.plugins.runhooks";

/** A webhook of the `webhooks` option: a runhooks webhook definition whose format may be left out. */
export interface WebhookOption extends Omit<WebhookDefinition, "format"> {
  /** @default the plugin's `format`, else guessed from the URL's host (Slack, Teams, Discord), else `json` */
  format?: string | undefined;
}

/**
 * The options of `config.plugins.runhooks`. Numbers may be given as numeric strings and booleans as
 * `"true"`/`"false"`, since `{{ $env.X }}` always resolves to a string. Relative paths are relative to
 * the script's folder, like Artillery's own `processor`.
 */
export interface RunhooksPluginOptions {
  /**
   * Where to send the run's events: webhook definitions (`{ url, format?, events?, name?, secret?,
   * headers? }`), or, with `sqlite`, ids of webhooks stored in its file. Definitions fire for this run.
   */
  webhooks?: Array<string | WebhookOption> | undefined;
  /** Format of the webhooks that give none: `slack`, `teams`, `discord` or `json`. @default guessed from each URL */
  format?: string | undefined;
  /** Events of the webhooks that give none. @default all eight */
  events?: EventName[] | undefined;
  /** An SQLite file (runhooks/sqlite, needs better-sqlite3): its stored webhooks, and a crash-proof queue. */
  sqlite?: string | undefined;
  /** @default `$RUNHOOKS_RUN_ID`, else Artillery's test run id */
  runId?: string | undefined;
  /** @default the script's file name */
  testId?: string | undefined;
  /** @default `config.name`, else Artillery's `--name`, else the script's file name */
  name?: string | undefined;
  /** @default Artillery's `--environment` */
  environment?: string | undefined;
  tenant?: string | undefined;
  labels?: Record<string, string | number | boolean> | undefined;
  links?: RunLink[] | undefined;
  /** With a threshold, `benchmark_passed` or `benchmark_failed` comes before `finished`. */
  benchmark?: { threshold: number | string; lastScores?: Array<number | string> | undefined } | undefined;
  /** A module exporting `(stats, report) => number` (default export or `score`). @default successScore */
  score?: string | undefined;
  /** Addresses webhooks may point at; `{ allowPrivate: true }` for a receiver on your own network. */
  network?: NetworkOptions | undefined;
  /** How long Artillery's exit waits for deliveries, in milliseconds. @default 30000 */
  closeTimeoutMs?: number | string | undefined;
}

/** The plugin's options, checked and completed: what the session is built from. */
export interface Settings {
  /** Definitions, and (with a store) ids of stored webhooks, in the order the script lists them. */
  webhooks: Array<string | WebhookDefinition>;
  sqlite?: string | undefined;
  run: {
    id: string;
    testId: string;
    name: string;
    environment?: string | undefined;
    tenant?: string | undefined;
    labels?: Record<string, string> | undefined;
    links?: RunLink[] | undefined;
    benchmark?: { threshold: number; lastScores?: number[] | undefined } | undefined;
  };
  score?: string | undefined;
  network?: NetworkOptions | undefined;
  closeTimeoutMs: number;
}

/** What the defaults are taken from. */
export interface Defaults {
  /** `config.name` of the script. */
  configName?: unknown;
  /** Artillery's "name" tag: `--name`, else the script's file name. */
  nameTag?: unknown;
  /** Artillery's test run id. */
  testRunId?: unknown;
  /** `--environment`. */
  environment?: unknown;
  /** The script's absolute path. */
  scriptPath?: unknown;
  env: NodeJS.ProcessEnv;
}

/** An option with a problem; the message names it (`config.plugins.runhooks.benchmark.threshold: …`). */
export class PluginOptionError extends Error {
  /** The option's path, e.g. `config.plugins.runhooks.webhooks[0].url`. */
  readonly option: string;

  constructor(option: string, problem: string, options?: { cause?: unknown }) {
    super(`${option}: ${problem}`, options);
    this.name = "PluginOptionError";
    this.option = option;
  }
}

/** @internal The options' names, as the README's table lists them. */
export const OPTION_NAMES = [
  "webhooks",
  "format",
  "events",
  "sqlite",
  "runId",
  "testId",
  "name",
  "environment",
  "tenant",
  "labels",
  "links",
  "benchmark",
  "score",
  "network",
  "closeTimeoutMs",
] as const;

// Artillery reads `scope` itself (a package scope instead of "artillery-plugin-").
const KEYS = new Set<string>([...OPTION_NAMES, "scope"]);

/**
 * Checks `config.plugins.runhooks` and fills in the defaults. Throws a {@link PluginOptionError}
 * naming the option at the first problem; the webhook definitions' own fields are checked by runhooks
 * when the run is created.
 */
export function readOptions(raw: unknown, defaults: Defaults): Settings {
  const options = object(raw ?? {}, ROOT);
  for (const key of Object.keys(options))
    if (!KEYS.has(key)) fail(`${ROOT}.${key}`, "unknown option; check the spelling");
  const base = typeof defaults.scriptPath === "string" ? dirname(defaults.scriptPath) : process.cwd();
  const format = optionalString(options["format"], `${ROOT}.format`);
  const events = optionalEvents(options["events"], `${ROOT}.events`);
  const sqlite = optionalString(options["sqlite"], `${ROOT}.sqlite`);
  const webhooks = readWebhooks(options["webhooks"], { format, events }, sqlite !== undefined);
  const score = optionalString(options["score"], `${ROOT}.score`);
  return {
    webhooks,
    sqlite: sqlite === undefined ? undefined : resolve(base, sqlite),
    run: readRun(options, defaults),
    score: score === undefined ? undefined : resolve(base, score),
    network: readNetwork(options["network"]),
    closeTimeoutMs: closeTimeout(options["closeTimeoutMs"]),
  };
}

function readWebhooks(
  raw: unknown,
  shared: { format: string | undefined; events: EventName[] | undefined },
  stored: boolean,
): Array<string | WebhookDefinition> {
  const path = `${ROOT}.webhooks`;
  const list = raw === undefined ? [] : array(raw, path);
  if (list.length === 0 && !stored)
    fail(path, "no webhook to notify: give at least one { url } (or a store: sqlite)");
  return list.map((entry, i) => {
    const at = `${path}[${i}]`;
    if (typeof entry !== "string") return readDefinition(object(entry, at), shared, at);
    if (!stored) fail(at, `a webhook id needs the webhooks' store: set ${ROOT}.sqlite, or give { url }`);
    return entry;
  });
}

function readDefinition(
  entry: Record<string, unknown>,
  shared: { format: string | undefined; events: EventName[] | undefined },
  at: string,
): WebhookDefinition {
  const url = entry["url"];
  // Artillery leaves out a value whose {{ $env.X }} is not set: say so rather than "expected string".
  if (url === undefined || url === "")
    fail(`${at}.url`, "is missing or empty (is the environment variable it reads set?)");
  if (typeof url !== "string") fail(`${at}.url`, "must be a string");
  const format = optionalString(entry["format"], `${at}.format`) ?? shared.format ?? guessFormat(url);
  const events = optionalEvents(entry["events"], `${at}.events`) ?? shared.events;
  const definition = { ...entry, url, format } as WebhookDefinition;
  if (events) definition.events = events;
  return definition;
}

/** The format a webhook URL's host implies: Slack, Teams (Workflows, Power Automate), Discord, else JSON. */
export function guessFormat(url: string): string {
  let host: string;
  try {
    host = new URL(url).hostname.toLowerCase();
  } catch {
    return "json";
  }
  if (host === "hooks.slack.com") return "slack";
  if (/(^|\.)(discord\.com|discordapp\.com)$/.test(host)) return "discord";
  if (/(^|\.)(webhook\.office\.com|logic\.azure\.com|powerplatform\.com|powerautomate\.com)$/.test(host))
    return "teams";
  return "json";
}

function readRun(options: Record<string, unknown>, defaults: Defaults): Settings["run"] {
  const script =
    typeof defaults.scriptPath === "string" && defaults.scriptPath !== ""
      ? basename(defaults.scriptPath)
      : undefined;
  const id =
    optionalString(options["runId"], `${ROOT}.runId`) ??
    nonEmpty(defaults.env["RUNHOOKS_RUN_ID"]) ??
    nonEmpty(defaults.testRunId) ??
    randomUUID();
  const name =
    optionalString(options["name"], `${ROOT}.name`) ??
    nonEmpty(defaults.configName) ??
    nonEmpty(defaults.nameTag) ??
    script ??
    "Artillery test";
  const testId =
    optionalString(options["testId"], `${ROOT}.testId`) ??
    (script ? basename(script, extname(script)) : undefined) ??
    name;
  const run: Settings["run"] = { id, testId, name };
  const environment =
    optionalString(options["environment"], `${ROOT}.environment`) ?? nonEmpty(defaults.environment);
  if (environment !== undefined) run.environment = environment;
  const tenant = optionalString(options["tenant"], `${ROOT}.tenant`);
  if (tenant !== undefined) run.tenant = tenant;
  const labels = readLabels(options["labels"]);
  if (labels) run.labels = labels;
  const links = readLinks(options["links"]);
  if (links) run.links = links;
  const benchmark = readBenchmark(options["benchmark"]);
  if (benchmark) run.benchmark = benchmark;
  return run;
}

function readLabels(raw: unknown): Record<string, string> | undefined {
  if (raw === undefined) return undefined;
  const path = `${ROOT}.labels`;
  const labels: Record<string, string> = {};
  for (const [key, value] of Object.entries(object(raw, path))) {
    if (value === undefined) continue;
    if (typeof value !== "string" && typeof value !== "number" && typeof value !== "boolean")
      fail(`${path}.${key}`, "must be a string, number or boolean");
    labels[key] = String(value);
  }
  return labels;
}

function readLinks(raw: unknown): RunLink[] | undefined {
  if (raw === undefined) return undefined;
  const path = `${ROOT}.links`;
  return array(raw, path).map((entry, i) => {
    const link = object(entry, `${path}[${i}]`);
    const title = optionalString(link["title"], `${path}[${i}].title`);
    const url = optionalString(link["url"], `${path}[${i}].url`);
    if (title === undefined || url === undefined) fail(`${path}[${i}]`, "needs a title and a url");
    return { title, url };
  });
}

function readBenchmark(raw: unknown): Settings["run"]["benchmark"] {
  if (raw === undefined) return undefined;
  const path = `${ROOT}.benchmark`;
  const benchmark = object(raw, path);
  for (const key of Object.keys(benchmark))
    if (key !== "threshold" && key !== "lastScores")
      fail(`${path}.${key}`, "unknown option; check the spelling");
  const threshold = optionalNumber(benchmark["threshold"], `${path}.threshold`);
  if (threshold === undefined)
    fail(`${path}.threshold`, "is required (a number: scores at or above it pass)");
  const scores = benchmark["lastScores"];
  if (scores === undefined) return { threshold };
  const lastScores = array(scores, `${path}.lastScores`).map((score, i) => {
    const n = optionalNumber(score, `${path}.lastScores[${i}]`);
    if (n === undefined) fail(`${path}.lastScores[${i}]`, "must be a number");
    return n;
  });
  return { threshold, lastScores };
}

function readNetwork(raw: unknown): NetworkOptions | undefined {
  if (raw === undefined) return undefined;
  const path = `${ROOT}.network`;
  const network = object(raw, path);
  const result: NetworkOptions = {};
  for (const [key, value] of Object.entries(network)) {
    if (key === "allowPrivate" || key === "trustProxy") result[key] = boolean(value, `${path}.${key}`);
    else if (key === "allow")
      result.allow = array(value, `${path}.allow`).map((entry, i) => {
        if (typeof entry !== "string") fail(`${path}.allow[${i}]`, "must be a string");
        return entry;
      });
    else fail(`${path}.${key}`, "unknown option; check the spelling");
  }
  return result;
}

function optionalEvents(raw: unknown, path: string): EventName[] | undefined {
  if (raw === undefined) return undefined;
  // "started, finished" is easier to put in an environment variable than a YAML list.
  const list = typeof raw === "string" ? raw.split(",").map((name) => name.trim()) : array(raw, path);
  return list.map((name, i) => {
    if (!isEventName(name)) fail(`${path}[${i}]`, "not an event name (started, in_progress, api_failure, …)");
    return name;
  });
}

function optionalString(raw: unknown, path: string): string | undefined {
  if (raw === undefined) return undefined;
  if (typeof raw !== "string") fail(path, "must be a string");
  return raw.trim() === "" ? undefined : raw;
}

function closeTimeout(raw: unknown): number {
  const path = `${ROOT}.closeTimeoutMs`;
  const ms = optionalNumber(raw, path) ?? 30_000;
  if (ms < 0) fail(path, "must be 0 or more milliseconds");
  return ms;
}

function optionalNumber(raw: unknown, path: string): number | undefined {
  if (raw === undefined || raw === "") return undefined;
  const n = typeof raw === "string" ? Number(raw) : raw;
  if (typeof n !== "number" || !Number.isFinite(n)) fail(path, "must be a number");
  return n;
}

function boolean(raw: unknown, path: string): boolean {
  if (raw === true || raw === "true") return true;
  if (raw === false || raw === "false") return false;
  return fail(path, "must be true or false");
}

function object(raw: unknown, path: string): Record<string, unknown> {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) fail(path, "must be an object");
  return raw as Record<string, unknown>;
}

function array(raw: unknown, path: string): unknown[] {
  if (!Array.isArray(raw)) fail(path, "must be a list");
  return raw as unknown[];
}

function nonEmpty(value: unknown): string | undefined {
  return typeof value === "string" && value.trim() !== "" ? value : undefined;
}

function fail(option: string, problem: string): never {
  throw new PluginOptionError(option, problem);
}
