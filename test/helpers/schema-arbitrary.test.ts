import { Ajv2020 } from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { buildOpenApiDocument, openApiDocument } from "../../src/admin/openapi.js";
import { BUILT_IN_FORMATS } from "../../src/formatters/registry.js";
import { invalidArbitrary, validArbitrary, type SchemaArbitraryOptions } from "./schema-arbitrary.js";

// SCHEMA_ARBITRARY_RUNS=5000 for a longer hunt than the default run.
const RUNS = Number(process.env.SCHEMA_ARBITRARY_RUNS ?? 300);
const URIS = ["http://127.0.0.1:9/a", "http://127.0.0.1:9/b?x=1"];
const formats = { uri: fc.constantFrom(...URIS) };
const ref = (name: string): { $ref: string } => ({ $ref: `#/components/schemas/${name}` });
const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

type Document = SchemaArbitraryOptions["document"];

/** An OpenAPI document's component schemas, plus its parameters' schemas as `param.<in>.<name>`. */
function schemasOf(openapi: unknown): Document {
  if (!isRecord(openapi) || !isRecord(openapi.components) || !isRecord(openapi.components.schemas)) {
    throw new Error("not an OpenAPI document with component schemas");
  }
  const schemas: Record<string, unknown> = { ...openapi.components.schemas };
  const paths = isRecord(openapi.paths) ? Object.values(openapi.paths) : [];
  for (const item of paths.filter(isRecord)) {
    for (const holder of [item, ...Object.values(item).filter(isRecord)]) {
      const parameters = Array.isArray(holder.parameters) ? (holder.parameters as unknown[]) : [];
      for (const p of parameters.filter(isRecord)) {
        schemas[`param.${String(p.in)}.${String(p.name)}`] = p.schema;
      }
    }
  }
  return { components: { schemas } };
}

// Every supported keyword, alone and combined, nested through $ref, allOf, items and properties.
const synthetic = {
  components: {
    schemas: {
      Slug: { type: "string", minLength: 2, maxLength: 12, pattern: "^[a-z][a-z0-9-]*$" },
      Secret: { type: ["string", "null"], pattern: "^whsec_", maxLength: 30 },
      WebhookId: { type: "string", pattern: "^[A-Za-z0-9_-]{1,256}$" },
      HeaderValue: { type: "string", maxLength: 300, pattern: "^[^\\r\\n\\u0000]*$", not: { const: "***" } },
      Url: {
        type: "string",
        format: "uri",
        maxLength: 2048,
        pattern: "^[hH][tT][tT][pP][sS]?://[^\\s/?#@\\\\]+([/?#][^\\s\\\\]*)?$",
        not: { pattern: "^[^/]*//[^/]*/\\*\\*\\*$" },
      },
      HeaderMap: {
        type: "object",
        maxProperties: 4,
        propertyNames: {
          maxLength: 20,
          pattern: "^[!#$%&'*+.^_`|~0-9A-Za-z-]+$",
          not: { pattern: "^([hH][oO][sS][tT]|[cC][oO][nN][nN][eE][cC][tT][iI][oO][nN])$" },
        },
        additionalProperties: ref("HeaderValue"),
      },
      Id: { type: "string", format: "uuid" },
      When: { type: "string", format: "date-time" },
      Day: { type: "string", format: "date" },
      Target: { type: "string", format: "uri", maxLength: 100 },
      Mixed: { enum: ["red", "green", 3, null, { a: [1] }] },
      Fixed: { const: { a: 1 } },
      Count: { type: "integer", minimum: 1, maximum: 10 },
      Ratio: { type: "number", exclusiveMinimum: 0, exclusiveMaximum: 1 },
      Int32: { type: "integer", format: "int32" },
      Short: { type: ["string", "null"], maxLength: 3 },
      Tags: { type: "array", items: ref("Slug"), minItems: 1, maxItems: 3, uniqueItems: true },
      Flags: { type: "array", items: { type: "boolean" }, uniqueItems: true },
      Matrix: { type: "array", items: { type: "array", items: ref("Count"), maxItems: 2 } },
      Headers: {
        type: ["object", "null"],
        additionalProperties: { type: "string", maxLength: 20 },
        propertyNames: { pattern: "^[A-Za-z-]+$", maxLength: 16 },
        maxProperties: 3,
      },
      Open: { type: "object", properties: { a: { type: "integer" }, b: { type: "boolean" } } },
      Sized: {
        type: "object",
        minProperties: 2,
        maxProperties: 3,
        additionalProperties: { type: "integer" },
      },
      NotReserved: { type: "string", maxLength: 8, not: { enum: ["admin", "root"] } },
      NoX: { type: "object", additionalProperties: false, properties: { x: false, y: { type: "string" } } },
      Combined: {
        allOf: [ref("Open"), { required: ["a"], properties: { c: { type: "string", minLength: 1 } } }],
      },
      Sealed: {
        allOf: [{ type: "object", additionalProperties: false, properties: { a: {}, b: {} } }],
        required: ["a"],
        properties: { a: { type: "string" } },
      },
      Mixed2: { type: ["integer", "string"], minimum: 5, maxLength: 2 },
      KeyEnum: { type: "object", propertyNames: { enum: ["a", "b", "c"] }, minProperties: 1 },
      NotB: {
        type: "object",
        properties: { kind: { enum: ["a", "b"] } },
        not: { required: ["kind"], properties: { kind: { const: "b" } } },
      },
      Thing: {
        type: "object",
        required: ["slug", "tags", "nested"],
        additionalProperties: false,
        properties: {
          slug: ref("Slug"),
          id: ref("Id"),
          tags: ref("Tags"),
          headers: ref("Headers"),
          mixed: ref("Mixed"),
          count: ref("Count"),
          target: ref("Target"),
          secret: ref("Secret"),
          nested: {
            type: "object",
            required: ["when"],
            additionalProperties: false,
            properties: { when: ref("When"), day: ref("Day"), ratio: ref("Ratio") },
          },
        },
      },
    },
  },
};

