import { readFileSync } from "node:fs";
import { defineConfig } from "vitest/config";

const { version } = JSON.parse(readFileSync("./package.json", "utf8")) as { version: string };

export default defineConfig({
  define: { __RUNHOOKS_VERSION__: JSON.stringify(version) },
  test: {
    // The examples' tests run too: each example is exercised against loopback in CI.
    include: ["test/**/*.test.ts", "examples/**/*.test.ts"],
    // Tests start loopback servers; keep parallelism modest on a 2-core machine.
    pool: "forks",
    testTimeout: 20_000,
  },
});
