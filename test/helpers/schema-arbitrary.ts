import fc from "fast-check";
import { fullFormats } from "ajv-formats/dist/formats.js";

/** Options of {@link validArbitrary} and {@link invalidArbitrary}. */
export interface SchemaArbitraryOptions {
  /** The document whose `#/components/schemas/...` $refs resolve. */
  document: { components: { schemas: Record<string, unknown> } };
  /**
   * Overrides by format: e.g. `{ uri: fc.constant("http://127.0.0.1:1234/x") }`. Tests must never generate
   * URLs to other hosts, so `format: "uri"` (and every format without a built-in generator) requires one.
   */
  formats?: Record<string, fc.Arbitrary<string>>;
}

/**
 * Values that are valid against `schema` (JSON Schema 2020-12, the subset an OpenAPI 3.1 document uses):
 * optional properties are sometimes present, open objects sometimes get a few unknown keys, strings stay
 * short (about 40 characters) unless the schema needs more.
 *
 * Throws at construction when the schema uses an unsupported keyword, a format without a generator, a
 * recursive $ref, or cannot be satisfied.
 */
export function validArbitrary(schema: unknown, options: SchemaArbitraryOptions): fc.Arbitrary<unknown> {
  const ctx = createContext(options);
  const norm = normalize(ctx, schema, "(schema)");
  if (norm === false) throw new Error("schema-arbitrary: the schema is `false`, no value is valid");
  try {
    return valid(ctx, norm);
  } catch (error) {
    if (error instanceof Unsatisfiable) {
      throw new Error(`schema-arbitrary: cannot generate valid values: ${error.message}`, { cause: error });
    }
    throw error;
  }
}

/**
 * Values that are invalid against `schema`, each with a description of the one rule it breaks and where
 * (e.g. `required property "url" missing at (root)`, `string longer than maxLength 2048 at /url`). Each is
 * built from a valid value by breaking one rule at one place, top level or nested; every breakable rule
 * of the schema is equally likely.
 *
 * Throws at construction when the schema has no rule that can be broken while the rest stays valid
 * (e.g. `{}`), and for the same reasons as {@link validArbitrary}.
 */
export function invalidArbitrary(
  schema: unknown,
  options: SchemaArbitraryOptions,
): fc.Arbitrary<{ value: unknown; broken: string }> {
  const ctx = createContext(options);
  const norm = normalize(ctx, schema, "(schema)");
  if (norm === false) return anyJson.map((value) => ({ value, broken: "any value (the schema is false)" }));
  const list = breakers(ctx, norm, false);
  if (list.length === 0) {
    throw new Error(
      `schema-arbitrary: the schema at ${norm.where} has no rule that can be broken while the rest stays valid`,
    );
  }
  return fc.oneof(...list).map((b) => ({ value: b.value, broken: `${b.rule} at ${pointer(b.path)}` }));
}

// Generated strings, arrays and open objects stay small unless the schema needs more: tests stay fast.
const STRING_CAP = 40;
const ARRAY_CAP = 4;
const EXTRA_KEYS_MAX = 3;
// Construction-time probes (is a filter viable, how many distinct values exist) use a fixed seed so a
// schema behaves the same on every run.
const PROBE_RUNS = 200;
const PROBE_BATCH = 10;
const PROBE_SEED = 20_240_601;
const PROBE_MIN_HITS = 10;
const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;

type JsonType = "null" | "boolean" | "integer" | "number" | "string" | "array" | "object";
const JSON_TYPES: readonly JsonType[] = ["null", "boolean", "integer", "number", "string", "array", "object"];

interface Pattern {
  source: string;
  re: RegExp;
}

/** A schema with $ref and allOf resolved, in a shape the generators can read directly. */
interface Norm {
  where: string;
  types: ReadonlySet<JsonType> | undefined;
  enum: readonly unknown[] | undefined;
  isConst: boolean;
  minLength: number;
  maxLength: number | undefined;
  patterns: readonly Pattern[];
  format: string | undefined;
  minimum: number | undefined;
  maximum: number | undefined;
  exclusiveMinimum: number | undefined;
  exclusiveMaximum: number | undefined;
  items: Norm | undefined;
  minItems: number;
  maxItems: number | undefined;
  uniqueItems: boolean;
  properties: ReadonlyMap<string, Norm | false>;
  required: ReadonlySet<string>;
  additional: Norm | false | undefined;
  propertyNames: Norm | undefined;
  minProperties: number;
  maxProperties: number | undefined;
  nots: readonly Norm[];
}

interface Broken {
  value: unknown;
  rule: string;
  path: readonly (string | number)[];
}
type Breaker = fc.Arbitrary<Broken>;

interface Context {
  document: unknown;
  formats: Readonly<Record<string, fc.Arbitrary<string>>>;
  refs: Map<string, Norm | false>;
  resolving: Set<string>;
  valid: WeakMap<Norm, fc.Arbitrary<unknown>>;
  hosts: Map<string, ReadonlySet<string>>;
  strings: Map<string, fc.Arbitrary<string> | Unsatisfiable>;
  breakers: WeakMap<Norm, Breaker[]>;
  keyBreakers: WeakMap<Norm, Breaker[]>;
}

/** A schema (or a variant a breaker needs) that no value satisfies; callers skip or report it. */
class Unsatisfiable extends Error {}

/** The test's generator for a format, if it gave one (own keys only: "toString" is no format). */
function override(ctx: Context, format: string): fc.Arbitrary<string> | undefined {
  return Object.hasOwn(ctx.formats, format) ? ctx.formats[format] : undefined;
}

function createContext(options: SchemaArbitraryOptions): Context {
  return {
    document: options.document,
    formats: options.formats ?? {},
    refs: new Map(),
    resolving: new Set(),
    valid: new WeakMap(),
    hosts: new Map(),
    strings: new Map(),
    breakers: new WeakMap(),
    keyBreakers: new WeakMap(),
  };
}

// ---------------------------------------------------------------------------------------------------
// Normalization

const KEYWORDS = new Set(
  [
    "type enum const",
    "minLength maxLength pattern format",
    "minimum maximum exclusiveMinimum exclusiveMaximum",
    "items minItems maxItems uniqueItems",
    "properties required additionalProperties propertyNames minProperties maxProperties",
    "not $ref allOf",
  ]
    .join(" ")
    .split(" "),
);
// Annotations do not change which values are valid.
const ANNOTATIONS = new Set(
  [
    "title description default examples example deprecated readOnly writeOnly $comment $schema $defs",
    "contentMediaType contentEncoding discriminator xml externalDocs",
  ]
    .join(" ")
    .split(" "),
);
const BUILTIN_FORMATS = new Set(["uuid", "date-time", "date"]);

function emptyNorm(where: string): Norm {
  return {
    where,
    types: undefined,
    enum: undefined,
    isConst: false,
    minLength: 0,
    maxLength: undefined,
    patterns: [],
    format: undefined,
    minimum: undefined,
    maximum: undefined,
    exclusiveMinimum: undefined,
    exclusiveMaximum: undefined,
    items: undefined,
    minItems: 0,
    maxItems: undefined,
    uniqueItems: false,
    properties: new Map(),
    required: new Set(),
    additional: undefined,
    propertyNames: undefined,
    minProperties: 0,
    maxProperties: undefined,
    nots: [],
  };
}

function isUnconstrained(n: Norm): boolean {
  return (
    n.types === undefined &&
    n.enum === undefined &&
    n.minLength === 0 &&
    n.maxLength === undefined &&
    n.patterns.length === 0 &&
    n.format === undefined &&
    n.minimum === undefined &&
    n.maximum === undefined &&
    n.exclusiveMinimum === undefined &&
    n.exclusiveMaximum === undefined &&
    n.items === undefined &&
    n.minItems === 0 &&
    n.maxItems === undefined &&
    !n.uniqueItems &&
    n.properties.size === 0 &&
    n.required.size === 0 &&
    n.additional === undefined &&
    n.propertyNames === undefined &&
    n.minProperties === 0 &&
    n.maxProperties === undefined &&
    n.nots.length === 0
  );
}

/** `undefined` stands for "anything": keeps generators from building needless machinery for `{}`. */
function orAny(n: Norm): Norm | undefined {
  return isUnconstrained(n) ? undefined : n;
}