// The rules each synthetic schema must be seen breaking (substrings of `broken`).
const expectedRules: Record<keyof typeof synthetic.components.schemas, (string | RegExp)[]> = {
  Slug: ["wrong type", "minLength 2", "maxLength 12", "does not match pattern"],
  Secret: ["wrong type", "does not match pattern", "maxLength 30"],
  WebhookId: ["wrong type", "does not match pattern"],
  HeaderValue: [
    "wrong type",
    "longer than maxLength 300",
    "does not match pattern",
    'matches the schema under "not"',
  ],
  Url: ["wrong type", 'not a valid "uri"', "longer than maxLength 2048"],
  HeaderMap: [
    "wrong type",
    "over maxProperties 4",
    /breaks propertyNames: string longer than maxLength 20/,
    /breaks propertyNames: .* does not match pattern/,
    /breaks propertyNames: .* matches the schema under "not"/,
    /longer than maxLength 300 .* at \/./,
  ],
  Id: ["wrong type", 'not a valid "uuid"'],
  When: ["wrong type", 'not a valid "date-time"'],
  Day: ["wrong type", 'not a valid "date"'],
  Target: ["wrong type", 'not a valid "uri"'],
  Mixed: ["not one of the enum values"],
  Fixed: ["not the const value"],
  Count: ["wrong type", "below minimum 1", "above maximum 10"],
  Ratio: ["wrong type", "not above exclusiveMinimum 0", "not below exclusiveMaximum 1"],
  Int32: ["wrong type"],
  Short: ["wrong type", "maxLength 3"],
  Tags: [
    "wrong type",
    "under minItems 1",
    "over maxItems 3",
    "duplicate items",
    "at /0",
    /maxLength 12 .* at \/\d/,
  ],
  Flags: ["wrong type", "duplicate items"],
  Matrix: [/over maxItems 2 at \/\d/, /below minimum 1 at \/\d+\/\d/],
  Headers: ["wrong type", "over maxProperties 3", "breaks propertyNames", /maxLength 20 .* at \/./],
  Open: ["wrong type", "at /a", "at /b"],
  Sized: ["wrong type", "under minProperties 2", "over maxProperties 3"],
  NotReserved: ["wrong type", "maxLength 8", 'matches the schema under "not"'],
  NoX: ["wrong type", 'forbidden property "x"', "unknown property", "at /y"],
  Combined: ['required property "a" missing', "at /a", "at /c", "minLength 1"],
  Sealed: ['required property "a" missing', "unknown property", "at /a"],
  Mixed2: ["wrong type", "below minimum 5", "maxLength 2"],
  KeyEnum: ["wrong type", "under minProperties 1", "breaks propertyNames"],
  NotB: ["wrong type", 'matches the schema under "not"', "not one of the enum values"],
  Thing: [
    'required property "slug" missing',
    'required property "nested" missing',
    "unknown property",
    'required property "when" missing at /nested',
    "at /nested/when",
    "at /nested/ratio",
    "at /tags/",
    "at /headers",
    "at /target",
    "at /secret",
    "at /mixed",
  ],
};

