import { isRunhooksError, type FormatError } from "../errors.js";
import type { Verdict } from "./retry.js";
import type { Delivery, DeliveryReport } from "./types.js";

/** @internal The fields of a delivery that say which one a report is about. */
export type DeliveryIdentity = Pick<
  Delivery,
  "id" | "webhookId" | "webhookName" | "target" | "event" | "eventId" | "runId"
>;

/** @internal One attempt that was made: what its report says about it. */
export interface Attempt {
  /** 1 for the first attempt. */
  number: number;
  verdict: Verdict;
  /** The HTTP status, when a response arrived. */
  status?: number | undefined;
  durationMs: number;
  error?: DeliveryReport["error"];
}

/**
 * @internal A report about `delivery`: which delivery it is, then how this attempt ended. Built as one
 * literal (reports go out for every attempt when anyone listens, so no spreads); optional fields are
 * added by the caller.
 */
export function reportOf(
  delivery: DeliveryIdentity,
  attempt: number,
  outcome: DeliveryReport["outcome"],
  durationMs: number,
): DeliveryReport {
  return {
    deliveryId: delivery.id,
    webhookId: delivery.webhookId,
    webhookName: delivery.webhookName,
    target: delivery.target,
    event: delivery.event,
    eventId: delivery.eventId,
    runId: delivery.runId,
    attempt,
    final: outcome !== "retrying",
    ok: outcome === "delivered",
    outcome,
    durationMs,
  };
}

/** @internal The report of an attempt that was made: its status and error when it had them. */
export function attemptReport(
  delivery: DeliveryIdentity,
  attempt: Attempt,
  outcome: DeliveryReport["outcome"],
): DeliveryReport {
  const report = reportOf(delivery, attempt.number, outcome, attempt.durationMs);
  if (attempt.status !== undefined) report.status = attempt.status;
  if (attempt.error) report.error = attempt.error;
  return report;
}

/** @internal The final report of a delivery that was never sent (or not sent again). */
export function droppedReport(delivery: DeliveryIdentity, reason: string): DeliveryReport {
  const report = reportOf(delivery, 0, "dropped", 0);
  report.reason = reason;
  return report;
}

/**
 * @internal The final report of a delivery that `close()` gave up on: it was never done, so no attempt
 * is named; the duration is its time in the notifier, since it was queued.
 */
export function abandonedReport(delivery: Delivery): DeliveryReport {
  const report = reportOf(delivery, 0, "abandoned", Date.now() - delivery.queuedAt);
  report.error = { name: "Abandoned", message: "close() timed out before this delivery was done" };
  return report;
}

/**
 * @internal The final report of a delivery whose payload could not be built: nothing was sent, and no
 * delivery was queued, so it names the delivery it would have been.
 */
export function formatFailedReport(identity: DeliveryIdentity, error: FormatError): DeliveryReport {
  const report = reportOf(identity, 0, "format_failed", 0);
  report.error = { name: error.name, code: error.code, message: error.message };
  return report;
}

/**
 * @internal Why a failed attempt ended its delivery when nothing else did (no retry limit, no deadline):
 * `gone` (410), `blocked` (a refused address), `network` (no response) or `http_<status>`.
 */
export function reasonOf(attempt: Attempt): string {
  if (attempt.verdict.kind === "disable") return "gone";
  if (attempt.status !== undefined) return `http_${attempt.status}`;
  return attempt.error?.code === "ERR_ADDRESS_BLOCKED" ? "blocked" : "network";
}

/** @internal A report-safe summary of whatever a transport threw. */
export function errorSummary(error: unknown, target: string): NonNullable<DeliveryReport["error"]> {
  if (isRunhooksError(error)) return { name: error.name, code: error.code, message: error.message };
  // Not one of ours: keep only the class name, since a foreign message may quote the full URL.
  const name = error instanceof Error ? error.name : "Error";
  return { name, message: `Request to ${target} failed (${name})` };
}
