// Imports the packed tarball as a user would (ESM), and delivers one real webhook to a loopback receiver.
import { createServer } from "node:http";
import { createNotifier, isValidationError } from "runhooks";
import { startReceiver, sampleEvents, testStore } from "runhooks/testing";
import { createAdmin, maskUrl } from "runhooks/admin";
import { SLACK_LIMITS, escapeSlack } from "runhooks/formatters";
import { sqliteBackend, sqliteStore } from "runhooks/sqlite";
import { postgresStore } from "runhooks/postgres";

const receiver = await startReceiver();
const notifier = createNotifier({ network: { allowPrivate: true } });
await notifier.webhooks.create({
  name: "smoke",
  url: `${receiver.url}/smoke`,
  format: "json",
  events: ["started", "finished"],
  global: true,
});
const run = notifier.run({ id: "smoke-run", testId: "t", name: "smoke" });
run.started();
run.finished({ score: 1 });
await notifier.close();
await receiver.close();

const types = receiver.requests.map((r) => r.json().type).join(",");
if (types.split(",").sort().join(",") !== "finished,started")
  throw new Error(`unexpected deliveries: ${types}`);
try {
  notifier.run({ id: "x" });
  throw new Error("invalid run info was accepted");
} catch (error) {
  if (!isValidationError(error)) throw error;
}
if (Object.keys(sampleEvents()).length !== 8 || typeof testStore !== "function") {
  throw new Error("testing entry point is incomplete");
}
if (escapeSlack("<b>") !== "&lt;b&gt;" || typeof SLACK_LIMITS.text !== "number") {
  throw new Error("formatters entry point is incomplete");
}
if (maskUrl("https://hooks.example.com/secret") !== "https://hooks.example.com/***") {
  throw new Error("admin entry point has no maskUrl");
}
// The admin subpath: its API answers through the fetch handler.
const adminNotifier = createNotifier();
const admin = createAdmin(adminNotifier, {
  authorize: (request) => request.headers.get("authorization") === "Bearer t",
});
const listed = await admin.fetch(
  new Request("http://admin.local/v1/webhooks", { headers: { authorization: "Bearer t" } }),
);
if (listed.status !== 200) throw new Error(`admin answered ${listed.status}`);
admin.close();
await adminNotifier.close();
// runhooks/sqlite imports without better-sqlite3 (an optional peer dependency, not installed here); using
// it says what to install.
for (const open of [() => sqliteBackend({ file: "smoke.db" }), () => sqliteStore({ file: "smoke.db" })]) {
  try {
    open();
    throw new Error("runhooks/sqlite opened a file without better-sqlite3");
  } catch (error) {
    if (!String(error.message).includes("npm install better-sqlite3@^12")) throw error;
  }
}
// runhooks/postgres imports without pg (an optional peer dependency, not installed here); using it says
// what to install.
try {
  postgresStore({ connectionString: "postgres://smoke@127.0.0.1:1/smoke" });
  throw new Error("runhooks/postgres made a pool without pg");
} catch (error) {
  if (!String(error.message).includes("npm install pg@^8")) throw error;
}
void createServer;
console.log(`smoke (ESM, Node ${process.version}): delivered ${types}`);