function normalize(ctx: Context, raw: unknown, where: string): Norm | false {
  if (raw === true) return emptyNorm(where);
  if (raw === false) return false;
  if (!isRecord(raw)) throw new Error(`schema-arbitrary: ${where} is not a schema (an object or a boolean)`);
  for (const key of Object.keys(raw)) {
    if (!KEYWORDS.has(key) && !ANNOTATIONS.has(key) && !key.startsWith("x-")) {
      throw new Error(`schema-arbitrary: unsupported keyword "${key}" at ${where}`);
    }
  }
  const n = emptyNorm(where);

  if (raw.type !== undefined) {
    const list = typeof raw.type === "string" ? [raw.type] : raw.type;
    if (!Array.isArray(list))
      throw new Error(`schema-arbitrary: "type" at ${where} must be a string or an array`);
    const types = new Set<JsonType>();
    for (const t of list) {
      const type = JSON_TYPES.find((known) => known === t);
      if (type === undefined) throw new Error(`schema-arbitrary: unknown type ${show(t)} at ${where}`);
      types.add(type);
    }
    n.types = types;
  }
  if (raw.enum !== undefined) {
    if (!Array.isArray(raw.enum)) throw new Error(`schema-arbitrary: "enum" at ${where} must be an array`);
    n.enum = raw.enum as unknown[];
  }
  if ("const" in raw) {
    const value = raw.const;
    n.enum = n.enum === undefined ? [value] : n.enum.filter((e) => jsonEqual(e, value));
    n.isConst = true;
    if (n.enum.length === 0) return false;
  }

  n.minLength = count(raw, "minLength", where) ?? 0;
  n.maxLength = count(raw, "maxLength", where);
  if (raw.pattern !== undefined) {
    if (typeof raw.pattern !== "string")
      throw new Error(`schema-arbitrary: "pattern" at ${where} must be a string`);
    n.patterns = [compilePattern(raw.pattern, where)];
  }
  if (raw.format !== undefined) {
    if (typeof raw.format !== "string")
      throw new Error(`schema-arbitrary: "format" at ${where} must be a string`);
    n.format = raw.format;
    const appliesToStrings = n.types === undefined || n.types.has("string");
    if (appliesToStrings && override(ctx, raw.format) === undefined && !BUILTIN_FORMATS.has(raw.format)) {
      const why =
        raw.format === "uri"
          ? ', e.g. fc.constant("http://127.0.0.1:1234/x"): tests must never generate URLs to other hosts'
          : "";
      throw new Error(
        `schema-arbitrary: format "${raw.format}" at ${where} has no built-in generator: pass options.formats["${raw.format}"]${why}`,
      );
    }
  }

  n.minimum = finite(raw, "minimum", where);
  n.maximum = finite(raw, "maximum", where);
  n.exclusiveMinimum = finite(raw, "exclusiveMinimum", where);
  n.exclusiveMaximum = finite(raw, "exclusiveMaximum", where);

  if (raw.items !== undefined) {
    if (Array.isArray(raw.items)) {
      throw new Error(
        `schema-arbitrary: array-form "items" at ${where} is not JSON Schema 2020-12 (prefixItems)`,
      );
    }
    const items = normalize(ctx, raw.items, `${where}/items`);
    if (items === false) n.maxItems = 0;
    else n.items = orAny(items);
  }
  n.minItems = count(raw, "minItems", where) ?? 0;
  n.maxItems = minOf(n.maxItems, count(raw, "maxItems", where));
  if (raw.uniqueItems !== undefined) {
    if (typeof raw.uniqueItems !== "boolean") {
      throw new Error(`schema-arbitrary: "uniqueItems" at ${where} must be a boolean`);
    }
    n.uniqueItems = raw.uniqueItems;
  }

  if (raw.properties !== undefined) {
    if (!isRecord(raw.properties))
      throw new Error(`schema-arbitrary: "properties" at ${where} must be an object`);
    const properties = new Map<string, Norm | false>();
    for (const [key, sub] of Object.entries(raw.properties)) {
      properties.set(key, normalize(ctx, sub, `${where}/properties/${key}`));
    }
    n.properties = properties;
  }
  if (raw.required !== undefined) {
    if (!Array.isArray(raw.required) || !raw.required.every((k) => typeof k === "string")) {
      throw new Error(`schema-arbitrary: "required" at ${where} must be an array of strings`);
    }
    n.required = new Set(raw.required);
  }
  if (raw.additionalProperties !== undefined) {
    const additional = normalize(ctx, raw.additionalProperties, `${where}/additionalProperties`);
    n.additional = additional === false ? false : orAny(additional);
  }
  n.minProperties = count(raw, "minProperties", where) ?? 0;
  n.maxProperties = count(raw, "maxProperties", where);
  if (raw.propertyNames !== undefined) {
    const names = normalize(ctx, raw.propertyNames, `${where}/propertyNames`);
    if (names === false) n.maxProperties = 0;
    else n.propertyNames = orAny(names);
  }

  if (raw.not !== undefined) {
    const not = normalize(ctx, raw.not, `${where}/not`);
    // `not: false` holds for every value.
    if (not !== false) n.nots = [not];
  }

  let result: Norm | false = n;
  if (raw.allOf !== undefined) {
    if (!Array.isArray(raw.allOf)) throw new Error(`schema-arbitrary: "allOf" at ${where} must be an array`);
    for (const [i, sub] of raw.allOf.entries()) {
      const member = normalize(ctx, sub, `${where}/allOf/${i}`);
      result = result === false || member === false ? false : merge(result, member);
    }
  }
  if (raw.$ref !== undefined) {
    if (typeof raw.$ref !== "string")
      throw new Error(`schema-arbitrary: "$ref" at ${where} must be a string`);
    const target = resolveRef(ctx, raw.$ref, where);
    // In 2020-12 the siblings of $ref apply too, as if both were in an allOf.
    result = result === false || target === false ? false : merge(result, target);
  }
  return result;
}

function resolveRef(ctx: Context, ref: string, where: string): Norm | false {
  const cached = ctx.refs.get(ref);
  if (cached !== undefined) return cached;
  if (!ref.startsWith("#/")) {
    throw new Error(
      `schema-arbitrary: $ref "${ref}" at ${where}: only refs inside the document ("#/...") resolve`,
    );
  }
  if (ctx.resolving.has(ref))
    throw new Error(`schema-arbitrary: recursive $ref "${ref}" at ${where} is not supported`);
  let target: unknown = ctx.document;
  for (const segment of ref.slice(2).split("/")) {
    const key = decodeURIComponent(segment).replaceAll("~1", "/").replaceAll("~0", "~");
    target = isRecord(target) && Object.hasOwn(target, key) ? target[key] : undefined;
  }
  if (target === undefined) throw new Error(`schema-arbitrary: $ref "${ref}" at ${where} does not resolve`);
  ctx.resolving.add(ref);
  const norm = normalize(ctx, target, ref);
  ctx.resolving.delete(ref);
  ctx.refs.set(ref, norm);
  return norm;
}

function count(raw: Record<string, unknown>, key: string, where: string): number | undefined {
  const value = raw[key];
  if (value === undefined) return undefined;
  if (typeof value !== "number" || !Number.isInteger(value) || value < 0) {
    throw new Error(`schema-arbitrary: "${key}" at ${where} must be a non-negative integer`);
  }
  return value;
}

function finite(raw: Record<string, unknown>, key: string, where: string): number | undefined {
  const value = raw[key];
  if (value === undefined) return undefined;
  if (typeof value !== "number" || !Number.isFinite(value)) {
    throw new Error(`schema-arbitrary: "${key}" at ${where} must be a finite number`);
  }
  return value;
}

function compilePattern(source: string, where: string): Pattern {
  try {
    // Ajv compiles patterns with the "u" flag; so must we, or the two disagree on what matches.
    return { source, re: new RegExp(source, "u") };
  } catch (error) {
    throw new Error(`schema-arbitrary: invalid pattern ${show(source)} at ${where}: ${String(error)}`, {
      cause: error,
    });
  }
}

