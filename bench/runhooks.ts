/**
 * The runhooks the benchmark measures: the built package (`dist/`, what users run), which
 * `npm run bench` builds first. `BENCH_SOURCE=src` measures the TypeScript sources through tsx instead,
 * whose transpiled output adds a naming helper call to every function it creates and runs slower.
 * Types always come from the sources, so that type-checking needs no build.
 */
import type * as Runhooks from "../src/index.js";

const source = process.env.BENCH_SOURCE === "src" ? "../src/index.js" : "../dist/index.js";
const runhooks = (await import(source)) as typeof Runhooks;

/** Which build is measured, for the report. */
export const measured: string = source === "../src/index.js" ? "src (tsx)" : "dist (built)";
export const { createNotifier, EVENT_NAMES, generateSecret, httpTransport } = runhooks;
export type { EventInput, Notifier, NotifierStats, RunHandle, Transport } from "../src/index.js";
