/** The IPC messages between the benchmark (parent) and the receiver child process. */

/**
 * `ok` answers 200; `flaky` answers 503 to the first attempt of each delivery, then 200. A delivery is
 * its `webhook-id` header, or, for a sender that cannot set one (`@slack/webhook`), its body, which the
 * benchmark makes unique per delivery.
 */
export type ReceiverMode = "ok" | "flaky";

/** What a 2xx carries: nothing (`empty`), or Slack's `ok` (`@slack/webhook` reads it as its result). */
export type ReceiverAnswer = "empty" | "slack";

export type ReceiverRequest =
  | { type: "reset"; mode: ReceiverMode; answer: ReceiverAnswer; recordArrivals: boolean }
  | { type: "counts" }
  | { type: "deadPort" }
  | { type: "now" }
  | { type: "arrivals" };

export interface ReceiverCounts {
  requests: number;
  /** Responses sent, by status code. */
  statuses: Record<string, number>;
  /** Requests without a `webhook-id` header (only checked in `flaky` mode, which then keys on the body). */
  missingId: number;
  /** `flaky` mode: how many ids got 1, 2, 3… requests. */
  attemptsHistogram: Record<string, number>;
  /** `flaky` mode: distinct `webhook-id` values seen. */
  distinctIds: number;
}

export type ReceiverReply =
  | { type: "reset" }
  | { type: "counts"; counts: ReceiverCounts }
  | { type: "deadPort"; port: number }
  /** `process.hrtime.bigint()` in the child, as a decimal string (IPC is JSON). */
  | { type: "now"; hrtime: string }
  /** Arrival times (`process.hrtime.bigint()`, decimal strings) of requests since the last reset. */
  | { type: "arrivals"; hrtimes: string[] };

export interface RequestEnvelope {
  seq: number;
  request: ReceiverRequest;
}

export type ChildMessage =
  { kind: "ready"; port: number } | { kind: "reply"; seq: number; reply: ReceiverReply };

/** The reply type that answers a request type. */
export type ReplyFor<T extends ReceiverRequest["type"]> = Extract<ReceiverReply, { type: T }>;
