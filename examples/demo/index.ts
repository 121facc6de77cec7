/**
 * The runhooks demo: a real load test, real webhooks, all on 127.0.0.1.
 *
 *   npm install && npm run demo              (about 25 seconds; --duration N sets the main run's seconds)
 *
 * 1. A service under test starts; part-way through the run it answers some requests with 503.
 * 2. A receiver stands in for Slack, Teams, Discord and a JSON endpoint, and prints every message the
 *    way a person would read it (and verifies the JSON webhook's signature). The JSON endpoint answers
 *    503 to the first attempt of every delivery, so each JSON message shows a retry and its wait.
 * 3. autocannon loads the service; runhooks turns the run into started, in_progress, api_failure,
 *    benchmark and finished notifications. A second, short run is aborted.
 * 4. A summary shows what each webhook received. The exit code is 0 only if every expected message
 *    arrived and every JSON message was retried once.
 */
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import {
  createNotifier,
  generateSecret,
  verifyWebhook,
  type DeliveryReport,
  type StatsBatch,
} from "runhooks";
import { runLoadTest } from "../autocannon-runner/runner.js";

const argument = (name: string, fallback: number): number => {
  const index = process.argv.indexOf(name);
  const value = index > 0 ? Number(process.argv[index + 1]) : Number.NaN;
  return Number.isFinite(value) && value > 0 ? value : fallback;
};
const DURATION = argument("--duration", 16);
/** The first retry's backoff (runhooks' default), set here so that the retry lines can say how long it is. */
const MIN_DELAY_MS = 1_000;
/** The one Retry-After the JSON endpoint sends, in seconds: runhooks waits exactly that long. */
const RETRY_AFTER_S = 1;
const tty = process.stdout.isTTY;
// `npm run demo | head` closes the pipe early: stop quietly then, as command-line tools do.
process.stdout.on("error", (error: NodeJS.ErrnoException) => {
  if (error.code === "EPIPE") process.exit(process.exitCode ?? 0);
  throw error;
});
const dim = (text: string): string => (tty ? `\x1b[2m${text}\x1b[0m` : text);
const bold = (text: string): string => (tty ? `\x1b[1m${text}\x1b[0m` : text);
const count = (n: number): string => n.toLocaleString("en-US");
const runLabel = (runId: string): string => `run ${runId.slice(runId.lastIndexOf("-") + 1)}`;

const status = statusLine();

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
/** The JSON endpoint's attempts per delivery, by `webhook-id` (the same on every retry of a delivery). */
const attempts = new Map<string, { count: number; firstAt: number }>();
let retryAfterSent = false;
const receiver = await listen(
  createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const format = (req.url ?? "").slice(1);
      const seen = format === "json" ? countAttempt(req) : undefined;
      if (seen?.count === 1) {
        // The first attempt of a delivery fails, as a busy endpoint would; once, it says when to come back.
        const headers = retryAfterSent ? {} : { "retry-after": String(RETRY_AFTER_S) };
        retryAfterSent = true;
        res.writeHead(503, headers).end("busy");
        return;
      }
      const body = Buffer.concat(chunks).toString("utf8");
      const { run, event, lines } = readable(format, body, req.headers);
      received.set(format, [...(received.get(format) ?? []), { run, event }]);
      const retried = seen
        ? ` — arrived on attempt ${seen.count}, ${seconds(Date.now() - seen.firstAt)} after the first`
        : "";
      say(`  ${bold(`[${format}]`.padEnd(10))} ${lines[0] ?? ""}${retried}`);
      for (const line of lines.slice(1)) say(`  ${" ".repeat(10)} ${dim(line)}`);
      // Teams Workflows answer 202, Discord 204, Slack 200 "ok": all success.
      res
        .writeHead(format === "teams" ? 202 : format === "discord" ? 204 : 200)
        .end(format === "slack" ? "ok" : undefined);
    });
  }),
);
const receiverUrl = `http://127.0.0.1:${port(receiver)}`;

