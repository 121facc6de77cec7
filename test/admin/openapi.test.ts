import { Ajv2020, type ValidateFunction } from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { buildOpenApiDocument, type OpenApiDocument } from "../../src/admin/index.js";
import { routes } from "../../src/admin/routes.js";
import { startReceiver } from "../../src/testing/receiver.js";
import { adminsPerTest, type AdminCall } from "../helpers/admin.js";
import { invalidArbitrary, validArbitrary } from "../helpers/schema-arbitrary.js";

const { setup, defer } = adminsPerTest();

interface Operation {
  path: string;
  method: string;
  requestSchema?: unknown;
  responses: Record<string, { content?: Record<string, { schema: unknown }> }>;
  hasId: boolean;
}

/** Every operation of the document, with its request body's schema when it takes one. */
function operations(document: OpenApiDocument): Operation[] {
  const out: Operation[] = [];
  for (const [path, item] of Object.entries(document.paths)) {
    for (const [method, op] of Object.entries(item)) {
      if (method === "parameters") continue;
      const operation = op as {
        requestBody?: { content: Record<string, { schema: unknown }> };
        responses: Operation["responses"];
      };
      out.push({
        path,
        method: method.toUpperCase(),
        ...(operation.requestBody && {
          requestSchema: operation.requestBody.content["application/json"]?.schema,
        }),
        responses: operation.responses,
        hasId: path.includes("{webhook_id}"),
      });
    }
  }
  return out;
}

/** Checks an answer against the document: a documented status, and a body of its documented schema. */
function answerChecker(document: OpenApiDocument): (op: Operation, status: number, body: unknown) => void {
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  (addFormats as unknown as (a: Ajv2020) => void)(ajv);
  ajv.addSchema({ $id: "openapi", components: document.components });
  const compiled = new Map<unknown, ValidateFunction>();
  return (op, status, body) => {
    const response = op.responses[String(status)];
    expect(
      response,
      `${op.method} ${op.path} answered ${status}, which the document does not list`,
    ).toBeDefined();
    const schema = response?.content?.["application/json"]?.schema;
    if (schema === undefined) {
      expect(body, `${op.method} ${op.path} ${status} has no body in the document`).toBeUndefined();
      return;
    }
    let validate = compiled.get(schema);
    if (!validate) {
      // Refs in the document point into its components: compile against the registered copy.
      validate = ajv.compile(
        JSON.parse(JSON.stringify(schema).replaceAll('"#/components/', '"openapi#/components/')) as object,
      );
      compiled.set(schema, validate);
    }
    expect(validate(body), `${op.method} ${op.path} ${status}: ${JSON.stringify(validate.errors)}`).toBe(
      true,
    );
  };
}

describe.each([
  ["runhooks' own wire", undefined],
  ["Predator mode", "predator"],
] as const)("the admin's OpenAPI document and its server agree (%s)", (_label, compat) => {
  it("never refuses a request valid against the document, refuses every invalid one with 400, and every answer matches the document", async () => {
    const receiver = await startReceiver();
    defer(() => receiver.close());
    const { call, notifier } = setup(compat === undefined ? {} : { compat });
    const served = await call("GET", "/openapi.json");
    const document = served.body as OpenApiDocument;
    expect(document.security).toEqual([{ authorize: [] }]);
    expect(document.components.securitySchemes).toHaveProperty("authorize");
    const checkAnswer = answerChecker(document);
    // Never a URL to another host: generated URLs are the loopback receiver's.
    const options = {
      document,
      formats: { uri: fc.constantFrom(`${receiver.url}/a`, `${receiver.url}/b/c?d=1`, `${receiver.url}/`) },
    };
    const fresh = async (): Promise<string> =>
      (
        await notifier.webhooks.create({
          name: "target",
          url: `${receiver.url}/hook`,
          format: "json",
          events: ["started"],
          headers: { "X-Kept": "1" },
        })
      ).id;
    const ops = operations(document);
    expect(ops.map((op) => `${op.method} ${op.path}`).sort()).toEqual([
      "DELETE /v1/webhooks/{webhook_id}",
      "GET /v1/webhooks",
      "GET /v1/webhooks/{webhook_id}",
      "GET /v1/webhooks/{webhook_id}/deliveries",
      "PATCH /v1/webhooks/{webhook_id}",
      "POST /v1/webhooks",
      "POST /v1/webhooks/test",
      "POST /v1/webhooks/{webhook_id}/preview",
      "PUT /v1/webhooks/{webhook_id}",
    ]);
    for (const op of ops) {
      const send = async (body: unknown): Promise<{ status: number; body: unknown }> => {
        const path = op.hasId ? op.path.replace("{webhook_id}", await fresh()) : op.path;
        return call(op.method, path, body);
      };
      if (op.requestSchema === undefined) {
        const answer = await send(undefined);
        expect(answer.status, `${op.method} ${op.path}`).toBeLessThan(300);
        checkAnswer(op, answer.status, answer.body);
        continue;
      }
      await fc.assert(
        fc.asyncProperty(validArbitrary(op.requestSchema, options), async (body) => {
          const answer = await send(body);
          expect(
            answer.status,
            `${op.method} ${op.path} refused a valid body ${JSON.stringify(body)}: ${JSON.stringify(answer.body)}`,
          ).toBeLessThan(300);
          checkAnswer(op, answer.status, answer.body);
        }),
        { numRuns: Number(process.env["OPENAPI_RUNS"] ?? 50) },
      );
      await fc.assert(
        fc.asyncProperty(invalidArbitrary(op.requestSchema, options), async ({ value, broken }) => {
          const answer = await send(value);
          expect(
            answer.status,
            `${op.method} ${op.path} took a body that breaks ${broken}: ${JSON.stringify(value)}`,
          ).toBe(400);
          checkAnswer(op, answer.status, answer.body);
        }),
        { numRuns: Number(process.env["OPENAPI_RUNS"] ?? 50) },
      );
    }
    await badIds(call, ops, checkAnswer, compat);
  });
});

