import { fork, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import type {
  ChildMessage,
  ReceiverAnswer,
  ReceiverCounts,
  ReceiverMode,
  ReceiverRequest,
  ReplyFor,
  RequestEnvelope,
} from "./protocol.js";

const IPC_TIMEOUT_MS = 10_000;

/** The parent's handle on the receiver child process. */
export interface Receiver {
  /** `http://127.0.0.1:<port>`. */
  readonly origin: string;
  readonly pid: number;
  reset(mode: ReceiverMode, options?: { recordArrivals?: boolean; answer?: ReceiverAnswer }): Promise<void>;
  counts(): Promise<ReceiverCounts>;
  /** A 127.0.0.1 port nothing listens on (connection refused). */
  deadPort(): Promise<number>;
  /** The child's `process.hrtime.bigint()`. */
  now(): Promise<bigint>;
  /** Arrival times of requests since the last reset with `recordArrivals`. */
  arrivals(): Promise<bigint[]>;
  stop(): Promise<void>;
}

/** Forks bench/receiver.ts and waits until it listens on 127.0.0.1. */
export async function startReceiver(): Promise<Receiver> {
  const script = fileURLToPath(new URL("./receiver.ts", import.meta.url));
  // Explicit execArgv: the parent's flags (--expose-gc, --cpu-prof when profiling) are not the child's.
  const child: ChildProcess = fork(script, [], {
    execArgv: ["--import", "tsx"],
    stdio: ["ignore", "inherit", "inherit", "ipc"],
    serialization: "json",
  });
  const pid = child.pid;
  if (pid === undefined) throw new Error("the receiver process did not start");

  let seq = 0;
  const pending = new Map<number, { resolve: (reply: unknown) => void; reject: (error: Error) => void }>();
  let exited = false;

  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(new Error("the receiver did not start listening within 10 s"));
    }, IPC_TIMEOUT_MS);
    child.on("message", (message: ChildMessage) => {
      if (message.kind === "ready") {
        clearTimeout(timer);
        resolve(message.port);
        return;
      }
      const waiter = pending.get(message.seq);
      pending.delete(message.seq);
      waiter?.resolve(message.reply);
    });
    child.once("exit", (code, signal) => {
      exited = true;
      clearTimeout(timer);
      const error = new Error(`the receiver exited (code ${code ?? "none"}, signal ${signal ?? "none"})`);
      reject(error);
      for (const waiter of pending.values()) waiter.reject(error);
      pending.clear();
    });
  });

  const ask = <T extends ReceiverRequest>(request: T): Promise<ReplyFor<T["type"]>> => {
    if (exited) return Promise.reject(new Error("the receiver is not running"));
    seq += 1;
    const envelope: RequestEnvelope = { seq, request };
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        pending.delete(envelope.seq);
        reject(new Error(`the receiver did not answer "${request.type}" within 10 s`));
      }, IPC_TIMEOUT_MS);
      pending.set(envelope.seq, {
        resolve: (reply) => {
          clearTimeout(timer);
          resolve(reply as ReplyFor<T["type"]>);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      });
      child.send(envelope);
    });
  };

  return {
    origin: `http://127.0.0.1:${port}`,
    pid,
    async reset(mode, options = {}) {
      await ask({
        type: "reset",
        mode,
        answer: options.answer ?? "empty",
        recordArrivals: options.recordArrivals ?? false,
      });
    },
    async counts() {
      return (await ask({ type: "counts" })).counts;
    },
    async deadPort() {
      return (await ask({ type: "deadPort" })).port;
    },
    async now() {
      return BigInt((await ask({ type: "now" })).hrtime);
    },
    async arrivals() {
      return (await ask({ type: "arrivals" })).hrtimes.map((t) => BigInt(t));
    },
    async stop() {
      if (exited) return;
      const gone = new Promise<void>((resolve) => child.once("exit", () => resolve()));
      // Closing the IPC channel makes the child close its server and exit on its own.
      child.disconnect();
      const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
      await gone;
      clearTimeout(timer);
    },
  };
}
