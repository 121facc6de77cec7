import { readFileSync } from "node:fs";
import { expect, it } from "vitest";
import { formatsDoc } from "../../scripts/formats-doc.js";

it("docs/formats.md matches what the formatters produce (run npm run docs:formats)", () => {
  expect(readFileSync(new URL("../../docs/formats.md", import.meta.url), "utf8")).toBe(formatsDoc());
});