/** The schema that both `a` and `b` describe (allOf), or false when there is obviously none. */
function merge(a: Norm, b: Norm): Norm | false {
  let types: ReadonlySet<JsonType> | undefined = a.types ?? b.types;
  if (a.types !== undefined && b.types !== undefined) {
    const both = new Set<JsonType>();
    for (const t of a.types) {
      if (b.types.has(t)) both.add(t);
      else if (t === "integer" && b.types.has("number")) both.add("integer");
    }
    for (const t of b.types) if (t === "integer" && a.types.has("number")) both.add("integer");
    if (both.size === 0) return false;
    types = both;
  }
  let values = a.enum ?? b.enum;
  if (a.enum !== undefined && b.enum !== undefined) {
    const other = b.enum;
    values = a.enum.filter((x) => other.some((y) => jsonEqual(x, y)));
    if (values.length === 0) return false;
  }
  if (a.format !== undefined && b.format !== undefined && a.format !== b.format) {
    throw new Error(`schema-arbitrary: formats "${a.format}" and "${b.format}" combined at ${a.where}`);
  }

  const properties = new Map<string, Norm | false>();
  for (const key of new Set([...a.properties.keys(), ...b.properties.keys()])) {
    // A property that only one side names must still satisfy the other side's additionalProperties.
    const left = a.properties.has(key) ? a.properties.get(key) : a.additional;
    const right = b.properties.has(key) ? b.properties.get(key) : b.additional;
    properties.set(key, mergeOptional(left, right) ?? emptyNorm(`${a.where}/properties/${key}`));
  }
  const additional = mergeOptional(a.additional, b.additional);
  const names = mergeOptional(a.propertyNames, b.propertyNames);
  const items = mergeOptional(a.items, b.items);
  const merged: Norm = {
    where: a.where,
    types,
    enum: values,
    isConst: values !== undefined && values.length === 1 && (a.isConst || b.isConst),
    minLength: Math.max(a.minLength, b.minLength),
    maxLength: minOf(a.maxLength, b.maxLength),
    patterns: [...a.patterns, ...b.patterns],
    format: a.format ?? b.format,
    minimum: maxOf(a.minimum, b.minimum),
    maximum: minOf(a.maximum, b.maximum),
    exclusiveMinimum: maxOf(a.exclusiveMinimum, b.exclusiveMinimum),
    exclusiveMaximum: minOf(a.exclusiveMaximum, b.exclusiveMaximum),
    items: items === false ? undefined : items,
    minItems: Math.max(a.minItems, b.minItems),
    maxItems: items === false ? 0 : minOf(a.maxItems, b.maxItems),
    uniqueItems: a.uniqueItems || b.uniqueItems,
    properties,
    required: new Set([...a.required, ...b.required]),
    additional,
    propertyNames: names === false ? undefined : names,
    minProperties: Math.max(a.minProperties, b.minProperties),
    maxProperties: names === false ? 0 : minOf(a.maxProperties, b.maxProperties),
    nots: [...a.nots, ...b.nots],
  };
  return merged;
}

/** Merge where `undefined` means "anything" and `false` means "nothing". */
function mergeOptional(a: Norm | false | undefined, b: Norm | false | undefined): Norm | false | undefined {
  if (a === false || b === false) return false;
  if (a === undefined) return b;
  if (b === undefined) return a;
  const merged = merge(a, b);
  return merged === false ? false : orAny(merged);
}

// ---------------------------------------------------------------------------------------------------
// Checking (the same semantics as Ajv with ajv-formats, for the supported subset)

function check(n: Norm, v: unknown): boolean {
  if (n.types !== undefined && ![...n.types].some((t) => hasType(t, v))) return false;
  if (n.enum !== undefined && !n.enum.some((e) => jsonEqual(e, v))) return false;
  if (typeof v === "string" && !checkString(stringConstraints(n), v)) return false;
  if (typeof v === "number" && !checkNumber(n, v)) return false;
  if (typeof v === "number" && n.format !== undefined && numberFormatValidator(n.format)?.(v) === false)
    return false;
  if (Array.isArray(v) && !checkArray(n, v)) return false;
  if (isRecord(v) && !checkObject(n, v)) return false;
  return n.nots.every((not) => !check(not, v));
}

function hasType(t: JsonType, v: unknown): boolean {
  switch (t) {
    case "null":
      return v === null;
    case "boolean":
      return typeof v === "boolean";
    case "integer":
      return typeof v === "number" && Number.isInteger(v);
    case "number":
      return typeof v === "number" && Number.isFinite(v);
    case "string":
      return typeof v === "string";
    case "array":
      return Array.isArray(v);
    case "object":
      return isRecord(v);
  }
}

interface StringConstraints {
  minLength: number;
  maxLength: number | undefined;
  patterns: readonly Pattern[];
  format: string | undefined;
}

function stringConstraints(n: Norm): StringConstraints {
  return { minLength: n.minLength, maxLength: n.maxLength, patterns: n.patterns, format: n.format };
}

function checkString(c: StringConstraints, s: string): boolean {
  const length = codePoints(s);
  if (length < c.minLength || (c.maxLength !== undefined && length > c.maxLength)) return false;
  if (!c.patterns.every((p) => p.re.test(s))) return false;
  const format = c.format === undefined ? undefined : formatValidator(c.format);
  return format === undefined || format(s);
}

function checkNumber(n: Bounds, v: number): boolean {
  return (
    (n.minimum === undefined || v >= n.minimum) &&
    (n.maximum === undefined || v <= n.maximum) &&
    (n.exclusiveMinimum === undefined || v > n.exclusiveMinimum) &&
    (n.exclusiveMaximum === undefined || v < n.exclusiveMaximum)
  );
}

function checkArray(n: Norm, v: readonly unknown[]): boolean {
  if (v.length < n.minItems || (n.maxItems !== undefined && v.length > n.maxItems)) return false;
  if (n.uniqueItems && new Set(v.map(canonical)).size !== v.length) return false;
  const items = n.items;
  return items === undefined || v.every((item) => check(items, item));
}

function checkObject(n: Norm, v: Record<string, unknown>): boolean {
  const entries = Object.entries(v);
  if (entries.length < n.minProperties) return false;
  if (n.maxProperties !== undefined && entries.length > n.maxProperties) return false;
  for (const key of n.required) if (!Object.hasOwn(v, key)) return false;
  for (const [key, value] of entries) {
    if (n.propertyNames !== undefined && !check(n.propertyNames, key)) return false;
    const sub = n.properties.has(key) ? n.properties.get(key) : n.additional;
    if (sub === false || (sub !== undefined && !check(sub, value))) return false;
  }
  return true;
}

const formatValidators = new Map<string, ((s: string) => boolean) | undefined>();

/** ajv-formats' own validator, so "valid" here means what Ajv with ajv-formats accepts. */
function formatValidator(name: string): ((s: string) => boolean) | undefined {
  if (formatValidators.has(name)) return formatValidators.get(name);
  const known: unknown = Object.hasOwn(fullFormats, name)
    ? (fullFormats as Record<string, unknown>)[name]
    : undefined;
  let validate: ((s: string) => boolean) | undefined;
  const definition = isRecord(known) && !(known instanceof RegExp) ? known : { validate: known };
  if (definition.type === undefined || definition.type === "string") {
    const inner = definition.validate;
    if (inner instanceof RegExp) validate = (s) => inner.test(s);
    else if (typeof inner === "string") validate = (s) => new RegExp(inner, "u").test(s);
    else if (typeof inner === "function") validate = (s) => (inner as (s: string) => unknown)(s) === true;
  }
  formatValidators.set(name, validate);
  return validate;
}

/** ajv-formats' validator for a numeric format (int32, int64, float, double). */
function numberFormatValidator(name: string): ((v: number) => boolean) | undefined {
  const known: unknown = Object.hasOwn(fullFormats, name)
    ? (fullFormats as Record<string, unknown>)[name]
    : undefined;
  if (!isRecord(known) || known.type !== "number" || typeof known.validate !== "function") return undefined;
  const validate = known.validate as (v: number) => unknown;
  return (v) => validate(v) === true;
}

// ---------------------------------------------------------------------------------------------------
// Valid values

// Keys that name Object.prototype members (valueOf, toString, ...) make Ajv's deep equality (and much
// other JavaScript) throw; generated free-form keys leave them out.
const safeKey: fc.Arbitrary<string> = fc.string({ maxLength: 10 }).filter((k) => !(k in Object.prototype));

