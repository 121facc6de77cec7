/**
 * Every ```ts / ```typescript block of README.md and docs/*.md (not docs/api/, which is generated) is
 * type-checked against the BUILT package, and run against a loopback receiver unless it is marked.
 *
 * How:
 * - The package is built once with tsup into .tmp/docs-snippets-XXXX/node_modules/runhooks/dist, next to
 *   a copy of package.json: "runhooks" and its subpaths ("runhooks/testing", "runhooks/admin",
 *   "runhooks/formatters", "runhooks/sqlite") resolve through its `exports`, as in a project that
 *   installed it.
 * - Each block is a module, type-checked with the repository's compiler options (tsconfig.json: strict,
 *   noUncheckedIndexedAccess, exactOptionalPropertyTypes, NodeNext…; its `paths` to the sources left out)
 *   in one ts.Program. Errors name the markdown line: `README.md:43 (block 1): TS2322 …`.
 * - Each runnable module is transpiled and run: by node in a child process, or, when it registers tests
 *   (it, describe, beforeAll, testStore, testFormatter…), by one vitest child over all such modules. A
 *   run passes when it neither throws nor rejects, exits within 10 s, and (node runs) the receiver got
 *   what its comments promise: a `// → a, then b` comment names events that must arrive, in that order.
 * - The temporary directory is under .tmp/ (ignored by git and eslint) so that the build's and the
 *   blocks' dependencies resolve from the repository's node_modules; SNIPPETS_KEEP=1 keeps it.
 *
 * Conventions in the markdown (HTML comments, invisible when rendered), on the lines just above a fence:
 * - `<!-- snippet: continues -->`: the block continues the previous block of the file; they are one
 *   module (a guide's steps). Keep them few: prefer a block that stands alone.
 * - `<!-- snippet: no-run <reason> -->`: type-checked only, e.g. it listens on a fixed port, mounts on
 *   Express/Hono (not installed here: type-checked against the small stubs in harness.ts,
 *   THIRD_PARTY_STUBS) or needs code of the reader's own. A module with a no-run block does not run.
 * - `<!-- snippet: skip <reason> -->`: not even type-checked (deliberate pseudo-code). Its test only
 *   checks that it indeed does not parse as TypeScript (a block that parses can be type-checked), and is
 *   not an it.skip, which CI counts as a failure.
 * Context:
 * - The names the docs assume from context (`notifier`, `url`, `id`, `log`, a runner's `onTick`…) are the
 *   value exports of test/docs/context.ts. A block that uses one without declaring it gets a prelude,
 *   `import { notifier, … } from "../_context.js"`, for the type-check and for the run; the context's
 *   notifier allows loopback and its URLs point at the receiver.
 * - A block whose first line is `// name.ts` is written as that file, so a later block's
 *   `import … from "./name.js"` gets it. Other relative imports resolve to LOCAL_MODULES below.
 * - Placeholders are what a run may replace: string URLs on example.com/.org/.net or with an ellipsis (…)
 *   point at the receiver instead (same path), and then that module's createNotifier() calls get
 *   `network: { allowPrivate: true }`. Nothing else is changed; nothing leaves 127.0.0.1.
 * - KNOWN_BROKEN lists blocks in files this change does not own: they are still checked, and the test
 *   fails if they stop failing (then delete the entry).
 */
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EVENT_NAMES, generateSecret } from "runhooks";
import { startReceiver, type TestReceiver } from "runhooks/testing";
import { nativeAddonProblem } from "../helpers/native.js";
import {
  blockLabel,
  compilerOptions,
  composeModules,
  exportedValueNames,
  extractBlocks,
  forRun,
  formatDiagnostic,
  markdownFiles,
  moduleLabel,
  pool,
  run,
  RUN_ENTRY,
  slugOf,
  syntaxErrors,
  THIRD_PARTY_STUBS,
  transpile,
  typeCheck,
  writeFile,
  type Block,
  type ProcessResult,
  type SnippetModule,
} from "./harness.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const RUN_TIMEOUT_MS = 10_000;