// --- 3. The notifier and its webhooks -------------------------------------------------------------
// Declared in code: usable at once, with no await. Global: they fire for every run.
const declared = [
  { id: "perf-team", name: "perf-team (Slack)", url: `${receiverUrl}/slack`, format: "slack" },
  { id: "ops-channel", name: "ops channel (Teams)", url: `${receiverUrl}/teams`, format: "teams" },
  { id: "ci", name: "ci (JSON, signed, flaky)", url: `${receiverUrl}/json`, format: "json", secret },
];
// Not global: defined inline by run 1, and fires for run 1 only.
const discord = {
  name: "checkout squad (Discord, ad hoc)",
  url: `${receiverUrl}/discord`,
  format: "discord",
};
const notifier = createNotifier({
  webhooks: declared,
  // The demo's receiver is on 127.0.0.1, which runhooks refuses unless told otherwise.
  network: { allowPrivate: true },
  apiFailureCooldownMs: 4_000,
  retry: { minDelayMs: MIN_DELAY_MS },
  display: { productName: "runhooks demo" },
});
const hooks = [...declared, discord];
// By name: the inline webhook's id derives from its run.
const formatOf = (report: DeliveryReport): string =>
  hooks.find((h) => h.name === report.webhookName)?.format ?? "?";
const reports: DeliveryReport[] = [];
notifier.on("delivery", (report) => {
  reports.push(report);
  const line = deliveryProblem(report);
  if (line !== undefined) say(`  ${bold(`[${formatOf(report)}]`.padEnd(10))} ${line}`);
});
notifier.on("warning", (warning) => say(`  ${bold("warning")} ${warning.message}`));

console.log(
  bold(`runhooks demo`) + dim(` — service http://127.0.0.1:${port(service)}, receiver ${receiverUrl}`),
);
console.log(dim(`  webhooks: ${hooks.map((h) => h.name).join(" · ")}`));
console.log(dim(`  the JSON endpoint answers 503 to the first attempt of each delivery, to show retries\n`));
status.start();

// --- 4. Run 1: a full load test with a failure window, scored against a benchmark --------------
say(bold(`Run 1: checkout flow, ${DURATION} s at 10 connections`));
status.set(`  … run 1: starting`);
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
    webhooks: [discord],
    benchmark: { threshold: 60, lastScores: [72.5, 68.1] },
  },
  onSecond: progressOf("run 1", DURATION, (second) => {
    failing = second >= Math.floor(DURATION * 0.4) && second < Math.floor(DURATION * 0.7);
  }),
});
// Run 1's last messages (benchmark, finished) are still on their way, some being retried: they belong
// under run 1's heading, so wait for them before run 2 starts.
const firstDrained = await settle("run 1");
const score = first.score ?? "-";
say(dim(`  run 1 done: ${count(first.requests)} requests, ${count(first.errors)} errors, score ${score}`));
say("");

// --- 5. Run 2: stopped after three seconds -----------------------------------------------------
say(bold("Run 2: search smoke test, stopped after 3 s"));
status.set(`  … run 2: starting`);
const second = await runLoadTest(notifier, {
  url: `http://127.0.0.1:${port(service)}/search`,
  duration: 10,
  abortAfter: 3,
  run: { id: `demo-${Date.now()}-2`, testId: "search", name: "search smoke", environment: "local" },
  onSecond: progressOf("run 2", 10),
});
const secondDrained = await settle("run 2");
say(dim(`  run 2 done: ${count(second.requests)} requests, aborted after 3 s`));

// --- 6. Close, summarise, check -----------------------------------------------------------------
const { drained } = await notifier.close({ timeoutMs: 30_000 });
status.stop();
service.close();
receiver.close();

console.log(bold("\nSummary"));
printSummary();
const problems = [...missingMessages(), ...missingRetries()];
if (!(firstDrained && secondDrained && drained)) problems.push("some deliveries were still queued");
if (problems.length > 0) {
  console.log(bold(`\nNot as expected: ${problems.join("; ")}`));
  process.exitCode = 1;
} else {
  console.log(
    bold("\nEvery expected message arrived, and every JSON message arrived on its second attempt."),
  );
}

