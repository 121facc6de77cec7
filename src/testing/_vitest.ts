import { createRequire } from "node:module";
// Types only: nothing here loads vitest. runhooks/testing must import without it (it is an optional peer).
import type { afterEach, describe, expect, it } from "vitest";

/** @internal The part of vitest's API the contract suites use. */
export interface VitestApi {
  describe: typeof describe;
  it: typeof it;
  expect: typeof expect;
  afterEach: typeof afterEach;
}

/** @internal The helpers of runhooks/testing that register vitest tests. */
export type VitestHelper = "testStore()" | "testFormatter()" | "testQueue()" | "testRunState()";

interface VitestScope {
  /** vitest's own module namespace (the one `import.meta.vitest` returns), set in its Node workers. */
  __vitest_index__?: unknown;
  /** vitest's worker state: present only while vitest runs this worker. */
  __vitest_worker__?: unknown;
}

function isVitestApi(candidate: unknown): candidate is VitestApi {
  if (typeof candidate !== "object" || candidate === null) return false;
  const api = candidate as Partial<Record<keyof VitestApi, unknown>>;
  return (
    typeof api.describe === "function" &&
    typeof api.it === "function" &&
    typeof api.expect === "function" &&
    typeof api.afterEach === "function"
  );
}

/**
 * @internal The running vitest's `describe`, `it`, `expect` and `afterEach`, found synchronously when a
 * contract suite is registered, so that `testStore()`, `testFormatter()`, `testQueue()` and `testRunState()`
 * stay plain functions called at a test file's top level.
 *
 * A static `import "vitest"` would make all of runhooks/testing need vitest; `import()` is asynchronous,
 * and vitest's CommonJS entry only throws, so `require("vitest")` cannot work either. Instead this takes
 * the API of the vitest that runs the current file: every vitest Node worker (forks, threads, vmForks,
 * vmThreads) sets `globalThis.__vitest_index__` to its module namespace before it imports test files,
 * the same object `import { describe } from "vitest"` and `import.meta.vitest` give, so tests land in
 * the file's suite even when several copies of vitest are installed. vitest's globals
 * (`test.globals: true`) are the fallback. Without either, it throws an Error that says to install vitest.
 */
export function vitestApi(helper: VitestHelper): VitestApi {
  const scope = globalThis as VitestScope;
  if (isVitestApi(scope.__vitest_index__)) return scope.__vitest_index__;
  if (scope.__vitest_worker__ !== undefined && isVitestApi(scope)) return scope;
  throw new Error(missingVitestMessage(helper));
}

/** @internal Why a helper cannot register its tests, and what to do about it. */
export function missingVitestMessage(helper: VitestHelper): string {
  const head = `runhooks/testing: ${helper} registers vitest tests; install vitest (npm install -D vitest) and run this file with vitest`;
  const rest =
    "startReceiver(), the fixtures, sampleRecord(), sampleDelivery(), testContext() and the *_CASES lists work with any test runner.";
  return isInstalled()
    ? `${head}. vitest is installed, but this is not a vitest run: call ${helper} at the top level of a test file that vitest runs, or inside its describe(). ${rest}`
    : `${head}. vitest cannot be found from runhooks. ${rest}`;
}

function isInstalled(): boolean {
  try {
    createRequire(import.meta.url).resolve("vitest");
    return true;
  } catch {
    return false;
  }
}

/**
 * @internal Registers a contract suite's cases with `it`, each titled `id: rule`; a case named in `skip`
 * is registered skipped, with its reason in the title. Without `durable`, the `durable.*` cases are not
 * registered at all: a queue or state that keeps nothing across processes has none to pass, and a
 * skipped test would read as something left to do.
 */
export function registerCases<Id extends string>(
  it: VitestApi["it"],
  rules: Readonly<Record<Id, string>>,
  cases: Readonly<Record<Id, () => Promise<void>>>,
  skip: Partial<Record<Id, string>> | undefined,
  durable = true,
): void {
  for (const [id, run] of Object.entries(cases) as Array<[Id, () => Promise<void>]>) {
    if (!durable && id.startsWith("durable.")) continue;
    const reason = skip?.[id];
    const title = `${id}: ${rules[id]}`;
    if (reason === undefined) it(title, run);
    else it.skip(`${title} (skipped: ${reason})`, run);
  }
}
