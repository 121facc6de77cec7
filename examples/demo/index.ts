/**
 * The runhooks demo: a real load test, real webhooks, all on 127.0.0.1.
 *
 *   npm install && npm run demo              (about 25 seconds; --duration N sets the main run's seconds)
 *
 * 1. A service under test starts; part-way through the run it answers some requests with 503.
 * 2. A receiver stands in for Slack, Teams, Discord and a JSON endpoint, and prints every message the
 *    way a person would read it (and verifies the JSON webhook's signature).
 * 3. autocannon loads the service; runhooks turns the run into started, in_progress, api_failure,
 *    benchmark and finished notifications. A second, short run is aborted.
 * 4. A summary shows what each webhook received. The exit code is 0 only if every expected message arrived.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import {
  createNotifier,
  generateSecret,
  verifyWebhook,
  type DeliveryReport,
  type EventName,
  type Webhook,
} from "runhooks";
import { runLoadTest } from "../autocannon-runner/runner.js";

const argument = (name: string, fallback: number): number => {
  const index = process.argv.indexOf(name);
  const value = index > 0 ? Number(process.argv[index + 1]) : Number.NaN;
  return Number.isFinite(value) && value > 0 ? value : fallback;
};
const DURATION = argument("--duration", 16);
const tty = process.stdout.isTTY;
const dim = (text: string): string => (tty ? `\x1b[2m${text}\x1b[0m` : text);
const bold = (text: string): string => (tty ? `\x1b[1m${text}\x1b[0m` : text);

// --- 1. The service under test ------------------------------------------------------------------
let failing = false;
const service = await listen(
  createServer((_req, res) => {
    // While "failing", one request in ten gets a 503: the run sees server errors (api_failure).
    if (failing && Math.random() < 0.1) res.writeHead(503).end("busy");
    else res.writeHead(200, { "content-type": "application/json" }).end('{"ok":true}');
  }),
);

// --- 2. The receiver standing in for Slack, Teams, Discord and a JSON endpoint -----------------
const secret = generateSecret();
const received = new Map<string, Array<{ run: string; event: string }>>();
const receiver = await listen(
  createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const format = (req.url ?? "").slice(1);
      const body = Buffer.concat(chunks).toString("utf8");
      const { run, event, lines } = readable(format, body, req.headers);
      received.set(format, [...(received.get(format) ?? []), { run, event }]);
      clearProgress();
      console.log(`  ${bold(`[${format}]`.padEnd(10))} ${lines[0] ?? ""}`);
      for (const line of lines.slice(1)) console.log(`  ${" ".repeat(10)} ${dim(line)}`);
      // Teams Workflows answer 202, Discord 204, Slack 200 "ok": all success.
      res
        .writeHead(format === "teams" ? 202 : format === "discord" ? 204 : 200)
        .end(format === "slack" ? "ok" : undefined);
    });
  }),
);
const receiverUrl = `http://127.0.0.1:${port(receiver)}`;

// --- 3. The notifier and its webhooks -------------------------------------------------------------
const notifier = createNotifier({
  // The demo's receiver is on 127.0.0.1, which runhooks refuses unless told otherwise.
  network: { allowPrivate: true },
  apiFailureCooldownMs: 4_000,
  display: { productName: "runhooks demo" },
});
const reports: DeliveryReport[] = [];
notifier.on("delivery", (report) => reports.push(report));
notifier.on("warning", (warning) => console.log(`  ${bold("warning")} ${warning.message}`));

const all: EventName[] = [
  "started",
  "in_progress",
  "api_failure",
  "aborted",
  "failed",
  "finished",
  "benchmark_passed",
  "benchmark_failed",
];
const hooks: Webhook[] = [
  await notifier.webhooks.create({
    name: "perf-team (Slack)",
    url: `${receiverUrl}/slack`,
    format: "slack",
    events: all,
    global: true,
  }),
  await notifier.webhooks.create({
    name: "ops channel (Teams)",
    url: `${receiverUrl}/teams`,
    format: "teams",
    events: all,
    global: true,
  }),
  await notifier.webhooks.create({
    name: "ci (JSON, signed)",
    url: `${receiverUrl}/json`,
    format: "json",
    events: all,
    global: true,
    secret,
  }),
];
const discord = await notifier.webhooks.create({
  name: "checkout squad (Discord, ad hoc)",
  url: `${receiverUrl}/discord`,
  format: "discord",
  events: all,
});
hooks.push(discord);

console.log(
  bold(`runhooks demo`) + dim(` — service http://127.0.0.1:${port(service)}, receiver ${receiverUrl}`),
);
console.log(dim(`  webhooks: ${hooks.map((h) => `${h.name} ${h.url}`).join(" · ")}\n`));

// --- 4. Run 1: a full load test with a failure window, scored against a benchmark --------------
console.log(bold(`Run 1: checkout flow, ${DURATION} s at 10 connections`));
const first = await runLoadTest(notifier, {
  url: `http://127.0.0.1:${port(service)}/checkout`,
  duration: DURATION,
  run: {
    id: `demo-${Date.now()}-1`,
    testId: "checkout",
    name: "checkout flow",
    environment: "local",
    load: { duration: DURATION, runners: 1, maxVirtualUsers: 10 },
    links: [{ title: "Report", url: "https://predator.example/reports/demo" }],
    webhooks: [discord.id],
    benchmark: { threshold: 60, lastScores: [72.5, 68.1] },
  },
  onSecond: (second, batch) => {
    failing = second >= Math.floor(DURATION * 0.4) && second < Math.floor(DURATION * 0.7);
    progress(
      `  … ${second}/${DURATION} s: ${batch.requests ?? 0} requests, ${Object.entries(batch.codes ?? {})
        .map(([c, n]) => `${c}×${n}`)
        .join(" ")}`,
    );
  },
});
clearProgress();
console.log(
  dim(`  run 1 done: ${first.requests} requests, ${first.errors} errors, score ${first.score ?? "-"}\n`),
);

// --- 5. Run 2: stopped after three seconds -----------------------------------------------------
console.log(bold("Run 2: search smoke test, stopped after 3 s"));
await runLoadTest(notifier, {
  url: `http://127.0.0.1:${port(service)}/search`,
  duration: 10,
  abortAfter: 3,
  run: { id: `demo-${Date.now()}-2`, testId: "search", name: "search smoke", environment: "local" },
  onSecond: (second, batch) => progress(`  … ${second} s: ${batch.requests ?? 0} requests`),
});
clearProgress();

// --- 6. Drain, summarise, check -----------------------------------------------------------------
const { drained } = await notifier.close({ timeoutMs: 30_000 });
service.close();
receiver.close();

console.log(bold("\nSummary"));
const rows = hooks.map((hook) => {
  const mine = reports.filter((r) => r.webhookId === hook.id);
  return {
    webhook: hook.name,
    delivered: mine.filter((r) => r.outcome === "delivered").length,
    attempts: mine.filter((r) => r.attempt > 0).length,
    failures: mine.filter((r) => r.final && !r.ok).length,
    events: [...new Set(mine.filter((r) => r.ok).map((r) => r.event))].join(", "),
  };
});
console.table(rows);

// Every webhook must have received the lifecycle of each run it applies to.
const expectedRun1 = [
  "started",
  "in_progress",
  "api_failure",
  first.score !== undefined && first.score >= 60 ? "benchmark_passed" : "benchmark_failed",
  "finished",
];
const expectedRun2 = ["started", "in_progress", "aborted"];
const missing: string[] = [];
for (const format of ["slack", "teams", "json", "discord"]) {
  const got = received.get(format) ?? [];
  const runs = [...new Set(got.map((g) => g.run))];
  const check = (runIndex: number, expected: string[]): void => {
    const events = got.filter((g) => g.run.endsWith(`-${runIndex}`)).map((g) => g.event);
    for (const event of expected)
      if (!events.includes(event)) missing.push(`${format}: run ${runIndex} ${event}`);
  };
  check(1, expectedRun1);
  if (format === "discord") {
    if (runs.some((r) => r.endsWith("-2")))
      missing.push("discord: received run 2, but it is ad hoc for run 1 only");
  } else check(2, expectedRun2);
}
if (missing.length > 0 || !drained) {
  console.log(bold(`\nMissing: ${missing.join("; ") || "(queue not drained)"}`));
  process.exitCode = 1;
} else {
  console.log(bold("\nEvery expected message arrived."));
}

// --- helpers ----------------------------------------------------------------------------------

async function listen(server: Server): Promise<Server> {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return server;
}

function port(server: Server): number {
  return (server.address() as AddressInfo).port;
}

function progress(text: string): void {
  if (tty) process.stdout.write(`\r${text.padEnd(78)}`);
}

function clearProgress(): void {
  if (tty) process.stdout.write(`\r${" ".repeat(80)}\r`);
}

/** The message as a person would read it in each service. */
function readable(
  format: string,
  body: string,
  headers: Parameters<typeof verifyWebhook>[1],
): { run: string; event: string; lines: string[] } {
  const message = JSON.parse(body) as Record<string, unknown>;
  const footerRun = (text: string): string => /run (demo-\S+)/.exec(text)?.[1] ?? "?";
  switch (format) {
    case "slack": {
      const attachment = (
        message.attachments as Array<{
          blocks: Array<{
            type: string;
            fields?: Array<{ text: string }>;
            text?: { text: string };
            elements?: Array<{ text: string }>;
          }>;
        }>
      )[0];
      const fields =
        attachment?.blocks
          .flatMap((b) => b.fields ?? [])
          .map((f) => f.text.replace("\n", ": ").replace(/\*/g, "")) ?? [];
      const context = attachment?.blocks.find((b) => b.type === "context")?.elements?.[0]?.text ?? "";
      return {
        run: footerRun(context),
        event: eventOf(String(message.text)),
        lines: [String(message.text), fields.join(" · ")],
      };
    }
    case "teams": {
      const card = (
        message.attachments as Array<{
          content: {
            body: Array<{ type: string; text?: string; facts?: Array<{ title: string; value: string }> }>;
          };
        }>
      )[0]?.content;
      const title = card?.body[0]?.text ?? "";
      const facts =
        card?.body.find((e) => e.type === "FactSet")?.facts?.map((f) => `${f.title}: ${f.value}`) ?? [];
      const footer = card?.body.at(-1)?.text ?? "";
      return { run: footerRun(footer), event: eventOf(title), lines: [title, facts.join(" · ")] };
    }
    case "discord": {
      const embed = (
        message.embeds as Array<{
          title: string;
          fields: Array<{ name: string; value: string }>;
          footer: { text: string };
        }>
      )[0];
      const fields =
        embed?.fields.filter((f) => f.name !== "Links").map((f) => `${f.name}: ${f.value}`) ?? [];
      return {
        run: footerRun(embed?.footer.text ?? ""),
        event: eventOf(embed?.title ?? ""),
        lines: [embed?.title ?? "", fields.join(" · ")],
      };
    }
    default: {
      let verified = "signature ✓";
      try {
        verifyWebhook(secret, headers, body);
      } catch (error) {
        verified = `signature ✗ (${(error as Error).message})`;
      }
      const data = message.data as { run: { id: string } };
      return {
        run: data.run.id,
        event: String(message.type),
        lines: [`${String(message.type)} for run ${data.run.id} — ${verified}`],
      };
    }
  }
}

/** Recovers the event name from a chat title, for the summary check. */
function eventOf(title: string): string {
  const verbs: Array<[string, string]> = [
    ["passed its benchmark", "benchmark_passed"],
    ["failed its benchmark", "benchmark_failed"],
    ["is getting server errors", "api_failure"],
    ["is in progress", "in_progress"],
    ["was aborted", "aborted"],
    ["failed to run", "failed"],
    ["started", "started"],
    ["finished", "finished"],
  ];
  return verbs.find(([verb]) => title.includes(verb))?.[1] ?? "unknown";
}