/** Stand-ins for the files a block imports by a relative path, per markdown file. */
const LOCAL_MODULES: Record<string, Record<string, () => string>> = {
  "docs/custom-store.md": {
    // The reader's own store: type-check only.
    "my-store.ts": () =>
      [
        `import type { SubscriptionStore } from "runhooks";`,
        `export interface MyStore extends SubscriptionStore { close(): Promise<void> }`,
        `export declare function myStore(database: unknown): MyStore;`,
      ].join("\n"),
  },
};

/**
 * Blocks of files another change owns, known to fail: each pattern must match one of the block's
 * problems. Found by this test; to be fixed in that file.
 */
const KNOWN_BROKEN = new Map<string, RegExp[]>([]);

const CONTEXT_SOURCE = readFileSync(join(ROOT, "test/docs/context.ts"), "utf8");
const CONTEXT_NAMES = exportedValueNames(CONTEXT_SOURCE);
CONTEXT_NAMES.delete("disposeContext");
const FILES = markdownFiles(ROOT);
const BLOCKS = new Map(FILES.map((file) => [file, extractBlocks(ROOT, file)]));
const MODULES = [...BLOCKS.values()].flatMap((blocks) => composeModules(blocks, CONTEXT_NAMES));

// better-sqlite3 is built for the Node that installed it: under another Node's ABI the blocks that use
// it (directly or through runhooks/sqlite) are type-checked only, and their titles say why.
const noSqlite = await nativeAddonProblem("better-sqlite3");
const needsSqlite = (module: SnippetModule): boolean =>
  /better-sqlite3|["']runhooks\/sqlite["']/.test(module.source);
const sqliteSkip = (module: SnippetModule): string | undefined =>
  noSqlite !== undefined && needsSqlite(module)
    ? `needs better-sqlite3, which cannot load on Node ${process.version}: ${noSqlite}`
    : undefined;

const problems = new Map<Block, string[]>();
const ran = new Map<SnippetModule, string>();
const notes: string[] = [];
let tmp: string | undefined;
let receiver: TestReceiver | undefined;
const started = Date.now();

function problem(block: Block, text: string): void {
  const list = problems.get(block) ?? [];
  list.push(text);
  problems.set(block, list);
}

beforeAll(async () => {
  // Under the repository, so that the build's dependencies (undici, zod…) and the blocks' own (vitest,
  // msw, better-sqlite3) resolve from its node_modules. .tmp/ is ignored by git and eslint.
  mkdirSync(join(ROOT, ".tmp"), { recursive: true });
  tmp = mkdtempSync(join(ROOT, ".tmp", "docs-snippets-"));
  const pkg = join(tmp, "node_modules", "runhooks");
  const env = childEnv();

  // 1. The build, as users get it.
  const tsup = join(ROOT, "node_modules/tsup/dist/cli-default.js");
  const build = await run([tsup, "--out-dir", join(pkg, "dist"), "--silent"], {
    cwd: ROOT,
    env,
    timeoutMs: 60_000,
  });
  if (build.code !== 0) throw new Error(`tsup failed:\n${build.output}`);
  writeFile(join(pkg, "package.json"), readFileSync(join(ROOT, "package.json"), "utf8"));
  notes.push(`build ${build.ms} ms`);

  // 2. One program over every module, as written.
  const checkStarted = Date.now();
  const check = join(tmp, "check");
  const files = new Map<string, SnippetModule>();
  writeFile(join(check, "_context.ts"), CONTEXT_SOURCE);
  writeFile(join(check, "_stubs.d.ts"), THIRD_PARTY_STUBS);
  const roots = [join(check, "_context.ts"), join(check, "_stubs.d.ts")];
  for (const [file, modules] of Object.entries(LOCAL_MODULES)) {
    for (const [name, source] of Object.entries(modules)) {
      writeFile(join(check, slugOf(file), name), source());
      roots.push(join(check, slugOf(file), name));
    }
  }
  for (const module of MODULES) {
    const path = join(check, module.path);
    writeFile(path, module.source);
    files.set(path, module);
    roots.push(path);
  }
  for (const diagnostic of typeCheck(roots, compilerOptions(ROOT))) {
    const module = diagnostic.file ? files.get(diagnostic.file.fileName) : undefined;
    const position = diagnostic.file?.getLineAndCharacterOfPosition(diagnostic.start ?? 0);
    if (!module || !position) {
      const where = diagnostic.file ? `${diagnostic.file.fileName}:${(position?.line ?? 0) + 1}` : "";
      throw new Error(
        `outside the blocks (context, stubs, LOCAL_MODULES), a type error: ${where} ${formatDiagnostic(diagnostic)}`,
      );
    }
    const origin = module.origins[position.line];
    const block = origin?.block ?? module.blocks[0]!;
    const where = origin ? `${block.file}:${origin.line}` : `${block.file}:${block.fence} (prelude)`;
    problem(block, `${where} (block ${block.index}): ${formatDiagnostic(diagnostic)}`);
  }
  notes.push(`type-check ${Date.now() - checkStarted} ms`);

  // 3. The runs, against a loopback receiver.
  const runStarted = Date.now();
  receiver = await startReceiver();
  const runDir = join(tmp, "run");
  writeFile(join(runDir, "package.json"), `{ "type": "module" }\n`);
  writeFile(join(runDir, "_run.js"), RUN_ENTRY);
  writeFile(join(runDir, "_context.js"), transpile(CONTEXT_SOURCE, "_context.ts"));
  for (const [file, modules] of Object.entries(LOCAL_MODULES)) {
    for (const [name, source] of Object.entries(modules))
      writeFile(join(runDir, slugOf(file), name.replace(/\.ts$/, ".js")), transpile(source(), name));
  }
  const runnable = MODULES.filter((module) => module.noRun === undefined && sqliteSkip(module) === undefined);
  for (const module of runnable) {
    const { source, changes } = forRun(module, `${receiver.url}/${module.key}`);
    if (changes.length > 0)
      notes.push(`${moduleLabel(module)} runs with: ${[...new Set(changes)].join("; ")}`);
    writeFile(join(runDir, module.path.replace(/\.ts$/, ".js")), transpile(source, module.path));
  }
  const base = receiver.url;
  const scripts = runnable.filter((module) => !module.testStyle);
  const tests = runnable.filter((module) => module.testStyle);
  const [scriptResults, testResults] = await Promise.all([
    pool(
      scripts.map(
        (module) => () =>
          run(["_run.js", module.path.replace(/\.ts$/, ".js")], {
            cwd: runDir,
            env: { ...env, SNIPPET_RECEIVER: `${base}/${module.key}` },
            timeoutMs: RUN_TIMEOUT_MS,
          }),
      ),
      2,
    ),
    runVitest(runDir, tests, { ...env, SNIPPET_RECEIVER: `${base}/vitest` }),
  ]);
  scripts.forEach((module, i) => {
    ran.set(module, "node");
    judge(module, scriptResults[i]!);
  });
  for (const module of tests) {
    ran.set(module, "vitest");
    const failure = testResults.get(module);
    if (failure !== undefined)
      problem(module.blocks.at(-1)!, `${moduleLabel(module)}: the run failed:\n${failure}`);
  }
  notes.push(`runs ${Date.now() - runStarted} ms`);
}, 120_000);

afterAll(async () => {
  await receiver?.close();
  if (tmp !== undefined && process.env.SNIPPETS_KEEP === undefined)
    rmSync(tmp, { recursive: true, force: true });
  console.log(summary());
});

for (const file of FILES) {
  const blocks = BLOCKS.get(file) ?? [];
  if (blocks.length === 0) continue;
  describe(file, () => {
    for (const block of blocks) {
      const title = `${blockLabel(block)}${mode(block)}`;
      if (block.skip !== undefined) {
        // Not it.skip (CI fails on skipped tests): a skipped block must not be TypeScript at all, or it
        // could be type-checked (no-run) instead.
        it(title, () => {
          expect(
            syntaxErrors(block.lines.join("\n")),
            `${blockLabel(block)} parses: drop "skip"`,
          ).not.toEqual([]);
        });
        continue;
      }
      const known = KNOWN_BROKEN.get(`${block.file}#${block.index}`);
      it(title, () => {
        const found = problems.get(block) ?? [];
        if (known === undefined) {
          expect(found).toEqual([]);
          return;
        }
        if (found.length === 0)
          throw new Error(
            `${blockLabel(block)} passes now: delete its KNOWN_BROKEN entry in test/docs/snippets.test.ts`,
          );
        for (const pattern of known) expect(found.join("\n")).toMatch(pattern);
        console.log(`known broken, to fix in ${block.file}:\n${found.join("\n")}`);
      });
    }
  });
}

it("finds the TypeScript blocks of the README and the docs, and every marker names a known block", () => {
  expect(MODULES.length).toBeGreaterThan(10);
  expect(BLOCKS.get("README.md")?.length).toBeGreaterThan(0);
  for (const [key] of KNOWN_BROKEN) {
    const [file, index] = key.split("#");
    expect(BLOCKS.get(file ?? "")?.[Number(index) - 1], key).toBeDefined();
  }
});

function mode(block: Block): string {
  if (block.skip !== undefined) return ` — skip: ${block.skip} (checked only that it is not TypeScript)`;
  const module = MODULES.find((candidate) => candidate.blocks.includes(block))!;
  const chain = module.blocks.length > 1 ? ` as part of ${moduleLabel(module)}` : "";
  if (module.noRun !== undefined) return ` — type-checked, no-run: ${module.noRun}${chain}`;
  const native = sqliteSkip(module);
  if (native !== undefined) return ` — type-checked; not run here: ${native}${chain}`;
  return ` — type-checked and run${module.testStyle ? " by vitest" : ""}${chain}`;
}

/** A node run: its exit, and the events its comments promise. */
function judge(module: SnippetModule, result: ProcessResult): void {
  const last = module.blocks.at(-1)!;
  if (result.timedOut)
    problem(last, `${moduleLabel(module)}: did not finish within ${RUN_TIMEOUT_MS} ms:\n${result.output}`);
  else if (result.code !== 0)
    problem(last, `${moduleLabel(module)}: exited with ${result.code}:\n${result.output}`);
  const got = (receiver?.requests ?? [])
    .filter((request) => request.path.startsWith(`/${module.key}/`))
    .map((request) => eventType(request.body));
  notes.push(
    `  ${moduleLabel(module)}: ${result.ms} ms${got.length > 0 ? `, received ${got.join(", ")}` : ""}`,
  );
  for (const [block, line, events] of promises(module)) {
    let at = 0;
    for (const event of got) if (event === events[at]) at++;
    if (at < events.length)
      problem(
        block,
        `${block.file}:${line} (block ${block.index}): the comment promises ${events.join(", ")}; ` +
          `the receiver got ${got.join(", ") || "nothing"}`,
      );
  }
}

/** `// → benchmark_passed, then finished`: the events named after an arrow comment. */
function promises(module: SnippetModule): [Block, number, string[]][] {
  const found: [Block, number, string[]][] = [];
  module.origins.forEach((origin, n) => {
    const comment = /\/\/\s*→(.*)$/.exec(module.source.split("\n")[n] ?? "");
    if (!origin || !comment) return;
    const events = (comment[1]!.match(/\b[a-z_]+\b/g) ?? []).filter((word) =>
      (EVENT_NAMES as readonly string[]).includes(word),
    );
    if (events.length > 0) found.push([origin.block, origin.line, events]);
  });
  return found;
}

function eventType(body: string): string {
  try {
    const type = (JSON.parse(body) as { type?: unknown }).type;
    return typeof type === "string" ? type : "(no type)";
  } catch {
    return "(not JSON)";
  }
}

interface VitestReport {
  testResults: {
    name: string;
    status: string;
    message?: string;
    assertionResults: { fullName: string; status: string; failureMessages: string[] }[];
  }[];
}

/** One vitest child over the test-style modules: what went wrong in each (absent: nothing). */
async function runVitest(
  runDir: string,
  modules: SnippetModule[],
  env: NodeJS.ProcessEnv,
): Promise<Map<SnippetModule, string>> {
  const failures = new Map<SnippetModule, string>();
  if (modules.length === 0) return failures;
  const paths = modules.map((module) => module.path.replace(/\.ts$/, ".js"));
  writeFile(
    join(runDir, "vitest.config.mjs"),
    `export default { test: { include: ${JSON.stringify(paths)}, testTimeout: ${RUN_TIMEOUT_MS} } };\n`,
  );
  const report = join(runDir, "vitest.json");
  const result = await run(
    [
      join(ROOT, "node_modules/vitest/vitest.mjs"),
      "run",
      "--config",
      "vitest.config.mjs",
      "--root",
      ".",
      "--reporter=json",
      `--outputFile=${report}`,
    ],
    { cwd: runDir, env, timeoutMs: 30_000 },
  );
  notes.push(`  vitest over ${modules.map(moduleLabel).join(", ")}: ${result.ms} ms`);
  let parsed: VitestReport | undefined;
  try {
    parsed = JSON.parse(readFileSync(report, "utf8")) as VitestReport;
  } catch {
    parsed = undefined;
  }
  modules.forEach((module, i) => {
    const file = parsed?.testResults.find((entry) => entry.name === join(runDir, paths[i]!));
    if (!file) {
      failures.set(
        module,
        `vitest did not report it (exit ${result.code}${result.timedOut ? ", timed out" : ""}):\n${result.output}`,
      );
      return;
    }
    const failed = file.assertionResults.filter((test) => test.status === "failed");
    if (file.status !== "passed" || failed.length > 0)
      failures.set(
        module,
        [file.message ?? "", ...failed.map((test) => `${test.fullName}: ${test.failureMessages.join("\n")}`)]
          .filter(Boolean)
          .join("\n"),
      );
  });
  return failures;
}

/** The environment of the children: not the parent vitest's own variables; the tokens the docs read. */
function childEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith("VITEST")) env[key] = value;
  env.ADMIN_TOKEN = randomBytes(32).toString("base64url");
  env.WEBHOOK_SECRET = generateSecret();
  return env;
}

function summary(): string {
  const rows = FILES.filter((file) => (BLOCKS.get(file)?.length ?? 0) > 0).map((file) => {
    const blocks = BLOCKS.get(file) ?? [];
    const moduleOf = (block: Block) => MODULES.find((module) => module.blocks.includes(block));
    const checked = blocks.filter((block) => block.skip === undefined);
    const runs = checked.filter((block) => ran.has(moduleOf(block)!));
    const noRun = checked.filter((block) => moduleOf(block)?.noRun !== undefined);
    const failing = checked.filter((block) => (problems.get(block) ?? []).length > 0);
    return `${file.padEnd(26)} found ${blocks.length}, type-checked ${checked.length}, run ${runs.length}, no-run ${noRun.length}, skipped ${blocks.length - checked.length}${failing.length > 0 ? `, failing ${failing.length}` : ""}`;
  });
  return ["docs snippets:", ...rows, ...notes, `total ${Date.now() - started} ms`].join("\n");
}