function smallObject(values: fc.Arbitrary<unknown>): fc.Arbitrary<Record<string, unknown>> {
  return fc
    .uniqueArray(fc.tuple(safeKey, values), { maxLength: 3, selector: (e) => e[0] })
    .map((entries) => Object.fromEntries(entries) as Record<string, unknown>);
}

const jsonLeaf: fc.Arbitrary<unknown> = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }).map(withoutNegativeZero),
  fc.string({ maxLength: 10 }),
);
const jsonShallow: fc.Arbitrary<unknown> = fc.oneof(
  jsonLeaf,
  fc.array(jsonLeaf, { maxLength: 3 }),
  smallObject(jsonLeaf),
);
/** Any JSON value, at most two levels deep. */
const anyJson: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 3, arbitrary: jsonLeaf },
  { weight: 1, arbitrary: fc.array(jsonShallow, { maxLength: 3 }) },
  { weight: 1, arbitrary: smallObject(jsonShallow) },
);

function valid(ctx: Context, n: Norm): fc.Arbitrary<unknown> {
  const cached = ctx.valid.get(n);
  if (cached !== undefined) return cached;
  let arb: fc.Arbitrary<unknown>;
  if (n.enum !== undefined) {
    const rest = { ...n, enum: undefined };
    const values = n.enum.filter((v) => check(rest, v));
    if (values.length === 0)
      throw new Unsatisfiable(`${n.where}: no enum value satisfies the other keywords`);
    arb = fc.constantFrom(...values).map(cloneJson);
  } else if (isUnconstrained(n)) {
    arb = anyJson;
  } else {
    const arbs: fc.Arbitrary<unknown>[] = [];
    const reasons: string[] = [];
    for (const kind of kindsOf(n)) {
      try {
        arbs.push(kindArb(ctx, n, kind));
      } catch (error) {
        if (!(error instanceof Unsatisfiable)) throw error;
        reasons.push(error.message);
      }
    }
    const [first, ...others] = arbs;
    if (first === undefined) throw new Unsatisfiable(reasons.join("; "));
    arb = others.length === 0 ? first : fc.oneof(first, ...others);
    if (n.nots.length > 0) {
      const filtered = viable(arb, (v) => n.nots.every((not) => !check(not, v)));
      if (filtered === undefined) throw new Unsatisfiable(`${n.where}: almost every value matches its "not"`);
      arb = filtered;
    }
  }
  ctx.valid.set(n, arb);
  return arb;
}

function kindsOf(n: Norm): JsonType[] {
  const types = n.types ?? new Set<JsonType>(["null", "boolean", "number", "string", "array", "object"]);
  // Integers are numbers: generate them once, from the number generator.
  return [...types].filter((t) => !(t === "integer" && types.has("number")));
}

function kindArb(ctx: Context, n: Norm, kind: JsonType): fc.Arbitrary<unknown> {
  switch (kind) {
    case "null":
      return fc.constant(null);
    case "boolean":
      return fc.boolean();
    case "integer":
    case "number": {
      const format = n.format === undefined ? undefined : numberFormatValidator(n.format);
      if (format === undefined) return kind === "integer" ? integerArb(n) : numberArb(n);
      // ajv-formats' int32 and int64 accept integers only, even under "type": "number".
      const integral = kind === "integer" || n.format === "int32" || n.format === "int64";
      return viableOrThrow(
        integral ? integerArb(n) : numberArb(n),
        format,
        `${n.where}: no number is a "${n.format}"`,
      );
    }
    case "string":
      return stringArb(ctx, stringConstraints(n), n.where);
    case "array":
      return arrayArb(ctx, n);
    case "object":
      return objectArb(ctx, n);
  }
}

interface Bounds {
  minimum: number | undefined;
  maximum: number | undefined;
  exclusiveMinimum: number | undefined;
  exclusiveMaximum: number | undefined;
  where: string;
}

function integerArb(b: Bounds): fc.Arbitrary<number> {
  const low = maxOf(
    b.minimum === undefined ? undefined : Math.ceil(b.minimum),
    b.exclusiveMinimum === undefined ? undefined : Math.floor(b.exclusiveMinimum) + 1,
  );
  const high = minOf(
    b.maximum === undefined ? undefined : Math.floor(b.maximum),
    b.exclusiveMaximum === undefined ? undefined : Math.ceil(b.exclusiveMaximum) - 1,
  );
  // Unbounded sides default to the int32 range, which also satisfies ajv-formats' int32 and int64.
  const min = Math.max(
    Number.MIN_SAFE_INTEGER,
    low ?? (high !== undefined && high < INT32_MIN ? high - INT32_MAX : INT32_MIN),
  );
  const max = Math.min(Number.MAX_SAFE_INTEGER, high ?? (min > INT32_MAX ? min + INT32_MAX : INT32_MAX));
  if (min > max) throw new Unsatisfiable(`${b.where}: no integer within the bounds`);
  return fc.integer({ min, max }).filter((v) => checkNumber(b, v));
}

function numberArb(b: Bounds): fc.Arbitrary<number> {
  const low = strictest(b.minimum, b.exclusiveMinimum, (x, y) => x > y);
  const high = strictest(b.maximum, b.exclusiveMaximum, (x, y) => x < y);
  if (low !== undefined && high !== undefined) {
    if (low.value > high.value || (low.value === high.value && (low.excluded || high.excluded))) {
      throw new Unsatisfiable(`${b.where}: no number within the bounds`);
    }
  }
  const double = fc
    .double({
      noNaN: true,
      noDefaultInfinity: true,
      ...(low !== undefined && { min: low.value, minExcluded: low.excluded }),
      ...(high !== undefined && { max: high.value, maxExcluded: high.excluded }),
    })
    .map(withoutNegativeZero);
  const arbs: fc.Arbitrary<number>[] = [double];
  try {
    arbs.push(integerArb(b));
  } catch (error) {
    if (!(error instanceof Unsatisfiable)) throw error;
  }
  // The explicit check keeps the bounds exact where fast-check's excluded bounds meet -0 and 0.
  return viableOrThrow(fc.oneof(...arbs), (v) => checkNumber(b, v), `${b.where}: no number within bounds`);
}

function strictest(
  inclusive: number | undefined,
  exclusive: number | undefined,
  stricter: (x: number, y: number) => boolean,
): { value: number; excluded: boolean } | undefined {
  if (inclusive === undefined)
    return exclusive === undefined ? undefined : { value: exclusive, excluded: true };
  if (exclusive === undefined || stricter(inclusive, exclusive)) return { value: inclusive, excluded: false };
  return { value: exclusive, excluded: true };
}

function stringArb(ctx: Context, c: StringConstraints, where: string): fc.Arbitrary<string> {
  const key = JSON.stringify([c.minLength, c.maxLength, c.patterns.map((p) => p.source), c.format]);
  let result = ctx.strings.get(key);
  if (result === undefined) {
    try {
      result = buildStringArb(ctx, c, where);
    } catch (error) {
      if (!(error instanceof Unsatisfiable)) throw error;
      result = error;
    }
    ctx.strings.set(key, result);
  }
  if (result instanceof Unsatisfiable) throw result;
  return result;
}

function buildStringArb(ctx: Context, c: StringConstraints, where: string): fc.Arbitrary<string> {
  if (c.maxLength !== undefined && c.minLength > c.maxLength) {
    throw new Unsatisfiable(`${where}: minLength ${c.minLength} is above maxLength ${c.maxLength}`);
  }
  const ok = (s: string): boolean => checkString(c, s);
  if (c.format !== undefined) {
    const format = c.format;
    const given = override(ctx, format);
    const source = given ?? builtinFormat(format);
    if (source === undefined)
      throw new Error(`schema-arbitrary: format "${format}" at ${where} has no generator`);
    const direct = viable(source, ok);
    if (direct !== undefined) return direct;
    if (given !== undefined && c.minLength > 0) {
      const long = viable(padded(given, c.minLength), (s) => ok(s) && safeFor(ctx, format, s));
      if (long !== undefined) return long;
    }
    throw new Unsatisfiable(`${where}: no generated "${format}" string satisfies the other keywords`);
  }
  if (c.patterns.length > 0) {
    for (const p of c.patterns) {
      const closure = closureArb(p, c, where);
      const arb = closure === undefined ? undefined : viable(closure, ok);
      if (arb !== undefined) return arb;
    }
    for (const size of ["small", "medium", "large"] as const) {
      for (const p of c.patterns) {
        const arb = viable(matching(p, size, c), ok);
        if (arb !== undefined) return arb;
      }
    }
    throw new Unsatisfiable(
      `${where}: cannot generate strings matching the pattern(s) with the length bounds`,
    );
  }
  return plainString(c.minLength, c.maxLength);
}

