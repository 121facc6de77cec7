import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, isAbsolute, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "tsup";
import { afterAll, beforeAll, expect, it } from "vitest";
import tsupConfig from "../../tsup.config.js";
import * as testingSources from "../../src/testing/index.js";

// vitest is an optional peer: runhooks/testing must import, and all but its two contract suites must
// work, in a project without vitest. This builds the package with the repository's tsup config into a
// folder outside the repository, where `vitest` cannot be resolved, and runs a plain Node process there
// that uses it as an installed package. Then the same build, installed next to vitest, must register
// its suites under that project's vitest.

const root = fileURLToPath(new URL("../../", import.meta.url));
const scratch = mkdtempSync(join(tmpdir(), "runhooks-no-vitest-"));
beforeAll(() => install(scratch), 15_000);
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const CHILD = String.raw`
import assert from "node:assert/strict";

// Nothing here can find vitest.
const vitest = await import("vitest").then(() => "resolved", (error) => error.code);
assert.equal(vitest, "ERR_MODULE_NOT_FOUND", "vitest must not be resolvable in this folder");

const testing = await import("runhooks/testing");
const { EVENT_NAMES, createNotifier, jsonFormatter, memoryStore } = await import("runhooks");

// startReceiver(): a plain POST, then a delivery from a notifier allowed to reach 127.0.0.1.
const receiver = await testing.startReceiver({
  respond: (_request, index) => (index === 0 ? { status: 202, body: "accepted" } : 200),
});
const response = await fetch(receiver.url + "/direct?x=1", {
  method: "POST",
  headers: { "content-type": "application/json" },
  body: JSON.stringify({ hello: "world" }),
});
assert.equal(response.status, 202);
assert.equal(await response.text(), "accepted");
const notifier = createNotifier({ network: { allowPrivate: true } });
await notifier.webhooks.create({
  name: "t",
  url: receiver.url + "/hook",
  format: "json",
  events: ["finished"],
  global: true,
});
notifier.run({ id: "run-1", testId: "t", name: "checkout" }).finished({ score: 90 });
await notifier.flush();
const [direct, hook] = await receiver.waitFor(2);
assert.deepEqual([direct.method, direct.path, direct.json()], ["POST", "/direct?x=1", { hello: "world" }]);
assert.equal(hook.path, "/hook");
assert.equal(hook.json().type, "finished");
await notifier.close();
await receiver.close();

// The fixtures and the other plain helpers.
assert.deepEqual(Object.keys(testing.sampleEvents()).sort(), [...EVENT_NAMES].sort());
assert.deepEqual(testing.sampleEventList().map((event) => event.event), [...EVENT_NAMES]);
assert.ok(testing.fixtureEvents().length > EVENT_NAMES.length);
assert.equal(testing.sampleRun.id, "run-42");
assert.equal(testing.sampleStats.requests, 12000);
assert.equal(testing.sampleRecord({ global: true }).global, true);
assert.equal(testing.testContext({ locale: "de-DE" }).locale, "de-DE");
assert.ok("crud.create-get" in testing.STORE_CASES);

// The contract suites need vitest, and say so.
const calls = {
  "testStore()": () => testing.testStore("memoryStore()", () => memoryStore()),
  "testFormatter()": () => testing.testFormatter(jsonFormatter()),
};
const messages = {};
for (const [name, call] of Object.entries(calls)) {
  assert.throws(call, (error) => {
    messages[name] = error.message;
    return error instanceof Error;
  });
}
console.log(JSON.stringify({ exports: Object.keys(testing), messages }));
`;

/** Builds the package as `npm pack` would ship it, into `<dir>/node_modules/runhooks`. */
async function install(dir: string): Promise<void> {
  const manifest = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as Record<string, unknown>;
  const pkg = join(dir, "node_modules", "runhooks");
  if (typeof tsupConfig === "function" || Array.isArray(tsupConfig) || Array.isArray(tsupConfig.entry))
    throw new Error("expected tsup.config.ts to export one options object with named entries");
  const entry = Object.fromEntries(
    Object.entries(tsupConfig.entry ?? {}).map(([k, v]) => [k, join(root, v)]),
  );
  await build({
    ...tsupConfig,
    config: false,
    entry,
    outDir: join(pkg, "dist"),
    dts: false,
    sourcemap: false,
    silent: true,
  });
  // The manifest's fields that decide how the package resolves, as published.
  const fields = [
    "name",
    "version",
    "type",
    "exports",
    "main",
    "types",
    "dependencies",
    "peerDependencies",
    "peerDependenciesMeta",
  ];
  const published = Object.fromEntries(fields.map((field) => [field, manifest[field]]));
  writeFileSync(join(pkg, "package.json"), JSON.stringify(published));
  // The runtime dependencies, as npm would install them (none of them brings vitest).
  for (const dependency of Object.keys(manifest.dependencies as Record<string, string>)) {
    const link = join(dir, "node_modules", dependency);
    mkdirSync(dirname(link), { recursive: true });
    symlinkSync(join(root, "node_modules", dependency), link, "dir");
  }
}

