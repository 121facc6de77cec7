/**
 * The runhooks demo: a short simulated load run whose lifecycle notifications are delivered, for real,
 * over HTTP to a receiver on 127.0.0.1, and printed as they arrive.
 *
 *   npm install && npm run demo            (about 5 seconds; --seconds N to change)
 *
 * A later version runs a real autocannon load test; this one drives the run tracker with synthetic
 * statistics so the whole pipeline (tracker → bus → store → formatter → queue → undici) is visible.
 */
import { createNotifier, type DeliveryReport } from "../../src/index.js";
import { startReceiver } from "../../src/testing/index.js";

const secondsArg = process.argv.indexOf("--seconds");
const seconds = secondsArg > 0 ? Number(process.argv[secondsArg + 1]) : 5;

const receiver = await startReceiver({
  respond: (request) => {
    const { type, data } = request.json() as { type: string; data: { run: { name: string } } };
    console.log(`  ← receiver got ${type.padEnd(16)} for "${data.run.name}" (${request.body.length} bytes)`);
    return 204;
  },
});
// The demo delivers to 127.0.0.1, which runhooks refuses unless told otherwise.
const notifier = createNotifier({ apiFailureCooldownMs: 2_000, network: { allowPrivate: true } });
const reports: DeliveryReport[] = [];
notifier.on("delivery", (report) => reports.push(report));

await notifier.webhooks.create({
  name: "demo-json",
  url: `${receiver.url}/hooks/json`,
  format: "json",
  events: ["started", "in_progress", "api_failure", "benchmark_passed", "benchmark_failed", "finished"],
  global: true,
});

console.log(`runhooks demo: a ${seconds}s run, notifications to ${receiver.url}\n`);
const run = notifier.run({
  id: `demo-${Date.now()}`,
  testId: "checkout",
  name: "checkout flow",
  environment: "local",
  benchmark: { threshold: 80 },
});
run.started();
for (let second = 1; second <= seconds; second++) {
  await new Promise((resolve) => setTimeout(resolve, 1000));
  // Part-way through, the service under test starts answering some 503s.
  const failing = second >= Math.ceil(seconds / 2);
  run.stats({
    requests: 500,
    codes: failing ? { "200": 480, "503": 20 } : { "200": 500 },
    latency: { median: 40 + second, p95: 120 + second * 3, p99: 200 + second * 5 },
    rps: 500,
  });
  process.stdout.write(`  … second ${second}/${seconds}: 500 requests${failing ? ", 20 × 503" : ""}\n`);
}
run.finished({ score: 86.5 });
const { drained } = await notifier.close();
await receiver.close();

const ok = reports.filter((r) => r.ok).length;
console.log(`\n${ok}/${reports.length} deliveries succeeded; queue drained: ${drained}`);
process.exitCode = ok === reports.length && reports.length >= 5 ? 0 : 1;
