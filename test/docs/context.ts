// The names the docs' fragments take from their context (see snippets.test.ts). A block that uses one of
// these exports without declaring it gets `import { … } from "../_context.js"` as its prelude, for the
// type-check and for the run. The values are real where a runnable block uses them; `declare` marks the
// few that only no-run blocks use (importing one at run time fails, which is the point).
import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import type { IncomingHttpHeaders } from "node:http";
import { createNotifier, type DeliveryReport, type Notifier, type RunEvent } from "runhooks";
import { createAdmin } from "runhooks/admin";

export { afterAll, beforeAll, expect, it } from "vitest";

/** Where this run's requests go: the test's loopback receiver, under a path of the block's own. */
const receiverBase = process.env.SNIPPET_RECEIVER ?? "http://127.0.0.1:9/no-receiver";

/** The notifier the docs' fragments talk to: loopback allowed, since its webhooks point at the receiver. */
export const notifier: Notifier = createNotifier({ network: { allowPrivate: true } });
const problems: string[] = [];
notifier.on("error", (error) => problems.push(`notifier error: ${error.message}`));

/** A webhook URL ("url" in the docs): the receiver. */
export const url = `${receiverBase}/hook`;

/** An existing webhook's id ("id" in the docs). */
export const { id } = await notifier.webhooks.create({
  name: "context",
  url,
  format: "json",
  events: ["finished"],
});

/** The run a runner is reporting (docs/getting-started.md, docs/webhooks.md). */
export const reportId = "run-1";
export const testId = "t-1";
export const testName = "checkout";
export const name = testName;

/** A runner's progress and result, as the docs' stand-in runner reports them. */
export interface Tick {
  requests: number;
  statusCodes: Record<string, number>;
  p95: number;
}

// A stand-in for a runner's hooks: one tick and the result at once; it is neither aborted nor failing.
export function onTick(listener: (tick: Tick) => void): void {
  listener({ requests: 1200, statusCodes: { "200": 1180, "503": 20 }, p95: 212 });
}
export function onDone(listener: (result: { score: number }) => void): void {
  listener({ score: 91.5 });
}
export function onAbort(_listener: () => void): void {
  // never aborted
}
export function onError(_listener: (error: Error) => void): void {
  // never fails
}

/** "your runner" of docs/testing.md: one run from start to finish. */
export function runMyLoadTest(target: Notifier): Promise<void> {
  const run = target.run({ id: "run-7", testId, name: testName });
  run.started();
  run.stats({ requests: 10, codes: { "200": 10 } });
  run.finished({ score: 90 });
  return Promise.resolve();
}

/** What docs/testing.md collects. */
export const seen: RunEvent[] = [];
export const reports: DeliveryReport[] = [];

/** A logger (README.md). */
export function log(...values: unknown[]): void {
  console.log(...values);
}

/** docs/admin.md's `bearer()` (its own block defines it after the first use). */
export function bearer(token: string | undefined): (request: Request) => boolean {
  if (!token || token.length < 32) throw new Error("set ADMIN_TOKEN to a long random value");
  const digest = (value: string) => createHash("sha256").update(value).digest();
  const expected = digest(`Bearer ${token}`);
  return (request) => timingSafeEqual(digest(request.headers.get("authorization") ?? ""), expected);
}

/** docs/admin.md's admin, as its first block makes it. */
export const admin = createAdmin(notifier, {
  basePath: "/admin/hooks/",
  authorize: bearer(process.env.ADMIN_TOKEN),
});

/** "your own authentication" (docs/admin.md). */
export function sessionOf(request: Request): Promise<{ team: string } | undefined> {
  const team = request.headers.get("x-team");
  return Promise.resolve(team ? { team } : undefined);
}

/** A request signed with WEBHOOK_SECRET, as a receiver gets it (docs/security.md). */
export const rawBody = JSON.stringify({ type: "finished", timestamp: new Date().toISOString(), data: {} });
export const req: { headers: IncomingHttpHeaders } = { headers: signed(rawBody) };

function signed(body: string): IncomingHttpHeaders {
  const secret = process.env.WEBHOOK_SECRET ?? "whsec_";
  const webhookId = "msg_1";
  const timestamp = String(Math.floor(Date.now() / 1000));
  const key = Buffer.from(secret.replace(/^whsec_/, ""), "base64");
  const signature = createHmac("sha256", key).update(`${webhookId}.${timestamp}.${body}`).digest("base64");
  return { "webhook-id": webhookId, "webhook-timestamp": timestamp, "webhook-signature": `v1,${signature}` };
}

/** "your test database" (docs/custom-store.md): type-check only. */
export declare function freshDatabase(): Promise<unknown>;

/** For the harness, after a block ran: releases the context and says what went wrong in it. */
export async function disposeContext(): Promise<string[]> {
  admin.close();
  await notifier.close({ timeoutMs: 5000 });
  return problems;
}