const native = schemasOf(openApiDocument);
const predator = schemasOf(buildOpenApiDocument({ formats: BUILT_IN_FORMATS, compat: "predator" }));
const ajv = new Ajv2020({ strict: false, allErrors: true });
(addFormats as unknown as (a: Ajv2020) => void)(ajv);
ajv.addSchema({ $id: "synthetic", components: synthetic.components });
ajv.addSchema({ $id: "native", ...native });
ajv.addSchema({ $id: "predator", ...predator });
const validator = (id: string, name: string) => {
  const validate = ajv.getSchema(`${id}#/components/schemas/${name}`);
  if (!validate) throw new Error(`no schema ${name}`);
  return validate;
};
const roundTrip = (v: unknown): unknown => JSON.parse(JSON.stringify(v));

interface Arbitraries {
  valid: fc.Arbitrary<unknown>;
  invalid: fc.Arbitrary<{ value: unknown; broken: string }>;
}

/** Builds both arbitraries and checks, with Ajv, that valid values validate and invalid ones do not. */
function checkSchema(
  id: string,
  name: string,
  schema: unknown,
  options: SchemaArbitraryOptions,
): Arbitraries {
  const validate = validator(id, name);
  const arbitraries = { valid: validArbitrary(schema, options), invalid: invalidArbitrary(schema, options) };
  fc.assert(
    fc.property(arbitraries.valid, (value) => {
      expect(validate(value), `valid ${JSON.stringify(value)}: ${JSON.stringify(validate.errors)}`).toBe(
        true,
      );
      expect(validate(roundTrip(value)), "valid after a JSON round trip").toBe(true);
    }),
    { numRuns: RUNS },
  );
  fc.assert(
    fc.property(arbitraries.invalid, ({ value, broken }) => {
      expect(validate(value), `invalid (${broken}): ${JSON.stringify(value)}`).toBe(false);
      expect(validate(roundTrip(value)), `invalid after a JSON round trip (${broken})`).toBe(false);
    }),
    { numRuns: RUNS },
  );
  return arbitraries;
}