// --- the run's output ---------------------------------------------------------------------------

/** The runner's per-second callback: keeps the status line current (and lets the caller react). */
function progressOf(run: string, duration: number, onSecond?: (second: number) => void) {
  let requests = 0;
  const codes: Record<string, number> = {};
  return (second: number, batch: StatsBatch): void => {
    onSecond?.(second);
    requests += batch.requests ?? 0;
    for (const [code, n] of Object.entries(batch.codes ?? {})) codes[code] = (codes[code] ?? 0) + n;
    const byCode = Object.entries(codes).map(([code, n]) => `${code} × ${count(n)}`);
    status.set(`  … ${run}: ${second}/${duration} s, ${count(requests)} requests (${byCode.join(", ")})`);
  };
}

/** Waits for every delivery queued so far, saying what it waits for. False if some were still queued. */
async function settle(run: string): Promise<boolean> {
  status.set(() => {
    const { queued, inFlight } = notifier.stats();
    const n = queued + inFlight;
    return `  … ${run} over; waiting for ${n} ${n === 1 ? "delivery" : "deliveries"} still queued or being retried`;
  });
  const { drained: done } = await notifier.flush({ timeoutMs: 30_000 });
  status.set("");
  return done;
}

/** The line for a delivery attempt that did not simply arrive (the receiver prints those), if any. */
function deliveryProblem(report: DeliveryReport): string | undefined {
  const what = `${report.event} (${runLabel(report.runId)})`;
  const answer = report.status === undefined ? (report.error?.code ?? "no response") : `${report.status}`;
  if (report.outcome === "retrying") {
    // Only a Retry-After gives the wait; otherwise it is the backoff, random within a known range.
    const low = MIN_DELAY_MS * 2 ** (report.attempt - 1);
    const wait =
      report.nextAttemptInMs !== undefined
        ? `${seconds(report.nextAttemptInMs)}, as its Retry-After asked`
        : `${low / 1000}–${(2 * low) / 1000} s (backoff with jitter)`;
    return `↻ ${what}: attempt ${report.attempt} answered ${answer}, retrying in ${wait}`;
  }
  if (report.ok) return undefined;
  if (superseded(report)) {
    return `↷ ${what}: not sent, the run ended first (an in_progress never attempted gives way to the run's last event)`;
  }
  return `✗ ${what}: ${report.outcome} (${report.reason ?? answer}) after ${report.attempt} attempt(s)`;
}

function countAttempt(req: IncomingMessage): { count: number; firstAt: number } {
  const id = String(req.headers["webhook-id"]);
  const seen = attempts.get(id) ?? { count: 0, firstAt: Date.now() };
  seen.count += 1;
  attempts.set(id, seen);
  return seen;
}

// --- summary and checks -------------------------------------------------------------------------

function printSummary(): void {
  const rows = hooks.map((hook) => {
    const mine = reports.filter((r) => r.webhookName === hook.name);
    return [
      hook.name,
      mine.filter((r) => r.outcome === "delivered").length,
      mine.filter((r) => r.attempt > 0).length,
      mine.filter((r) => r.outcome === "retrying").length,
      mine.filter((r) => r.final && !r.ok).length,
      [...new Set(mine.filter((r) => r.ok).map((r) => r.event))].join(", "),
    ];
  });
  for (const line of table(["webhook", "delivered", "attempts", "retries", "failures", "events"], rows))
    console.log(`  ${line}`);
}

/** Plain-text columns (readable in a log too): text left-aligned, numbers right-aligned, a rule under the header. */
function table(header: string[], rows: Array<Array<string | number>>): string[] {
  const widths = header.map((title, i) =>
    Math.max(title.length, ...rows.map((row) => String(row[i]).length)),
  );
  const numeric = header.map((_, i) => rows.every((row) => typeof row[i] === "number"));
  const line = (cells: Array<string | number>): string =>
    cells
      .map((cell, i) =>
        numeric[i] ? String(cell).padStart(widths[i] ?? 0) : String(cell).padEnd(widths[i] ?? 0),
      )
      .join("  ")
      .trimEnd();
  return [line(header), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map(line)];
}

