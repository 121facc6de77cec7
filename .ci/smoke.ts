// Type-checks the packed tarball's declarations as a TypeScript user sees them (strict, NodeNext):
// `tsc --noEmit` over this file in the smoke project, where runhooks is installed from the tarball.
import { createNotifier, type DeliveryReport, type RunEvent, type Webhook } from "runhooks";
import { createAdmin, type Admin } from "runhooks/admin";
import { type SlackMessage, escapeDiscord } from "runhooks/formatters";
import { sqliteBackend, type SqliteBackendOptions } from "runhooks/sqlite";
import { postgresStore, type PostgresStore } from "runhooks/postgres";
import { sampleEvents, startReceiver, testQueue, testRunState, type TestReceiver } from "runhooks/testing";

const notifier = createNotifier({ network: { allowPrivate: true } });
const admin: Admin = createAdmin(notifier, { authorize: () => ({ tenant: "acme" }) });
const receiver: Promise<TestReceiver> = startReceiver();
const hook: Promise<Webhook> = notifier.webhooks.create({
  name: "t",
  url: "https://hooks.example.com/x",
  format: "json",
  events: ["started"],
});
const events: Record<string, RunEvent> = sampleEvents();
notifier.on("delivery", (report: DeliveryReport) => report.outcome);
// @ts-expect-error an unknown event name is a type error
notifier.bus.on("exploded", () => undefined);
const message: SlackMessage = { text: escapeDiscord("*x*"), blocks: [], attachments: [] };
const durable: SqliteBackendOptions = { file: "./runhooks.db", leaseMs: 15_000 };
const backends: Array<typeof sqliteBackend | typeof testQueue | typeof testRunState> = [
  sqliteBackend,
  testQueue,
  testRunState,
];
const shared: () => PostgresStore = () => postgresStore({ connectionString: "postgres://app@db/platform" });
export { admin, backends, durable, shared, events, hook, message, receiver };