// `^A*$`, `^A+$`, `^A{m,n}$`... where A matches exactly one code point (a class, an escape, a character).
const CLOSURE =
  /^\^(\[(?:\\.|[^\\\]])*\]|\\[pP]\{[^}]*\}|\\u\{[0-9a-fA-F]+\}|\\u[0-9a-fA-F]{4}|\\x[0-9a-fA-F]{2}|\\[^pPuxbB1-9]|[^\\[\](){}|^$*+?])(\*|\+|\?|\{(\d+)(,(\d*))?\})\$$/;

/**
 * For a pattern that is one code point repeated, the same pattern with the length bounds folded into
 * its quantifier: exact lengths without a filter, however long (a maxLength of 4096 must be broken too).
 */
function closureArb(p: Pattern, c: StringConstraints, where: string): fc.Arbitrary<string> | undefined {
  const match = CLOSURE.exec(p.source);
  if (match === null) return undefined;
  const [, atom = "", quantifier = "", from, comma, to] = match;
  let qMin = 0;
  let qMax = Infinity;
  if (quantifier === "+") qMin = 1;
  else if (quantifier === "?") qMax = 1;
  else if (from !== undefined) {
    qMin = Number(from);
    qMax = comma === undefined ? qMin : to === undefined || to === "" ? Infinity : Number(to);
  }
  const min = Math.max(qMin, c.minLength);
  const max = Math.min(qMax, c.maxLength ?? Infinity, Math.max(min, STRING_CAP));
  if (min > max) throw new Unsatisfiable(`${where}: pattern ${show(p.source)} cannot meet the length bounds`);
  return fc.stringMatching(new RegExp(`^${atom}{${min},${max}}$`, "u"));
}

/** Values of `source`, lengthened with letters and digits at the end when shorter than `minLength`. */
function padded(source: fc.Arbitrary<string>, minLength: number): fc.Arbitrary<string> {
  const alnum = fc.integer({ min: 0, max: 35 }).map((i) => i.toString(36));
  return fc.tuple(source, fc.string({ unit: alnum, minLength, maxLength: minLength + 4 })).map(([s, pad]) => {
    const missing = minLength - codePoints(s);
    return missing <= 0 ? s : s + pad.slice(0, missing + pad.length - minLength);
  });
}

/**
 * Whether `s`, built from a format override, is still safe to send: not a URL at all, or one whose host
 * the override itself produces (tests must never reach other hosts).
 */
function safeFor(ctx: Context, format: string, s: string): boolean {
  let hosts = ctx.hosts.get(format);
  if (hosts === undefined) {
    const given = override(ctx, format);
    const sample = given === undefined ? [] : fc.sample(given, { numRuns: PROBE_RUNS, seed: PROBE_SEED });
    hosts = new Set(sample.map(hostOf).filter((h) => h !== undefined));
    ctx.hosts.set(format, hosts);
  }
  const host = hostOf(s);
  return host === undefined || hosts.has(host);
}

function hostOf(s: string): string | undefined {
  try {
    return new URL(s).host;
  } catch {
    return undefined;
  }
}

function plainString(minLength: number, maxLength: number | undefined): fc.Arbitrary<string> {
  const cap = Math.min(maxLength ?? Infinity, Math.max(minLength, STRING_CAP));
  const arbs: fc.WeightedArbitrary<string>[] = [
    { weight: 15, arbitrary: fc.string({ minLength, maxLength: cap }) },
    // Any code point (JSON Schema lengths count code points, like "binary" units do).
    { weight: 4, arbitrary: fc.string({ unit: "binary", minLength, maxLength: cap }) },
  ];
  if (maxLength !== undefined && maxLength > cap) {
    arbs.push({ weight: 1, arbitrary: fc.string({ minLength: maxLength, maxLength }) });
  }
  return fc.oneof(...arbs);
}

/** Strings matching `p`, padded where the pattern is unanchored so that a minLength can be reached. */
function matching(p: Pattern, size: fc.Size, c: StringConstraints): fc.Arbitrary<string> {
  const base = fc.stringMatching(p.re, {
    size,
    ...(c.maxLength !== undefined && { maxLength: c.maxLength }),
  });
  const openEnd = !/(?:^|[^\\])(?:\\\\)*\$$/.test(p.source);
  const openStart = !p.source.startsWith("^");
  if (c.minLength === 0 || (!openEnd && !openStart)) return base;
  return fc.tuple(base, fc.string({ minLength: c.minLength, maxLength: c.minLength + 4 })).map(([s, pad]) => {
    const missing = c.minLength - codePoints(s);
    if (missing <= 0) return s;
    const padding = Array.from(pad)
      .slice(0, missing + codePoints(pad) - c.minLength)
      .join("");
    return openEnd ? s + padding : padding + s;
  });
}

function builtinFormat(format: string): fc.Arbitrary<string> | undefined {
  const dates = fc.date({
    min: new Date("1970-01-01T00:00:00.000Z"),
    max: new Date("2099-12-31T23:59:59.999Z"),
    noInvalidDate: true,
  });
  switch (format) {
    case "uuid":
      return fc.uuid();
    case "date-time":
      return dates.map((d) => d.toISOString());
    case "date":
      return dates.map((d) => d.toISOString().slice(0, 10));
    default:
      return undefined;
  }
}

function arrayArb(ctx: Context, n: Norm): fc.Arbitrary<unknown[]> {
  const min = n.minItems;
  if (n.maxItems !== undefined && min > n.maxItems) {
    throw new Unsatisfiable(`${n.where}: minItems ${min} is above maxItems ${n.maxItems}`);
  }
  let item: fc.Arbitrary<unknown>;
  try {
    item = n.items === undefined ? anyJson : valid(ctx, n.items);
  } catch (error) {
    if (error instanceof Unsatisfiable && min === 0) return fc.constant([]);
    throw error;
  }
  let max = Math.min(n.maxItems ?? Infinity, Math.max(min, ARRAY_CAP));
  if (!n.uniqueItems) return fc.array(item, { minLength: min, maxLength: max });
  // fast-check's uniqueArray never returns when asked for more distinct items than exist.
  max = Math.min(max, distinctValues(item, max));
  if (max < min) throw new Unsatisfiable(`${n.where}: fewer than minItems ${min} distinct items exist`);
  return fc.uniqueArray(item, { minLength: min, maxLength: max, selector: canonical });
}