/** Runs `node <args>` in `cwd`, with none of the vitest worker's loaders or state. */
function node(cwd: string, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const env = Object.fromEntries(
    Object.entries(process.env).filter(
      ([key]) => key !== "NODE_OPTIONS" && key !== "NODE_PATH" && !key.startsWith("VITEST"),
    ),
  );
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      args,
      { cwd, env, timeout: 10_000 },
      (_error, stdout, stderr) => {
        resolve({ code: child.exitCode, stdout, stderr });
      },
    );
  });
}

it("runhooks/testing imports and works without vitest; testStore() and testFormatter() say to install it", async () => {
  const outside = relative(root, scratch);
  expect(outside.startsWith("..") || isAbsolute(outside), `${scratch} must be outside ${root}`).toBe(true);
  writeFileSync(join(scratch, "check.mjs"), CHILD);

  const { code, stdout, stderr } = await node(scratch, ["check.mjs"]);
  expect(stderr).toBe("");
  expect(code).toBe(0);

  const result = JSON.parse(stdout) as { exports: string[]; messages: Record<string, string> };
  expect(result.exports.sort()).toEqual(Object.keys(testingSources).sort());
  for (const helper of ["testStore()", "testFormatter()"]) {
    const prefix = `runhooks/testing: ${helper} registers vitest tests; install vitest (npm install -D vitest) `;
    expect(result.messages[helper]?.slice(0, prefix.length)).toBe(prefix);
  }
  expect(result.messages["testStore()"]).toContain("vitest cannot be found");
}, 15_000);

const CONSUMER_TEST = `
import { describe, expect } from "vitest";
import { jsonFormatter, memoryStore } from "runhooks";
import { testFormatter, testStore } from "runhooks/testing";

testStore("memoryStore()", () => memoryStore(), { skip: { "concurrency.creates": "not needed here" } });
describe("a suite of the project", () => {
  testFormatter(jsonFormatter(), { check: (message) => expect(message.body).toHaveProperty("type") });
});
`;

it("the same build, installed next to vitest, registers testStore() and testFormatter() suites", async () => {
  const project = join(scratch, "with-vitest");
  mkdirSync(join(project, "node_modules"), { recursive: true });
  symlinkSync(join(scratch, "node_modules", "runhooks"), join(project, "node_modules", "runhooks"), "dir");
  symlinkSync(join(root, "node_modules", "vitest"), join(project, "node_modules", "vitest"), "dir");
  writeFileSync(join(project, "package.json"), JSON.stringify({ type: "module" }));
  writeFileSync(join(project, "contract.test.js"), CONSUMER_TEST);

  const vitest = join(root, "node_modules", "vitest", "vitest.mjs");
  const { code, stdout, stderr } = await node(project, [vitest, "run", "--reporter=json", "--pool=threads"]);
  expect(code, stderr).toBe(0);
  const report = JSON.parse(stdout) as {
    numPassedTests: number;
    numPendingTests: number;
    numFailedTests: number;
    testResults: Array<{ assertionResults: Array<{ ancestorTitles: string[] }> }>;
  };
  const suites = new Set(
    report.testResults.flatMap((file) =>
      file.assertionResults.map((test) => test.ancestorTitles.join(" > ")),
    ),
  );
  expect([...suites].sort()).toEqual([
    "SubscriptionStore contract: memoryStore()",
    "a suite of the project > formatter contract: json",
  ]);
  expect(report.numFailedTests).toBe(0);
  expect(report.numPendingTests).toBe(1);
  expect(report.numPassedTests).toBe(
    Object.keys(testingSources.STORE_CASES).length - 1 + testingSources.fixtureEvents().length,
  );
}, 15_000);
