import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { WebhookRecord } from "../../src/webhooks/model.js";
import { TOKEN, adminSetup } from "../helpers/admin.js";

// Tenants requests and webhooks draw from; `undefined` is "none".
const TENANTS = ["acme", "beta", "gamma", undefined] as const;
type Tenant = (typeof TENANTS)[number];

const tenant = fc.constantFrom(...TENANTS);
const request = fc.record({
  route: fc.constantFrom("get", "put", "patch", "delete", "deliveries", "preview", "list", "create"),
  /** Which existing webhook the request names (modulo their number), or an id no webhook has. */
  target: fc.option(fc.nat(), { nil: undefined }),
  header: tenant,
  /** What authorize() pins for this request's credentials, if anything. */
  pinned: tenant,
});

const body = {
  name: "n",
  url: "https://hooks.example.com/p/SECRET",
  format_type: "json",
  events: ["started"],
};

interface Effect {
  status: number;
  body: unknown;
}

describe("admin tenancy (property)", () => {
  it("no request in tenant A's context ever reads, changes or deletes a webhook of B (or of none)", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(tenant, { minLength: 1, maxLength: 5 }),
        fc.array(request, { maxLength: 12 }),
        async (owners, requests) => {
          const { notifier, call, close } = adminSetup({
            // The credentials say which tenant they are pinned to, if any.
            authorize: (r) => {
              const auth = r.headers.get("authorization") ?? "";
              if (auth === `Bearer ${TOKEN}`) return true;
              const pinned = /^Bearer pinned:(.+)$/.exec(auth)?.[1];
              return pinned === undefined ? false : { tenant: pinned };
            },
          });
          try {
            const ids: string[] = [];
            for (const [i, owner] of owners.entries()) {
              const hook = await notifier.webhooks.create({
                name: `w${i}`,
                url: `https://hooks.example.com/${i}/SECRET`,
                format: "json",
                events: ["started"],
                ...(owner !== undefined && { tenant: owner }),
              });
              ids.push(hook.id);
            }
            for (const r of requests) {
              const effective: Tenant = r.pinned ?? r.header;
              const targetId =
                r.target === undefined ? "0d6f6e3c-5b1e-4f1a-9a59-000000000000" : ids[r.target % ids.length];
              const before = await snapshot(notifier, ids);
              const answer = await send(call, r.route, targetId ?? "", {
                authorization: r.pinned === undefined ? `Bearer ${TOKEN}` : `Bearer pinned:${r.pinned}`,
                ...(r.header !== undefined && { "x-context-id": r.header }),
              });
              const after = await snapshot(notifier, ids);
              if (r.pinned !== undefined && r.header !== undefined && r.header !== r.pinned) {
                expect(answer.status).toBe(403);
                expect(after).toEqual(before);
                continue;
              }
              if (effective === undefined) continue; // no tenant: Predator's rule, every webhook is visible
              checkScoped(r.route, effective, targetId, before, after, answer);
            }
          } finally {
            await close();
          }
        },
      ),
      { numRuns: 60 },
    );
  });
});

/** Every stored record by id (`undefined` once deleted). */
async function snapshot(
  notifier: ReturnType<typeof adminSetup>["notifier"],
  ids: readonly string[],
): Promise<Map<string, WebhookRecord | undefined>> {
  const out = new Map<string, WebhookRecord | undefined>();
  for (const id of ids) out.set(id, (await notifier.webhooks.get(id))?.reveal());
  return out;
}

function send(
  call: ReturnType<typeof adminSetup>["call"],
  route: string,
  id: string,
  headers: Record<string, string>,
): Promise<Effect> {
  const path = `/v1/webhooks/${id}`;
  switch (route) {
    case "get":
      return call("GET", path, undefined, headers);
    case "put":
      return call("PUT", path, { ...body, name: "changed" }, headers);
    case "patch":
      return call("PATCH", path, { name: "changed", url: "https://evil.example.com/x" }, headers);
    case "delete":
      return call("DELETE", path, undefined, headers);
    case "deliveries":
      return call("GET", `${path}/deliveries`, undefined, headers);
    case "preview":
      return call("POST", `${path}/preview`, { event: "started" }, headers);
    case "list":
      return call("GET", "/v1/webhooks", undefined, headers);
    default:
      return call("POST", "/v1/webhooks", body, headers);
  }
}

function checkScoped(
  route: string,
  effective: string,
  targetId: string | undefined,
  before: Map<string, WebhookRecord | undefined>,
  after: Map<string, WebhookRecord | undefined>,
  answer: Effect,
): void {
  // Whatever it was, no webhook of another tenant (or of none) changed or went away.
  for (const [id, record] of before) {
    if (record !== undefined && record.tenant !== effective) expect(after.get(id), id).toEqual(record);
  }
  const text = JSON.stringify(answer.body ?? null);
  for (const [id, record] of before) {
    if (record !== undefined && record.tenant !== effective)
      expect(text.includes(id), `answer shows ${id}`).toBe(false);
  }
  if (route === "list") {
    expect(answer.status).toBe(200);
    for (const w of answer.body as Array<{ context_id?: string }>) expect(w.context_id).toBe(effective);
    return;
  }
  if (route === "create") {
    expect(answer).toMatchObject({ status: 201, body: { context_id: effective } });
    return;
  }
  const target = targetId === undefined ? undefined : before.get(targetId);
  if (target === undefined || target.tenant !== effective) {
    expect(answer.status, `${route} of another tenant's webhook`).toBe(404);
  } else {
    expect(answer.status, `${route} of the tenant's own webhook`).toBeLessThan(300);
  }
}
