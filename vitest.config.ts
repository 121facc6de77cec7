import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

const { version } = JSON.parse(readFileSync("./package.json", "utf8")) as { version: string };

export default defineConfig({
  define: { __RUNHOOKS_VERSION__: JSON.stringify(version) },
  // As tsconfig.json's paths: the package's own name means its sources here (the examples use it).
  resolve: {
    alias: [
      { find: /^runhooks$/, replacement: fileURLToPath(new URL("./src/index.ts", import.meta.url)) },
      {
        find: /^runhooks\/sqlite$/,
        replacement: fileURLToPath(new URL("./src/backends/sqlite/index.ts", import.meta.url)),
      },
      {
        find: /^runhooks\/postgres$/,
        replacement: fileURLToPath(new URL("./src/backends/postgres/index.ts", import.meta.url)),
      },
      {
        find: /^runhooks\/(testing|admin|formatters)$/,
        replacement: fileURLToPath(new URL("./src/$1/index.ts", import.meta.url)),
      },
    ],
  },
  test: {
    // The examples' tests run too: each example is exercised against loopback in CI. So do the
    // packages' (artillery-plugin-runhooks: a real Artillery, installed by scripts/artillery.sh).
    include: ["test/**/*.test.ts", "examples/**/*.test.ts", "packages/*/test/**/*.test.ts"],
    // Tests start loopback servers; keep parallelism modest on a 2-core machine.
    pool: "forks",
    testTimeout: 20_000,
  },
});