/** Ids the path parameter's schema refuses are answered 400, as the document says. */
async function badIds(
  call: AdminCall,
  ops: readonly Operation[],
  checkAnswer: (op: Operation, status: number, body: unknown) => void,
  compat: "predator" | undefined,
): Promise<void> {
  const bad = compat === "predator" ? ["not-a-uuid", "123"] : ["a b", "x".repeat(257), "..%2Fetc"];
  for (const op of ops.filter((o) => o.hasId)) {
    for (const id of bad) {
      const answer = await call(
        op.method,
        op.path.replace("{webhook_id}", id),
        op.method === "GET" || op.method === "DELETE" ? undefined : {},
      );
      expect(answer.status, `${op.method} ${op.path} with id ${id}`).toBe(400);
      checkAnswer(op, answer.status, answer.body);
    }
  }
}

// Issue 18: the document's paths are built from the routes table the admin dispatches on. These pin that
// the two stay one list, whichever side someone adds to.
describe.each([
  ["runhooks' own wire", undefined],
  ["Predator mode", "predator"],
] as const)("the admin's OpenAPI paths are its routes table (%s)", (_label, compat) => {
  it("has every route × method of the table in paths, and every path × method of paths in the table (issue 18)", () => {
    const document = buildOpenApiDocument({ formats: ["json"], compat });
    // The OpenAPI path of a route, written out here rather than taken from openapi.ts, so that a wrong
    // mapping there cannot agree with itself.
    const table = routes.flatMap((route) => {
      const parts = route.path === "" ? [] : route.path.split("/");
      const path = ["/v1/webhooks", ...parts.map((part) => (part === ":id" ? "{webhook_id}" : part))].join(
        "/",
      );
      return Object.keys(route.methods).map((method) => `${method} ${path}`);
    });
    const documented = operations(document).map((op) => `${op.method} ${op.path}`);
    for (const operation of table) {
      expect(documented, `${operation} is a route the document leaves out`).toContain(operation);
    }
    for (const operation of documented) {
      expect(table, `${operation} is in the document but not a route`).toContain(operation);
    }
    // The same length too: a route listed twice in the table would otherwise pass.
    expect(documented).toHaveLength(table.length);
    for (const [path, item] of Object.entries(document.paths)) {
      const placeholders = [...path.matchAll(/\{(\w+)\}/g)].map((match) => match[1]);
      const declared = (item["parameters"] as Array<{ name: string; in: string }>)
        .filter((parameter) => parameter.in === "path")
        .map((parameter) => parameter.name);
      expect(declared, `the path parameters ${path} declares`).toEqual(placeholders);
    }
  });

  it("answers 405 to a method a documented path does not list, with Allow naming those it does (issue 18)", async () => {
    const { call } = setup(compat === undefined ? {} : { compat });
    const document = (await call("GET", "/openapi.json")).body as OpenApiDocument;
    for (const [path, item] of Object.entries(document.paths)) {
      const listed = Object.keys(item)
        .filter((key) => key !== "parameters")
        .map((method) => method.toUpperCase());
      for (const method of ["GET", "POST", "PUT", "PATCH", "DELETE"].filter((m) => !listed.includes(m))) {
        const answer = await call(method, path.replace("{webhook_id}", "some-id"));
        expect(answer.status, `${method} ${path}`).toBe(405);
        expect(answer.headers.get("allow"), `${method} ${path}`).toBe(listed.join(", "));
      }
    }
  });
});
