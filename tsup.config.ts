import { readFileSync } from "node:fs";
import { defineConfig } from "tsup";

const { version } = JSON.parse(readFileSync("./package.json", "utf8")) as { version: string };

export default defineConfig({
  entry: {
    index: "src/index.ts",
    "testing/index": "src/testing/index.ts",
    "admin/index": "src/admin/index.ts",
    "formatters/index": "src/formatters/index.ts",
    "sqlite/index": "src/backends/sqlite/index.ts",
    "postgres/index": "src/backends/postgres/index.ts",
  },
  format: ["esm"],
  target: "node20",
  platform: "node",
  dts: true,
  clean: true,
  sourcemap: true,
  splitting: true,
  treeshake: true,
  define: { __RUNHOOKS_VERSION__: JSON.stringify(version) },
});
