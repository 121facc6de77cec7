/**
 * A real Artillery, run as a user runs it, for the plugin's tests.
 *
 * - Artillery itself is installed once into a scratch folder by `bash scripts/artillery.sh install`
 *   ($RUNHOOKS_TEST_ARTILLERY, else ${TMPDIR:-/tmp}/runhooks-artillery): ~470 MB that has no place in
 *   this repository's devDependencies. Without it the tests are skipped, saying that command.
 * - The plugin and runhooks are built from the sources (tsup, the packages' own configs, without
 *   declarations) into a fresh project folder per test file: <project>/node_modules/runhooks and
 *   <project>/node_modules/artillery-plugin-runhooks, each with its manifest as published, runhooks'
 *   dependencies linked to the repository's. So the plugin resolves `runhooks` through its exports map
 *   as in a user's node_modules, and nothing is stale (a symlink to the repository would use whatever
 *   dist/ was last built).
 * - Artillery finds the plugin as it finds a globally installed one: by its bare name, on NODE_PATH
 *   (through the plugin's exports map, under CommonJS conditions). It runs on this test's Node
 *   (process.execPath), so every CI leg runs it on its own Node.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build, type Options } from "tsup";
import coreConfig from "../../../../tsup.config.js";
import pluginConfig from "../../tsup.config.js";

const ROOT = fileURLToPath(new URL("../../../../", import.meta.url));
const PLUGIN = fileURLToPath(new URL("../../", import.meta.url));

/** The folder Artillery is installed in (scripts/artillery.sh's). */
export const ARTILLERY_DIR = process.env["RUNHOOKS_TEST_ARTILLERY"] ?? join(tmpdir(), "runhooks-artillery");
const BIN = join(ARTILLERY_DIR, "node_modules", "artillery", "bin", "run");

/** Why the Artillery tests cannot run here, with the command that fixes it; undefined when they can. */
export const ARTILLERY_SKIP = existsSync(BIN)
  ? undefined
  : `needs Artillery: run \`bash scripts/artillery.sh install\` (or set RUNHOOKS_TEST_ARTILLERY to a folder with artillery in node_modules); not found at ${BIN}`;

/** Artillery's installed version. */
export function artilleryVersion(): string {
  const manifest = join(ARTILLERY_DIR, "node_modules", "artillery", "package.json");
  return (JSON.parse(readFileSync(manifest, "utf8")) as { version: string }).version;
}

/** Builds runhooks and the plugin into a new project folder (see above) and returns its path. */
export async function installProject(): Promise<string> {
  const project = mkdtempSync(join(tmpdir(), "runhooks-artillery-test-"));
  const modules = join(project, "node_modules");
  await buildPackage(ROOT, coreConfig, join(modules, "runhooks"));
  await buildPackage(PLUGIN, pluginConfig, join(modules, "artillery-plugin-runhooks"));
  const core = manifest(ROOT);
  for (const dependency of Object.keys(core.dependencies ?? {})) {
    const link = join(modules, dependency);
    mkdirSync(dirname(link), { recursive: true });
    symlinkSync(join(ROOT, "node_modules", dependency), link, "dir");
  }
  return project;
}

type Manifest = Record<string, unknown> & { dependencies?: Record<string, string> };

function manifest(dir: string): Manifest {
  return JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as Manifest;
}

async function buildPackage(dir: string, config: unknown, out: string): Promise<void> {
  const options = config as Options;
  if (typeof options !== "object" || Array.isArray(options.entry) || !options.entry)
    throw new Error(`expected ${dir}tsup.config.ts to export one options object with named entries`);
  const entry = Object.fromEntries(Object.entries(options.entry).map(([k, v]) => [k, join(dir, v)]));
  await build({ ...options, config: false, entry, outDir: join(out, "dist"), dts: false, silent: true });
  // The fields that decide how the package resolves and what it needs, as published.
  const fields = ["name", "version", "type", "exports", "main", "types", "dependencies", "peerDependencies"];
  const source = manifest(dir);
  writeFileSync(
    join(out, "package.json"),
    JSON.stringify(Object.fromEntries(fields.map((f) => [f, source[f]]))),
  );
}

/** How an Artillery process ended. */
export interface ArtilleryResult {
  code: number | null;
  stdout: string;
  stderr: string;
  /** Date.now() when the process exited. */
  exitedAt: number;
  /** Milliseconds from spawn to exit. */
  ms: number;
}

/** A running `artillery run`. */
export interface ArtilleryProcess {
  /** Sends a signal to Artillery (its main process). */
  kill(signal: NodeJS.Signals): void;
  /** Resolves when it exits (after 60 s it is killed). */
  readonly result: Promise<ArtilleryResult>;
}

/**
 * Writes `script` (YAML) into the project as `<name>.yml` and runs `artillery run <name>.yml --output
 * <name>.json --quiet` on this Node, with `env` added.
 */
export function runArtillery(
  project: string,
  name: string,
  script: string,
  env: Record<string, string> = {},
) {
  writeFileSync(join(project, `${name}.yml`), script);
  const started = Date.now();
  const child = spawn(process.execPath, [BIN, "run", `${name}.yml`, "--output", `${name}.json`, "--quiet"], {
    cwd: project,
    env: {
      ...cleanEnv(),
      ARTILLERY_DISABLE_TELEMETRY: "true",
      NODE_PATH: join(project, "node_modules"),
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
  const result = new Promise<ArtilleryResult>((resolve) => {
    child.on("close", (code) => {
      clearTimeout(timer);
      const exitedAt = Date.now();
      resolve({ code, stdout, stderr, exitedAt, ms: exitedAt - started });
    });
  });
  return { kill: (signal: NodeJS.Signals) => child.kill(signal), result };
}

/** Artillery's own report of a finished run (`--output`). */
export interface ArtilleryReport {
  aggregate: {
    counters: Record<string, number>;
    summaries: Record<string, Record<string, number>>;
    rates: Record<string, number>;
  };
}

export function readReport(project: string, name: string): ArtilleryReport {
  return JSON.parse(readFileSync(join(project, `${name}.json`), "utf8")) as ArtilleryReport;
}

/** The environment without the test runner's own (its loaders must not reach Artillery). */
function cleanEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value === undefined || key === "NODE_OPTIONS" || key === "NODE_PATH" || key.startsWith("VITEST"))
      continue;
    if (key === "DEBUG" || key === "LOCAL_WORKER_ID" || key === "WORKER_ID" || key.startsWith("RUNHOOKS_RUN"))
      continue;
    env[key] = value;
  }
  return env;
}

/**
 * The system under test: node:http on 127.0.0.1, answering every `every`-th request of each path
 * with 503 and the others with 200, after a few milliseconds.
 */
export async function startTarget(every = 7): Promise<{ url: string; close(): Promise<void> }> {
  const counts = new Map<string, number>();
  const server: Server = createServer((request, response) => {
    const path = request.url ?? "/";
    const n = (counts.get(path) ?? 0) + 1;
    counts.set(path, n);
    setTimeout(() => response.writeHead(n % every === 0 ? 503 : 200).end("ok"), 3);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