/** Every webhook must have received the lifecycle of each run it applies to. */
function missingMessages(): string[] {
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
    const check = (runIndex: number, expected: string[]): void => {
      const events = got.filter((g) => g.run.endsWith(`-${runIndex}`)).map((g) => g.event);
      for (const event of expected) {
        if (events.includes(event) || wasSuperseded(format, runIndex, event)) continue;
        missing.push(`${format} missed run ${runIndex} ${event}`);
      }
    };
    check(1, expectedRun1);
    if (format !== "discord") check(2, expectedRun2);
    else if (got.some((g) => g.run.endsWith("-2")))
      missing.push("discord received run 2, but it is ad hoc for run 1 only");
  }
  return missing;
}

/** An in_progress still waiting when its run's terminal event is queued is dropped: that is the rule. */
function superseded(report: DeliveryReport): boolean {
  return report.outcome === "dropped" && report.reason === "superseded" && report.event === "in_progress";
}

function wasSuperseded(format: string, runIndex: number, event: string): boolean {
  return reports.some(
    (r) => superseded(r) && r.event === event && formatOf(r) === format && r.runId.endsWith(`-${runIndex}`),
  );
}

/** Every JSON delivery must have failed once with 503, then arrived on attempt 2; one waited for Retry-After. */
function missingRetries(): string[] {
  const json = hooks.find((h) => h.format === "json")?.name;
  const mine = reports.filter((r) => r.webhookName === json);
  const problems = mine
    .filter((r) => r.outcome === "delivered")
    .filter((r) => r.attempt !== 2 || !mine.some((m) => m.deliveryId === r.deliveryId && m.status === 503))
    .map(
      (r) => `json ${r.event} (${runLabel(r.runId)}) arrived on attempt ${r.attempt}, not after one retry`,
    );
  if (!mine.some((r) => r.outcome === "retrying" && r.nextAttemptInMs === RETRY_AFTER_S * 1000))
    problems.push("no retry waited for the Retry-After");
  return problems;
}

// --- helpers ----------------------------------------------------------------------------------

async function listen(server: Server): Promise<Server> {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return server;
}

function port(server: Server): number {
  return (server.address() as AddressInfo).port;
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(ms % 1000 === 0 ? 0 : 1)} s`;
}

/** Prints a line of output, keeping the status line (on a terminal) below it. */
function say(line: string): void {
  status.clear();
  console.log(line);
  status.draw();
}

/**
 * What the demo is doing, at least every 2 s: on a terminal, one line updated in place; piped (CI, a
 * log file), where `\r` does not work, a plain line every 2 s, so that a quiet stretch never looks hung.
 * Piped, an update prints if the last line is about 2 s old (every other per-second tick of a run); a
 * heartbeat prints the current text when nothing updated it for 2 s (while waiting for deliveries).
 */
function statusLine() {
  let text: string | (() => string) = "";
  let timer: NodeJS.Timeout | undefined;
  let printedAt = 0;
  const current = (): string => (typeof text === "function" ? text() : text);
  const print = (minAgeMs: number): void => {
    if (timer === undefined || tty || current() === "" || Date.now() - printedAt < minAgeMs) return;
    printedAt = Date.now();
    console.log(current());
  };
  const api = {
    set(next: string | (() => string)): void {
      text = next;
      api.draw();
      // A little under 2 s, so that ticks 1 s apart print every other one, whatever their jitter.
      print(1_900);
    },
    draw(): void {
      // The cursor goes back to the left margin: a line printed next starts there (say() clears first).
      if (tty && timer) process.stdout.write(`\r${current().slice(0, 79).padEnd(79)}\r`);
    },
    clear(): void {
      if (tty && timer) process.stdout.write(`\r${" ".repeat(79)}\r`);
    },
    start(): void {
      printedAt = Date.now();
      timer = setInterval(() => {
        api.draw();
        print(2_000);
      }, 100);
    },
    stop(): void {
      api.clear();
      clearInterval(timer);
      timer = undefined;
    },
  };
  return api;
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
