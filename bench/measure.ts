import { readdirSync, readFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";

/** One measured repetition of one path. */
export interface Measurement {
  deliveries: number;
  seconds: number;
  perSecond: number;
  /** Client (this process) user + system CPU per delivery, in microseconds. */
  cpuUsPerDelivery: number;
  /** Highest RSS sampled during the run, in MiB. */
  peakRssMb: number;
  /** Highest RSS sampled during the run less RSS when it started (after a full GC), in MiB. */
  rssRiseMb: number;
  /**
   * CPU used on the machine by anything but this process, the receiver and the PostgreSQL server, in
   * cores (Linux only; NaN elsewhere). More than a few tenths means another workload skewed the run.
   */
  foreignCores: number;
  /**
   * CPU the PostgreSQL server (its postmaster and every process it forked) used per delivery, in
   * microseconds, when the server runs on this machine and a path uses it; NaN otherwise.
   */
  serverCpuUsPerDelivery: number;
}

/** A path's repetitions, summarised. */
export interface Summary {
  median: number;
  min: number;
  max: number;
  /** (max − min) / median. */
  spread: number;
}

export function summarise(values: readonly number[]): Summary {
  if (values.length === 0)
    return { median: Number.NaN, min: Number.NaN, max: Number.NaN, spread: Number.NaN };
  const sorted = [...values].sort((a, b) => a - b);
  const median = percentile(sorted, 50);
  const min = sorted[0] ?? Number.NaN;
  const max = sorted[sorted.length - 1] ?? Number.NaN;
  return { median, min, max, spread: median === 0 ? 0 : (max - min) / median };
}

/** Linear-interpolated percentile of an ascending array. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = (p / 100) * (sorted.length - 1);
  const low = Math.floor(rank);
  const high = Math.ceil(rank);
  const a = sorted[low] ?? Number.NaN;
  const b = sorted[high] ?? Number.NaN;
  return a + (b - a) * (rank - low);
}

export const MB = 1024 * 1024;

/** Samples RSS on a timer. The event loop is busy while measuring, so samples land between tasks. */
export class RssSampler {
  #peak = 0;
  /** RSS at the first sample, in MiB. */
  readonly startMb: number;
  readonly #timer: NodeJS.Timeout;
  readonly samples: Array<{ atMs: number; rssMb: number; heapMb: number }> = [];
  readonly #started = performance.now();
  readonly #keep: boolean;

  constructor(intervalMs = 50, keep = false) {
    this.#keep = keep;
    this.sample();
    this.startMb = this.#peak / MB;
    this.#timer = setInterval(() => {
      this.sample();
    }, intervalMs);
  }

  sample(): void {
    const usage = process.memoryUsage();
    if (usage.rss > this.#peak) this.#peak = usage.rss;
    if (this.#keep) {
      this.samples.push({
        atMs: performance.now() - this.#started,
        rssMb: usage.rss / MB,
        heapMb: usage.heapUsed / MB,
      });
    }
  }

  stop(): number {
    this.sample();
    clearInterval(this.#timer);
    return this.#peak / MB;
  }
}

/** Full garbage collection before a measured run (node --expose-gc), so that runs start alike. */
export async function settle(): Promise<void> {
  // Let sockets closed by the previous run finish closing before collecting.
  await sleep(20);
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc) {
    gc();
    gc();
  }
}

/**
 * Times `run`, which performs `deliveries` deliveries, with the CPU and RSS it costs, and the CPU of the
 * PostgreSQL server whose postmaster is `serverPid`, if given. Rejects when it takes longer than
 * `timeoutMs`, so that a stuck path cannot hang the benchmark.
 */
export async function measure(
  deliveries: number,
  timeoutMs: number,
  run: () => Promise<void>,
  receiverPid?: number,
  serverPid?: number,
): Promise<Measurement> {
  await settle();
  const rss = new RssSampler();
  const foreign = new ForeignLoad(receiverPid, serverPid);
  const cpu = process.cpuUsage();
  const started = performance.now();
  await withTimeout(run(), timeoutMs, "a measured run");
  const seconds = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  const peakRssMb = rss.stop();
  const foreignCores = foreign.stop();
  return {
    deliveries,
    seconds,
    perSecond: deliveries / seconds,
    cpuUsPerDelivery: (used.user + used.system) / deliveries,
    peakRssMb,
    rssRiseMb: peakRssMb - rss.startMb,
    foreignCores,
    serverCpuUsPerDelivery: (foreign.serverSeconds * 1e6) / deliveries,
  };
}

// Linux reports /proc times in clock ticks; USER_HZ is 100 on every mainstream architecture.
const TICKS_PER_SECOND = 100;

/** Busy CPU seconds of the whole machine (steal included: the hypervisor giving our time away). */
function machineBusySeconds(): number {
  const fields = (readFileSync("/proc/stat", "utf8").split("\n")[0] ?? "")
    .trim()
    .split(/\s+/)
    .slice(1)
    .map(Number);
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = fields;
  return (user + nice + system + irq + softirq + steal) / TICKS_PER_SECOND;
}

/** The fields of /proc/<pid>/stat after the parenthesised command name (state is the first). */
function statFields(pid: number | string): string[] {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  return stat.slice(stat.lastIndexOf(")") + 2).split(" ");
}

function processCpuSeconds(pid: number): number {
  // utime and stime are the 12th and 13th fields after the command name.
  const fields = statFields(pid);
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
}

/**
 * CPU seconds of a process and every child it forked, live or gone: its own time, the time of the
 * children it has waited for (cutime, cstime), and that of its live children. PostgreSQL's postmaster
 * forks a process per connection and reaps it when it ends, so this is the whole server's time.
 */
