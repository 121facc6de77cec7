import { countOption } from "../_check.js";

/**
 * The circuit breaker per webhook (`createNotifier({ circuitBreaker })`). After `failures` failed
 * attempts in a row, the webhook's circuit opens: its deliveries are held back instead of attempted,
 * and after `probeAfterMs` one of them is sent as a probe. A probe that gets an answer closes the
 * circuit and the held-back deliveries go out; one that fails opens it again, with the wait doubled up
 * to `maxProbeAfterMs`. `false` turns the breaker off.
 */
export interface CircuitBreakerOptions {
  /**
   * Failed attempts in a row (connection errors, timeouts, 5xx, 408, 425) that open a webhook's circuit.
   * Any answer that is not one of those (a 2xx, a 4xx, a 429) counts as the endpoint being there.
   * @default 10
   */
  failures?: number | undefined;
  /** How long an open circuit holds deliveries back before the first probe. @default 30000 (30 s) */
  probeAfterMs?: number | undefined;
  /** The longest wait between probes, as failed probes double it. @default 300000 (5 min) */
  maxProbeAfterMs?: number | undefined;
  /**
   * Disable a webhook whose circuit has stayed open this long (then re-enable it with
   * `webhooks.update(id, { enabled: true })`), as a 410 Gone does. Off by default; Svix waits 5 days
   * (432,000,000 ms).
   * @default null
   */
  disableAfterMs?: number | null | undefined;
}

/** The breaker options with every default filled in, as a backend's shared circuits get them. */
export interface ResolvedCircuitBreaker {
  readonly failures: number;
  readonly probeAfterMs: number;
  readonly maxProbeAfterMs: number;
  readonly disableAfterMs: number | null;
}

/** @internal The defaults of {@link CircuitBreakerOptions}. */
export const DEFAULT_CIRCUIT_BREAKER: ResolvedCircuitBreaker = Object.freeze({
  failures: 10,
  probeAfterMs: 30_000,
  maxProbeAfterMs: 300_000,
  disableAfterMs: null,
});

/**
 * @internal Checks the breaker options and fills in the defaults; `undefined` when the breaker is off.
 * @throws {RangeError} naming the option that is out of range.
 */
export function resolveCircuitBreaker(
  options: CircuitBreakerOptions | false | undefined,
): ResolvedCircuitBreaker | undefined {
  if (options === false) return undefined;
  const given = options ?? {};
  const failures = countOption("circuitBreaker.failures", given.failures ?? DEFAULT_CIRCUIT_BREAKER.failures);
  const probeAfterMs = positive("probeAfterMs", given.probeAfterMs ?? DEFAULT_CIRCUIT_BREAKER.probeAfterMs);
  const maxProbeAfterMs = positive(
    "maxProbeAfterMs",
    given.maxProbeAfterMs ?? Math.max(probeAfterMs, DEFAULT_CIRCUIT_BREAKER.maxProbeAfterMs),
  );
  if (maxProbeAfterMs < probeAfterMs)
    throw new RangeError("circuitBreaker.maxProbeAfterMs: must be probeAfterMs or more");
  const disable = given.disableAfterMs ?? null;
  const disableAfterMs = disable === null ? null : positive("disableAfterMs", disable);
  return { failures, probeAfterMs, maxProbeAfterMs, disableAfterMs };
}

function positive(name: string, value: number): number {
  if (typeof value !== "number" || !Number.isFinite(value) || value <= 0)
    throw new RangeError(`circuitBreaker.${name}: must be a number of milliseconds, more than 0`);
  return value;
}

/**
 * The circuit breakers of a notifier's webhooks, as the deliverer and the notifier use them: this
 * process's own (the default), or a shared backend's (`Backend.circuits()`), which every process of the
 * fleet reads and writes, so that a dead endpoint opens one circuit and gets one probe at a time.
 */
export interface CircuitBreaker {
  /** Webhooks whose circuit is open now (probing included). */
  readonly open: number;
  /**
   * Milliseconds to hold a delivery to `webhookId` back before asking again; 0 when it may be attempted
   * now. A circuit past its wait lets exactly one delivery through, as the probe. A number at once when
   * nothing needs asking elsewhere; a promise for a shared circuit's probe, which is claimed once.
   */
  admit(webhookId: string, now: number): number | Promise<number>;
  /**
   * Counts an attempt's outcome: `failed` for an attempt the endpoint did not answer (or answered with a
   * server error), which also ends a probe by opening the circuit again; anything else closes it.
   */
  record(webhookId: string, target: string, failed: boolean, now: number): void;
  /** Forgets a webhook's circuit (it was disabled or removed). */
  forget(webhookId: string): void;
  /** The open circuits, for `notifier.circuits()`. */
  list(): CircuitState[];
}

/** The state of one webhook's open circuit, as `notifier.circuits()` lists it. */
export interface CircuitState {
  /** The webhook's id. */
  readonly webhookId: string;
  /** `open`: deliveries are held back; `probing`: one of them is being sent to test the endpoint. */
  readonly state: "open" | "probing";
  /** When the circuit opened (ISO 8601). */
  readonly openedAt: string;
  /** Failed attempts in a row, probes included. */
  readonly failures: number;
  /** When the next probe may go (ISO 8601). */
  readonly probeAt: string;
}

