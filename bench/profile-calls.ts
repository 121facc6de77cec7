/**
 * A runner call in a loop and nothing else, for `node --cpu-prof`: the profile then shows only what
 * the call costs. No network: the transport is a stub.
 *
 *   node --cpu-prof --cpu-prof-dir=.tmp/prof --import tsx bench/profile-calls.ts quiet|event [seconds]
 *   node --import tsx bench/profile-summary.ts .tmp/prof/<file>.cpuprofile 30 /src/
 *
 * `quiet`: `run.stats()` that fires no event. `event`: `run.stats()` with 5xx, firing `api_failure` to
 * 100 webhooks, awaited until delivered through the stub (a fresh run every 10 calls).
 */
import { stubNotifier } from "./calls.js";
import { FAILING_BATCH, QUIET_BATCH, runInfo } from "./payload.js";

const mode = process.argv[2] ?? "quiet";
const seconds = Number(process.argv[3] ?? 5);
if (mode !== "quiet" && mode !== "event") {
  console.error("usage: bench/profile-calls.ts quiet|event [seconds]");
  process.exit(2);
}

const notifier = await stubNotifier(100);

let serial = 0;
let run = notifier.run(runInfo(`profile-${serial++}`));
run.stats(QUIET_BATCH);
await notifier.flush();

const until = performance.now() + seconds * 1000;
let calls = 0;
const started = performance.now();
if (mode === "quiet") {
  while (performance.now() < until) {
    for (let i = 0; i < 1000; i++) run.stats(QUIET_BATCH);
    calls += 1000;
  }
} else {
  while (performance.now() < until) {
    if (calls % 10 === 0) {
      run = notifier.run(runInfo(`profile-${serial++}`));
      run.stats(QUIET_BATCH);
    }
    run.stats(FAILING_BATCH);
    await notifier.flush();
    calls += 1;
  }
}
const elapsed = performance.now() - started;
console.log(`${mode}: ${calls} calls, ${((elapsed * 1000) / calls).toFixed(2)} µs per call (wall)`);
await notifier.close();