export function processTreeCpuSeconds(pid: number): number {
  const own = statFields(pid);
  let ticks = Number(own[11]) + Number(own[12]) + Number(own[13]) + Number(own[14]);
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const fields = statFields(entry);
      // ppid is the second field after the command name.
      if (Number(fields[1]) === pid) ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      // Gone between the listing and the read: its time is in the parent's cutime now.
    }
  }
  return ticks / TICKS_PER_SECOND;
}

interface LoadReading {
  machine: number;
  own: number;
  receiver: number;
  server: number;
  at: number;
}

/**
 * How much CPU other workloads took while a run was measured, in cores: the machine's busy time less
 * this process's, the receiver's and (when it runs here) the PostgreSQL server's.
 */
export class ForeignLoad {
  readonly #pid: number | undefined;
  readonly #serverPid: number | undefined;
  readonly #start: LoadReading | undefined;
  /** The PostgreSQL server's CPU seconds over the run, after `stop()`; NaN without a server. */
  serverSeconds = Number.NaN;

  constructor(receiverPid?: number, serverPid?: number) {
    this.#pid = receiverPid;
    this.#serverPid = serverPid;
    this.#start = this.#read();
  }

  #read(): LoadReading | undefined {
    try {
      return {
        machine: machineBusySeconds(),
        own: processCpuSeconds(process.pid),
        receiver: this.#pid === undefined ? 0 : processCpuSeconds(this.#pid),
        server: this.#serverPid === undefined ? 0 : processTreeCpuSeconds(this.#serverPid),
        at: performance.now(),
      };
    } catch {
      return undefined;
    }
  }

  stop(): number {
    const end = this.#read();
    if (!this.#start || !end) return Number.NaN;
    if (this.#serverPid !== undefined) this.serverSeconds = end.server - this.#start.server;
    const other =
      end.machine -
      this.#start.machine -
      (end.own - this.#start.own) -
      (end.receiver - this.#start.receiver) -
      (end.server - this.#start.server);
    return Math.max(0, other) / ((end.at - this.#start.at) / 1000);
  }
}

export async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  const timer = new AbortController();
  try {
    return await Promise.race([
      promise,
      sleep(ms, undefined, { signal: timer.signal }).then(() => {
        throw new Error(`${what} took longer than ${ms} ms`);
      }),
    ]);
  } finally {
    timer.abort();
  }
}

/** Counts outstanding promises and resolves `idle()` when none is left; counts rejections. */
export class Pending {
  #outstanding = 0;
  #waiters: Array<() => void> = [];
  failures = 0;
  readonly #each: (() => void) | undefined;

  /** `each` is called whenever one of the promises settles. */
  constructor(each?: () => void) {
    this.#each = each;
  }

  readonly #onSettled = (): void => {
    this.#outstanding -= 1;
    this.#each?.();
    if (this.#outstanding === 0) {
      const waiters = this.#waiters;
      this.#waiters = [];
      for (const resolve of waiters) resolve();
    }
  };
  readonly #onRejected = (): void => {
    this.failures += 1;
    this.#onSettled();
  };

  add(promise: Promise<unknown>): void {
    this.#outstanding += 1;
    promise.then(this.#onSettled, this.#onRejected);
  }

  idle(): Promise<void> {
    if (this.#outstanding === 0) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push(resolve));
  }
}

/**
 * A runner that keeps at most `window` deliveries outstanding: it emits `total` events, the first
 * `window` at once and then one more each time a delivery ends. `window` 0 emits all of them in one
 * synchronous burst. Resolves when every delivery has ended.
 */
export class Feeder {
  #emitted = 0;
  #ended = 0;
  #resolve: (() => void) | undefined;
  readonly #total: number;
  readonly #window: number;
  readonly #emit: (i: number) => void;

  constructor(total: number, window: number, emit: (i: number) => void) {
    this.#total = total;
    this.#window = window === 0 ? total : window;
    this.#emit = emit;
  }

  run(): Promise<void> {
    const done = new Promise<void>((resolve) => {
      this.#resolve = resolve;
    });
    if (this.#total === 0) this.#resolve?.();
    while (this.#emitted < Math.min(this.#window, this.#total)) this.#emit(this.#emitted++);
    return done;
  }

  /** One delivery ended (delivered or finally failed). */
  ended(): void {
    this.#ended += 1;
    if (this.#emitted < this.#total) this.#emit(this.#emitted++);
    else if (this.#ended >= this.#total) this.#resolve?.();
  }
}

/**
 * The same runner as {@link Feeder}, for a notifier that is not listened to: `ended()` says how many
 * deliveries have ended so far (from `notifier.stats()`), and is polled once per event-loop turn, so
 * that the benchmark adds no `delivery` listener (runhooks skips building reports nobody takes).
 *
 * `idleMs` > 0 polls every `idleMs` instead, for a path that waits on a database: polling every turn
 * would spin a core while the process waits, on a machine whose other core the server needs. With
 * 1,024 deliveries outstanding, feeding up to a millisecond late keeps the window full all the same.
 */
export function pump(
  total: number,
  window: number,
  emit: (i: number) => void,
  ended: () => number,
  idleMs = 0,
): Promise<void> {
  const limit = window === 0 ? total : window;
  let emitted = 0;
  return new Promise((resolve) => {
    const step = (): void => {
      const done = ended();
      while (emitted < total && emitted - done < limit) emit(emitted++);
      if (done >= total) resolve();
      else if (idleMs > 0) setTimeout(step, idleMs);
      else setImmediate(step);
    };
    step();
  });
}
