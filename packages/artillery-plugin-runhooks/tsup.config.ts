import { defineConfig } from "tsup";

// Built from this folder with the repository's tsup (`npm run build:plugin` at the root).
export default defineConfig({
  entry: { index: "src/index.ts" },
  format: ["esm"],
  target: "node20",
  platform: "node",
  dts: true,
  clean: true,
  sourcemap: true,
  // runhooks is a dependency, never bundled: tsconfig's paths map it to the repository's sources for
  // the type-check, and esbuild would otherwise follow them.
  external: ["runhooks", /^runhooks\//],
});