/** A circuit change, for the notifier to report (shared circuits: by the process that made it). */
export interface CircuitChange {
  readonly webhookId: string;
  readonly target: string;
  readonly change: "opened" | "closed" | "outage";
  readonly failures: number;
  /** Opened: when the first probe goes, in ms from now. */
  readonly probeInMs?: number;
}

interface Circuit {
  failures: number;
  /** Set while open. */
  openedAt: number | undefined;
  probeAt: number;
  probeAfterMs: number;
  probing: boolean;
  outageReported: boolean;
}

/**
 * @internal While a probe is out, the deliveries held back look again this often: once it answers, they
 * go out within that time, and a probe's own attempt is bounded by the transport's timeout.
 */
export const RECHECK_WHILE_PROBING_MS = 1000;

/**
 * @internal The circuits of every webhook that failed lately. A webhook is only remembered from its first
 * failure to its next success, so the map holds the failing webhooks, not all of them.
 */
export class Circuits implements CircuitBreaker {
  private readonly circuits = new Map<string, Circuit>();
  private opened = 0;

  constructor(
    private readonly options: ResolvedCircuitBreaker,
    private readonly changed: (change: CircuitChange) => void,
  ) {}

  /** Webhooks whose circuit is open now (probing included). */
  get open(): number {
    return this.opened;
  }

  /**
   * Milliseconds to hold a delivery to `webhookId` back before asking again; 0 when it may be attempted
   * now. A circuit past its wait lets exactly one delivery through, as the probe.
   */
  admit(webhookId: string, now: number): number {
    const circuit = this.circuits.get(webhookId);
    if (circuit?.openedAt === undefined) return 0;
    if (circuit.probing) return RECHECK_WHILE_PROBING_MS;
    if (now < circuit.probeAt) return circuit.probeAt - now;
    circuit.probing = true;
    return 0;
  }

  /**
   * Counts an attempt's outcome: `failed` for an attempt the endpoint did not answer (or answered with a
   * server error), which also ends a probe by opening the circuit again; anything else closes it.
   */
  record(webhookId: string, target: string, failed: boolean, now: number): void {
    let circuit = this.circuits.get(webhookId);
    if (!failed) {
      if (circuit === undefined) return;
      this.circuits.delete(webhookId);
      if (circuit.openedAt === undefined) return;
      this.opened -= 1;
      this.changed({ webhookId, target, change: "closed", failures: circuit.failures });
      return;
    }
    if (circuit === undefined) {
      circuit = {
        failures: 0,
        openedAt: undefined,
        probeAt: 0,
        probeAfterMs: this.options.probeAfterMs,
        probing: false,
        outageReported: false,
      };
      this.circuits.set(webhookId, circuit);
    }
    circuit.failures += 1;
    if (circuit.openedAt === undefined) {
      if (circuit.failures < this.options.failures) return;
      circuit.openedAt = now;
      circuit.probeAt = now + circuit.probeAfterMs;
      this.opened += 1;
      this.changed({
        webhookId,
        target,
        change: "opened",
        failures: circuit.failures,
        probeInMs: circuit.probeAfterMs,
      });
      return;
    }
    // Open already: a failed probe waits twice as long for the next one.
    if (circuit.probing) {
      circuit.probing = false;
      circuit.probeAfterMs = Math.min(circuit.probeAfterMs * 2, this.options.maxProbeAfterMs);
      circuit.probeAt = now + circuit.probeAfterMs;
    }
    const disableAfter = this.options.disableAfterMs;
    if (disableAfter !== null && !circuit.outageReported && now - circuit.openedAt >= disableAfter) {
      circuit.outageReported = true;
      this.changed({ webhookId, target, change: "outage", failures: circuit.failures });
    }
  }

  /** Forgets a webhook's circuit (it was disabled or removed). */
  forget(webhookId: string): void {
    const circuit = this.circuits.get(webhookId);
    if (circuit?.openedAt !== undefined) this.opened -= 1;
    this.circuits.delete(webhookId);
  }

  /** The open circuits, for `notifier.circuits()`. */
  list(): CircuitState[] {
    return openCircuits(this.circuits);
  }
}

/**
 * @internal The open ones of `circuits` (by webhook id, times in ms since the epoch), as
 * `notifier.circuits()` lists them.
 */
export function openCircuits(
  circuits: Iterable<
    [string, { openedAt: number | undefined; probing: boolean; failures: number; probeAt: number }]
  >,
): CircuitState[] {
  const open: CircuitState[] = [];
  for (const [webhookId, circuit] of circuits) {
    if (circuit.openedAt === undefined) continue;
    open.push({
      webhookId,
      state: circuit.probing ? "probing" : "open",
      openedAt: new Date(circuit.openedAt).toISOString(),
      failures: circuit.failures,
      probeAt: new Date(circuit.probeAt).toISOString(),
    });
  }
  return open;
}