function objectArb(ctx: Context, n: Norm): fc.Arbitrary<Record<string, unknown>> {
  const maxP = n.maxProperties ?? Infinity;
  const nameOk = (key: string): boolean => n.propertyNames === undefined || check(n.propertyNames, key);
  const required = [...n.required];
  if (required.length > maxP || n.minProperties > maxP) {
    throw new Unsatisfiable(`${n.where}: maxProperties ${maxP} is below what required/minProperties need`);
  }
  const requiredValues = required.map((key) => {
    const sub = n.properties.has(key) ? n.properties.get(key) : n.additional;
    if (sub === false || !nameOk(key))
      throw new Unsatisfiable(`${n.where}: required property "${key}" is forbidden`);
    return sub === undefined ? anyJson : valid(ctx, sub);
  });
  const optional: { key: string; arb: fc.Arbitrary<unknown> }[] = [];
  for (const [key, sub] of n.properties) {
    if (n.required.has(key) || sub === false || !nameOk(key)) continue;
    try {
      optional.push({ key, arb: valid(ctx, sub) });
    } catch (error) {
      // An optional property no value satisfies is simply never present.
      if (!(error instanceof Unsatisfiable)) throw error;
    }
  }
  const extra = extraEntries(ctx, n);
  const kMin = Math.max(0, Math.min(optional.length, n.minProperties - required.length));
  const eMin = Math.max(0, n.minProperties - required.length - optional.length);
  const eMax = extra === undefined ? 0 : distinctValues(extra.key, eMin + EXTRA_KEYS_MAX);
  if (eMin > eMax) throw new Unsatisfiable(`${n.where}: cannot reach minProperties ${n.minProperties}`);
  let extras: fc.Arbitrary<[string, unknown][]> = fc.constant([]);
  if (extra !== undefined && eMax > 0) {
    const some = fc.uniqueArray(extra.entry, {
      minLength: Math.max(1, eMin),
      maxLength: eMax,
      selector: (e) => e[0],
    });
    extras = eMin > 0 ? some : fc.oneof({ weight: 3, arbitrary: extras }, { weight: 1, arbitrary: some });
  }
  const indices = optional.map((_, i) => i);
  return fc
    .tuple(
      fc.tuple(...requiredValues),
      fc.tuple(...optional.map((o) => o.arb.map((v): [string, unknown] => [o.key, v]))),
      fc.subarray(indices, { minLength: kMin }),
      extras,
    )
    .map(([requiredVals, allOptional, chosen, extraList]) => {
      const entries: [string, unknown][] = required.map((key, i) => [key, requiredVals[i]]);
      const present = new Set(chosen);
      let optionalEntries = allOptional.filter((_, i) => present.has(i));
      let extraEntriesList = extraList;
      let over = entries.length + optionalEntries.length + extraEntriesList.length - maxP;
      if (over > 0) {
        const drop = Math.min(over, extraEntriesList.length - eMin);
        extraEntriesList = extraEntriesList.slice(0, extraEntriesList.length - drop);
        over -= drop;
      }
      if (over > 0) optionalEntries = optionalEntries.slice(0, optionalEntries.length - over);
      return Object.fromEntries([...entries, ...optionalEntries, ...extraEntriesList]);
    });
}

/** Keys an object may carry beyond its `properties`, with valid values; undefined when none may. */
function extraEntries(
  ctx: Context,
  n: Norm,
): { entry: fc.Arbitrary<[string, unknown]>; key: fc.Arbitrary<string> } | undefined {
  if (n.additional === false) return undefined;
  const key = freeKey(ctx, n);
  if (key === undefined) return undefined;
  let value: fc.Arbitrary<unknown>;
  try {
    value = n.additional === undefined ? anyJson : valid(ctx, n.additional);
  } catch (error) {
    if (error instanceof Unsatisfiable) return undefined;
    throw error;
  }
  return { entry: fc.tuple(key, value), key };
}

/** Keys outside `properties` and `required` that satisfy propertyNames. */
function freeKey(ctx: Context, n: Norm): fc.Arbitrary<string> | undefined {
  let source = safeKey;
  if (n.propertyNames !== undefined) {
    const names = asStringNorm(n.propertyNames);
    if (names === undefined) return undefined;
    try {
      source = valid(ctx, names).filter((k): k is string => typeof k === "string");
    } catch (error) {
      if (error instanceof Unsatisfiable) return undefined;
      throw error;
    }
  }
  const arb = viable(source, (k) => !n.properties.has(k) && !n.required.has(k) && !(k in Object.prototype));
  return arb;
}

/** propertyNames, restricted to what a key can be: a string. */
function asStringNorm(n: Norm): Norm | undefined {
  if (n.types !== undefined && !n.types.has("string")) return undefined;
  return { ...n, types: new Set<JsonType>(["string"]) };
}

// ---------------------------------------------------------------------------------------------------
// Invalid values

function breakers(ctx: Context, n: Norm, keysOnly: boolean): Breaker[] {
  const cache = keysOnly ? ctx.keyBreakers : ctx.breakers;
  const cached = cache.get(n);
  if (cached !== undefined) return cached;
  const out: Breaker[] = [];
  cache.set(n, out);
  const add = (make: () => Breaker | Breaker[] | undefined): void => {
    try {
      const made = make();
      if (Array.isArray(made)) out.push(...made);
      else if (made !== undefined) out.push(made);
    } catch (error) {
      // A rule that cannot be broken while everything else holds is skipped.
      if (!(error instanceof Unsatisfiable)) throw error;
    }
  };
  if (n.types !== undefined && !keysOnly) add(() => typeBreaker(n.types ?? new Set()));
  if (n.enum !== undefined) {
    add(() => enumBreaker(ctx, n));
  } else {
    for (const kind of kindsOf(n)) {
      if (kind === "string") add(() => stringBreakers(ctx, n));
      if (kind === "integer" || kind === "number") add(() => numberBreakers(n, kind));
      if (kind === "array") add(() => arrayBreakers(ctx, n));
      if (kind === "object") add(() => objectBreakers(ctx, n));
    }
  }
  for (const [i, not] of n.nots.entries()) add(() => notBreaker(ctx, n, i, not));
  return out;
}

function broken(value: unknown, rule: string, path: readonly (string | number)[] = []): Broken {
  return { value, rule, path };
}

function typeBreaker(allowed: ReadonlySet<JsonType>): Breaker | undefined {
  const arbs: fc.Arbitrary<unknown>[] = [];
  if (!allowed.has("null")) arbs.push(fc.constant(null));
  if (!allowed.has("boolean")) arbs.push(fc.boolean());
  if (!allowed.has("number")) {
    arbs.push(
      allowed.has("integer")
        ? fc
            .tuple(fc.integer({ min: -1e6, max: 1e6 }), fc.constantFrom(0.5, 0.25, 0.1))
            .map(([i, f]) => i + f)
        : fc.oneof(
            fc.integer(),
            fc.double({ noNaN: true, noDefaultInfinity: true }).map(withoutNegativeZero),
          ),
    );
  }
  if (!allowed.has("string")) arbs.push(fc.string({ maxLength: 8 }));
  if (!allowed.has("array")) arbs.push(fc.array(anyJson, { maxLength: 2 }));
  if (!allowed.has("object")) {
    arbs.push(smallObject(jsonShallow));
  }
  const [first, ...others] = arbs;
  if (first === undefined) return undefined;
  const expected = [...allowed].join(" | ");
  return fc
    .oneof(first, ...others)
    .map((v) => broken(v, `wrong type: ${typeName(v)} instead of ${expected}`));
}

function enumBreaker(ctx: Context, n: Norm): Breaker | undefined {
  const values = n.enum ?? [];
  const rest: Norm = { ...n, enum: undefined, isConst: false };
  // Near misses of the allowed values, besides arbitrary ones.
  const near: unknown[] = [];
  for (const v of values) {
    if (typeof v === "string") near.push(`${v}x`, v.toUpperCase(), v.slice(1), ` ${v}`);
    if (typeof v === "number") near.push(v + 1, -v - 1);
    if (typeof v === "boolean") near.push(!v);
  }
  const outside = (v: unknown): boolean => check(rest, v) && !values.some((e) => jsonEqual(e, v));
  const nearOk = near.filter(outside);
  const arb = viableUnion(
    [
      () => valid(ctx, rest),
      () => {
        if (nearOk.length === 0) throw new Unsatisfiable("no near miss");
        return fc.constantFrom(...nearOk);
      },
    ],
    outside,
  );
  const rule = n.isConst
    ? `not the const value ${show(values[0])}`
    : `not one of the enum values ${show(values)}`;
  return arb?.map((v) => broken(v, `${show(v)} is ${rule}`));
}

