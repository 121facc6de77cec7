/**
 * The runhooks the benchmark measures: the built package (`dist/`, what users run), which
 * `npm run bench` builds first. `BENCH_SOURCE=src` measures the TypeScript sources through tsx instead,
 * whose transpiled output adds a naming helper call to every function it creates and runs slower.
 * Types always come from the sources, so that type-checking needs no build.
 */
import type * as Runhooks from "../src/index.js";

import type * as RunhooksSqlite from "../src/backends/sqlite/index.js";
import type * as RunhooksPostgres from "../src/backends/postgres/index.js";

const fromSource = process.env.BENCH_SOURCE === "src";
const source = fromSource ? "../src/index.js" : "../dist/index.js";
const runhooks = (await import(source)) as typeof Runhooks;
const sqlite = (await import(
  fromSource ? "../src/backends/sqlite/index.js" : "../dist/sqlite/index.js"
)) as typeof RunhooksSqlite;
// Importing it is safe on any Node: pg and pg-boss are loaded when a backend is made (Node ≥ 22.12).
const postgres = (await import(
  fromSource ? "../src/backends/postgres/index.js" : "../dist/postgres/index.js"
)) as typeof RunhooksPostgres;

/** Which build is measured, for the report. */
export const measured: string = fromSource ? "src (tsx)" : "dist (built)";
export const { createNotifier, EVENT_NAMES, generateSecret, httpTransport } = runhooks;
export const { sqliteBackend } = sqlite;
export const { postgresBackend } = postgres;
export type {
  EventInput,
  Notifier,
  NotifierOptions,
  NotifierStats,
  RunHandle,
  Transport,
} from "../src/index.js";