describe("schema-arbitrary on a synthetic document", () => {
  const options = { document: synthetic, formats };
  for (const [name, schema] of Object.entries(synthetic.components.schemas)) {
    it(`${name}: valid values validate, invalid ones do not, and every rule gets broken`, () => {
      checkSchema("synthetic", name, schema, options);
      const seen = fc
        .sample(invalidArbitrary(schema, options), { numRuns: 600, seed: 42 })
        .map((b) => b.broken);
      for (const rule of expectedRules[name as keyof typeof expectedRules]) {
        expect(
          seen.some((b) => (typeof rule === "string" ? b.includes(rule) : rule.test(b))),
          `${String(rule)} among ${[...new Set(seen)].slice(0, 40).join(" | ")}`,
        ).toBe(true);
      }
    });
  }

  it("generates uri values only from the override", () => {
    const targets = fc
      .sample(validArbitrary(ref("Thing"), options), { numRuns: 500, seed: 1 })
      .map((t) => (t as { target?: unknown }).target)
      .filter((t) => t !== undefined);
    expect(targets.length).toBeGreaterThan(0);
    for (const t of targets) expect(URIS).toContain(t);
  });

  it("sometimes includes optional properties and, on open objects, unknown keys", () => {
    const things = fc.sample(validArbitrary(ref("Thing"), options), { numRuns: 300, seed: 2 }) as Record<
      string,
      unknown
    >[];
    expect(things.some((t) => "id" in t)).toBe(true);
    expect(things.some((t) => !("id" in t))).toBe(true);
    const open = fc.sample(validArbitrary(ref("Open"), options), { numRuns: 300, seed: 3 }) as Record<
      string,
      unknown
    >[];
    expect(open.some((o) => Object.keys(o).some((k) => k !== "a" && k !== "b"))).toBe(true);
    expect(open.some((o) => Object.keys(o).every((k) => k === "a" || k === "b"))).toBe(true);
  });

  it("keeps strings short unless the schema needs more", () => {
    const strings = fc.sample(validArbitrary({ type: "string", maxLength: 2048 }, options), {
      numRuns: 300,
      seed: 4,
    }) as string[];
    expect(strings.filter((s) => s.length > 40).length).toBeLessThan(40);
    const long = fc.sample(invalidArbitrary({ type: "string", maxLength: 2048 }, options), {
      numRuns: 50,
      seed: 5,
    });
    expect(long.some((b) => typeof b.value === "string" && Array.from(b.value).length === 2049)).toBe(true);
  });

  it("throws clear errors at construction", () => {
    const noUri = { document: synthetic };
    expect(() => validArbitrary(ref("Target"), noUri)).toThrow(/format "uri".*options\.formats/);
    expect(() => invalidArbitrary(ref("Thing"), noUri)).toThrow(/format "uri"/);
    expect(() => invalidArbitrary({}, options)).toThrow(/no rule that can be broken/);
    expect(() => invalidArbitrary({ description: "anything" }, options)).toThrow(
      /no rule that can be broken/,
    );
    expect(() => validArbitrary({ type: "string", minLength: 3, maxLength: 2 }, options)).toThrow(
      /cannot generate valid values/,
    );
    expect(() => validArbitrary({ anyOf: [{ type: "string" }] }, options)).toThrow(
      /unsupported keyword "anyOf"/,
    );
    expect(() => validArbitrary({ type: "number", multipleOf: 2 }, options)).toThrow(/"multipleOf"/);
    expect(() => validArbitrary({ type: "string", format: "email" }, options)).toThrow(/format "email"/);
    expect(() => validArbitrary(ref("Missing"), options)).toThrow(/does not resolve/);
    const loop = { components: { schemas: { Node: { type: "object", properties: { next: ref("Node") } } } } };
    expect(() => validArbitrary(ref("Node"), { document: loop })).toThrow(/recursive \$ref/);
  });
});

/** Every string inside `v` that parses as a URL. */
function urlsIn(v: unknown): URL[] {
  if (typeof v === "string") return URL.canParse(v) ? [new URL(v)] : [];
  if (Array.isArray(v)) return v.flatMap(urlsIn);
  if (isRecord(v)) return Object.entries(v).flatMap(([k, x]) => [...urlsIn(k), ...urlsIn(x)]);
  return [];
}

for (const [id, document] of [
  ["native", native],
  ["predator", predator],
] as const) {
  describe(`schema-arbitrary on the admin API's OpenAPI document (${id})`, () => {
    const options = { document, formats };
    for (const [name, schema] of Object.entries(document.components.schemas)) {
      it(`${name}: valid values validate, invalid ones do not, no URL leaves 127.0.0.1:9`, () => {
        const { valid, invalid } = checkSchema(id, name, schema, options);
        const values = [
          ...fc.sample(valid, { numRuns: 200, seed: 6 }),
          ...fc.sample(invalid, { numRuns: 200, seed: 7 }).map((b) => b.value),
        ];
        // Only URL-formatted fields could carry a host; free-form strings are random, not hosts.
        const hosts = new Set(
          urlsIn(values)
            .filter((u) => u.protocol.startsWith("http"))
            .map((u) => u.host),
        );
        for (const host of hosts) expect(["127.0.0.1:9"]).toContain(host);
      });
    }
  });
}