function stringBreakers(ctx: Context, n: Norm): Breaker[] {
  const c = stringConstraints(n);
  const out: Breaker[] = [];
  const attempt = (make: () => Breaker | undefined): void => {
    try {
      const b = make();
      if (b !== undefined) out.push(b);
    } catch (error) {
      if (!(error instanceof Unsatisfiable)) throw error;
    }
  };
  if (c.minLength > 0) {
    attempt(() =>
      stringArb(ctx, { ...c, minLength: 0, maxLength: c.minLength - 1 }, n.where).map((s) =>
        broken(s, `string shorter than minLength ${c.minLength} (length ${codePoints(s)})`),
      ),
    );
  }
  const maxLength = c.maxLength;
  if (maxLength !== undefined) {
    attempt(() =>
      stringArb(ctx, { ...c, minLength: maxLength + 1, maxLength: maxLength + 3 }, n.where).map((s) =>
        broken(s, `string longer than maxLength ${maxLength} (length ${codePoints(s)})`),
      ),
    );
  }
  for (const [i, p] of c.patterns.entries()) {
    attempt(() => {
      const rest = { ...c, patterns: c.patterns.filter((_, j) => j !== i) };
      const breaks = (s: string): boolean => !p.re.test(s) && checkString(rest, s) && safeString(ctx, c, s);
      const arb = viableUnion(
        [() => stringArb(ctx, rest, n.where), () => nearMisses(stringArb(ctx, c, n.where), breaks)],
        breaks,
      );
      return arb?.map((s) => broken(s, `string ${show(s)} does not match pattern ${show(p.source)}`));
    });
  }
  const format = c.format;
  const validate = format === undefined ? undefined : formatValidator(format);
  if (format !== undefined && validate !== undefined) {
    attempt(() => {
      const rest = { ...c, format: undefined };
      const breaks = (s: string): boolean => !validate(s) && checkString(rest, s) && safeString(ctx, c, s);
      const given = override(ctx, format);
      const arb = viableUnion(
        [
          () => stringArb(ctx, rest, n.where),
          () => nearMisses(stringArb(ctx, c, n.where), breaks),
          () => {
            if (given === undefined) throw new Unsatisfiable("no override");
            // Affixes keep the override's host: http://127.0.0.1:9/a< is no URI, and no other host either.
            return fc
              .tuple(given, fc.constantFrom(...FORMAT_BREAKING_AFFIXES), fc.boolean())
              .map(([s, affix, before]) => (before ? affix + s : s + affix));
          },
        ],
        breaks,
      );
      return arb?.map((s) => broken(s, `string ${show(s)} is not a valid "${format}"`));
    });
  }
  return out;
}

// Characters patterns tend to exclude (line breaks, NUL, separators, non-ASCII), for near misses.
const NEAR_MISS_CHARS = [
  "\r",
  "\n",
  "\u0000",
  "\t",
  " ",
  "/",
  "\\",
  "*",
  "<",
  "@",
  "#",
  "?",
  ":",
  "é",
  "😀",
  "A",
  "a",
  "0",
  "_",
  "-",
  ".",
];

/**
 * Strings of `base` with one character inserted or removed, using only the edits a probe saw `breaks`
 * accept: a pattern like ^[^\r\n]*$ is broken by few of the candidate characters.
 */
function nearMisses(base: fc.Arbitrary<string>, breaks: (s: string) => boolean): fc.Arbitrary<string> {
  const samples = fc.sample(base, { numRuns: PROBE_BATCH, seed: PROBE_SEED });
  const edit =
    (ch: string | undefined) =>
    (s: string, at: number): string => {
      const chars = Array.from(s);
      if (ch === undefined) chars.splice(at % Math.max(1, chars.length), 1);
      else chars.splice(at % (chars.length + 1), 0, ch);
      return chars.join("");
    };
  const edits = [...NEAR_MISS_CHARS, undefined]
    .map(edit)
    .filter((e) => samples.some((s, i) => breaks(e(s, i * 7919))));
  if (edits.length === 0) throw new Unsatisfiable("no near miss breaks the rule");
  return fc.tuple(base, fc.constantFrom(...edits), fc.nat()).map(([s, e, at]) => e(s, at));
}

/** The viable sources (each filtered by `pred`), as one arbitrary; undefined when none is. */
function viableUnion<T>(
  makers: readonly (() => fc.Arbitrary<T>)[],
  pred: (v: T) => boolean,
): fc.Arbitrary<T> | undefined {
  const arbs: fc.Arbitrary<T>[] = [];
  for (const make of makers) {
    try {
      const arb = viable(make(), pred);
      if (arb !== undefined) arbs.push(arb);
    } catch (error) {
      if (!(error instanceof Unsatisfiable)) throw error;
    }
  }
  const [first, ...others] = arbs;
  return first === undefined ? undefined : others.length === 0 ? first : fc.oneof(first, ...others);
}

/** Whether a string derived from a format override still names no other host (see safeFor). */
function safeString(ctx: Context, c: StringConstraints, s: string): boolean {
  return c.format === undefined || override(ctx, c.format) === undefined || safeFor(ctx, c.format, s);
}

const FORMAT_BREAKING_AFFIXES = ["<", ">", " ", "{}", "|", "^", "`", '"', "\\", "%", "%zz", "[", "]", "::"];

function numberBreakers(n: Norm, kind: "integer" | "number"): Breaker[] {
  const out: Breaker[] = [];
  const gen = kind === "integer" ? integerArb : numberArb;
  const attempt = (bounds: Omit<Bounds, "where">, rule: (v: number) => string): void => {
    try {
      out.push(gen({ ...bounds, where: n.where }).map((v) => broken(v, rule(v))));
    } catch (error) {
      if (!(error instanceof Unsatisfiable)) throw error;
    }
  };
  const { minimum, maximum, exclusiveMinimum, exclusiveMaximum } = n;
  const none = {
    minimum: undefined,
    maximum: undefined,
    exclusiveMinimum: undefined,
    exclusiveMaximum: undefined,
  };
  if (minimum !== undefined) {
    attempt(
      { ...none, exclusiveMinimum, exclusiveMaximum: minimum },
      (v) => `${v} is below minimum ${minimum}`,
    );
  }
  if (exclusiveMinimum !== undefined) {
    attempt(
      { ...none, minimum, maximum: exclusiveMinimum },
      (v) => `${v} is not above exclusiveMinimum ${exclusiveMinimum}`,
    );
  }
  if (maximum !== undefined) {
    attempt(
      { ...none, exclusiveMaximum, exclusiveMinimum: maximum },
      (v) => `${v} is above maximum ${maximum}`,
    );
  }
  if (exclusiveMaximum !== undefined) {
    attempt(
      { ...none, maximum, minimum: exclusiveMaximum },
      (v) => `${v} is not below exclusiveMaximum ${exclusiveMaximum}`,
    );
  }
  return out;
}

function arrayBreakers(ctx: Context, n: Norm): Breaker[] {
  const out: Breaker[] = [];
  const attempt = (make: () => Breaker | Breaker[]): void => {
    try {
      const made = make();
      out.push(...(Array.isArray(made) ? made : [made]));
    } catch (error) {
      if (!(error instanceof Unsatisfiable)) throw error;
    }
  };
  if (n.minItems > 0) {
    attempt(() =>
      arrayArb(ctx, { ...n, minItems: 0, maxItems: n.minItems - 1 }).map((a) =>
        broken(a, `array of ${a.length} items, under minItems ${n.minItems}`),
      ),
    );
  }
  const maxItems = n.maxItems;
  if (maxItems !== undefined) {
    attempt(() =>
      arrayArb(ctx, { ...n, minItems: maxItems + 1, maxItems: maxItems + 2 }).map((a) =>
        broken(a, `array of ${a.length} items, over maxItems ${maxItems}`),
      ),
    );
  }
  if (n.uniqueItems) {
    attempt(() => {
      const base = arrayArb(ctx, {
        ...n,
        minItems: Math.max(1, n.minItems - 1),
        maxItems: maxItems === undefined ? undefined : maxItems - 1,
      });
      return fc.tuple(base, fc.nat(), fc.nat()).map(([a, i, j]) => {
        const copy = [...a];
        copy.splice(j % (a.length + 1), 0, cloneJson(a[i % a.length]));
        return broken(copy, "duplicate items although uniqueItems");
      });
    });
  }
  const items = n.items;
  if (items !== undefined) {
    attempt(() => {
      const base = arrayArb(ctx, { ...n, minItems: Math.max(1, n.minItems) });
      return breakers(ctx, items, false).map((b) =>
        fc.tuple(base, b, fc.nat()).map(([a, bad, i]) => {
          const index = i % a.length;
          const copy = [...a];
          copy[index] = bad.value;
          return broken(copy, bad.rule, [index, ...bad.path]);
        }),
      );
    });
  }
  return out;
}

function objectBreakers(ctx: Context, n: Norm): Breaker[] {
  const out: Breaker[] = [];
  const attempt = (make: () => Breaker | Breaker[] | undefined): void => {
    try {
      const made = make();
      if (made !== undefined) out.push(...(Array.isArray(made) ? made : [made]));
    } catch (error) {
      if (!(error instanceof Unsatisfiable)) throw error;
    }
  };
  const nameOk = (key: string): boolean => n.propertyNames === undefined || check(n.propertyNames, key);
  // Room for one more key, so that adding one breaks only the rule meant.
  let roomyArb: fc.Arbitrary<Record<string, unknown>> | undefined;
  const roomy = (): fc.Arbitrary<Record<string, unknown>> =>
    (roomyArb ??= objectArb(
      ctx,
      n.maxProperties === undefined ? n : { ...n, maxProperties: n.maxProperties - 1 },
    ));

  for (const key of n.required) {
    attempt(() => {
      let base: fc.Arbitrary<Record<string, unknown>>;
      try {
        base = objectArb(ctx, n.minProperties > 0 ? { ...n, minProperties: n.minProperties + 1 } : n);
      } catch (error) {
        if (!(error instanceof Unsatisfiable)) throw error;
        base = objectArb(ctx, n);
      }
      return base.map((o) => broken(withoutKey(o, key), `required property ${show(key)} missing`));
    });
  }

  if (n.additional === false) {
    attempt(() => {
      const key = freeKey(ctx, n);
      if (key === undefined) return undefined;
      return fc
        .tuple(roomy(), key, anyJson)
        .map(([o, k, v]) =>
          broken(withKey(o, k, v), `unknown property ${show(k)} (additionalProperties: false)`),
        );
    });
  } else if (n.additional !== undefined) {
    const additional = n.additional;
    attempt(() => {
      const key = freeKey(ctx, n);
      if (key === undefined) return undefined;
      const base = roomy();
      return breakers(ctx, additional, false).map((b) =>
        fc
          .tuple(base, key, b)
          .map(([o, k, bad]) => broken(withKey(o, k, bad.value), bad.rule, [k, ...bad.path])),
      );
    });
  }

  const names = n.propertyNames === undefined ? undefined : asStringNorm(n.propertyNames);
  if (names !== undefined && n.additional !== false) {
    const additional = n.additional;
    attempt(() => {
      const base = roomy();
      const value = additional === undefined ? anyJson : valid(ctx, additional);
      const list: Breaker[] = [];
      for (const b of breakers(ctx, names, true)) {
        const key = viable(
          b,
          (bad) =>
            typeof bad.value === "string" &&
            !n.properties.has(bad.value) &&
            !n.required.has(bad.value) &&
            !(bad.value in Object.prototype),
        );
        if (key === undefined) continue;
        list.push(
          fc.tuple(base, key, value).map(([o, bad, v]) => {
            const k = String(bad.value);
            return broken(withKey(o, k, v), `property name ${show(k)} breaks propertyNames: ${bad.rule}`);
          }),
        );
      }
      return list;
    });
  }

  const maxP = n.maxProperties;
  if (maxP !== undefined) {
    attempt(() =>
      objectArb(ctx, { ...n, minProperties: maxP + 1, maxProperties: undefined }).map((o) =>
        broken(o, `${Object.keys(o).length} properties, over maxProperties ${maxP}`),
      ),
    );
  }
  if (n.minProperties > 0) {
    attempt(() =>
      objectArb(ctx, { ...n, minProperties: 0, maxProperties: n.minProperties - 1 }).map((o) =>
        broken(o, `${Object.keys(o).length} properties, under minProperties ${n.minProperties}`),
      ),
    );
  }

  for (const [key, sub] of n.properties) {
    if (!nameOk(key)) continue;
    if (sub === false) {
      attempt(() =>
        fc
          .tuple(roomy(), anyJson)
          .map(([o, v]) => broken(withKey(o, key, v), `forbidden property ${show(key)}`)),
      );
      continue;
    }
    attempt(() => {
      const base = objectArb(ctx, { ...n, required: new Set([...n.required, key]) });
      return breakers(ctx, sub, false).map((b) =>
        fc.tuple(base, b).map(([o, bad]) => broken(withKey(o, key, bad.value), bad.rule, [key, ...bad.path])),
      );
    });
  }
  return out;
}

function notBreaker(ctx: Context, n: Norm, index: number, not: Norm): Breaker | undefined {
  const rest: Norm = { ...n, nots: n.nots.filter((_, j) => j !== index) };
  const both = merge(rest, not);
  if (both === false) return undefined;
  const arb = viable(valid(ctx, both), (v) => check(not, v) && check(rest, v));
  return arb?.map((v) => broken(v, `${show(v)} matches the schema under "not" (${not.where})`));
}

// ---------------------------------------------------------------------------------------------------
// Utilities

/**
 * Calls `visit` on values of `arb` (the same values on every run) until it returns true or the probe's
 * budget is spent; small batches, because most probes are answered by the first few values.
 */
function probe<T>(arb: fc.Arbitrary<T>, visit: (v: T) => boolean): void {
  for (let batch = 0; batch * PROBE_BATCH < PROBE_RUNS; batch++) {
    for (const v of fc.sample(arb, { numRuns: PROBE_BATCH, seed: PROBE_SEED + batch })) if (visit(v)) return;
  }
}

/** `arb.filter(pred)` when a probe shows the filter accepts a fair share of values, else undefined. */
function viable<T>(arb: fc.Arbitrary<T>, pred: (v: T) => boolean): fc.Arbitrary<T> | undefined {
  let hits = 0;
  probe(arb, (v) => pred(v) && ++hits >= PROBE_MIN_HITS);
  return hits >= PROBE_MIN_HITS ? arb.filter(pred) : undefined;
}

function viableOrThrow<T>(arb: fc.Arbitrary<T>, pred: (v: T) => boolean, message: string): fc.Arbitrary<T> {
  const filtered = viable(arb, pred);
  if (filtered === undefined) throw new Unsatisfiable(message);
  return filtered;
}

/** How many distinct values `arb` produces (at least, as far as a probe sees), capped at `cap`. */
function distinctValues(arb: fc.Arbitrary<unknown>, cap: number): number {
  const seen = new Set<string>();
  probe(arb, (v) => seen.add(canonical(v)).size >= cap);
  return Math.min(cap, seen.size);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** JSON with sorted keys: equal for exactly the values JSON Schema's equality (enum, uniqueItems) equates. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(",")}]`;
  if (isRecord(v)) {
    const keys = Object.keys(v).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonical(v[k])}`).join(",")}}`;
  }
  return v === undefined ? "undefined" : JSON.stringify(v);
}

function jsonEqual(a: unknown, b: unknown): boolean {
  return a === b || canonical(a) === canonical(b);
}

function cloneJson<T>(v: T): T {
  return typeof v === "object" && v !== null ? structuredClone(v) : v;
}

function withoutNegativeZero<T>(v: T): T {
  return Object.is(v, -0) ? (0 as T) : v;
}

function codePoints(s: string): number {
  let length = 0;
  for (const _ of s) length++;
  return length;
}

function minOf(a: number | undefined, b: number | undefined): number | undefined {
  return a === undefined ? b : b === undefined ? a : Math.min(a, b);
}

function maxOf(a: number | undefined, b: number | undefined): number | undefined {
  return a === undefined ? b : b === undefined ? a : Math.max(a, b);
}

/** A copy of `o` with `key` set; defined as own data, so even `__proto__` stays an ordinary key. */
function withKey(o: Record<string, unknown>, key: string, value: unknown): Record<string, unknown> {
  const entries = Object.entries(o);
  const at = entries.findIndex(([k]) => k === key);
  if (at === -1) entries.push([key, value]);
  else entries[at] = [key, value];
  return Object.fromEntries(entries);
}

function withoutKey(o: Record<string, unknown>, key: string): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).filter(([k]) => k !== key));
}

function typeName(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "array";
  if (typeof v === "number") return Number.isInteger(v) ? "integer" : "number";
  return typeof v;
}

function show(v: unknown): string {
  const text = v === undefined ? "undefined" : JSON.stringify(v);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

function pointer(path: readonly (string | number)[]): string {
  if (path.length === 0) return "(root)";
  return path.map((segment) => `/${String(segment).replaceAll("~", "~0").replaceAll("/", "~1")}`).join("");
}
