import { SafeEmitter } from "../_emitter.js";
import type { RunhooksError } from "../errors.js";
import type { DeliveryReport } from "../delivery/types.js";
import type { Logger } from "./options.js";
import type { NotifierChannels, NotifierWarning } from "./types.js";

/**
 * @internal Where everything the notifier has to say goes: its listeners (`notifier.on()`) and its
 * logger. Every stage reports through this one object.
 */
export interface Outlet {
  /** The emitter behind `notifier.on()` / `off()`. */
  readonly channels: SafeEmitter<NotifierChannels>;
  /** A delivery report: to `delivery` listeners, and the logger at debug. */
  readonly report: (report: DeliveryReport) => void;
  /** Whether anyone takes delivery reports: building them costs, and most attempts succeed unobserved. */
  readonly reporting: () => boolean;
  /** A warning: to `warning` listeners, and the logger at warn. */
  readonly warn: (warning: NotifierWarning) => void;
  /**
   * A failure outside one delivery: to the logger at error and to `error` listeners, or, with neither,
   * a process warning, so that it is never silent.
   */
  readonly error: (error: RunhooksError) => void;
}

/** @internal The notifier's {@link Outlet}. */
export function createOutlet(logger: Logger | undefined): Outlet {
  const channels: SafeEmitter<NotifierChannels> = new SafeEmitter<NotifierChannels>((error) => {
    if (error.channel !== "error" && channels.listenerCount("error") > 0) channels.emit("error", error);
    else process.emitWarning(error.message, { code: "RUNHOOKS_LISTENER_ERROR" });
  });
  return {
    channels,
    report(report) {
      channels.emit("delivery", report);
      safeLog(logger, "debug", `delivery ${report.outcome}`, { ...report });
    },
    reporting: () => channels.listenerCount("delivery") > 0 || typeof logger?.debug === "function",
    warn(warning) {
      channels.emit("warning", warning);
      safeLog(logger, "warn", warning.message, { code: warning.code });
    },
    error(error) {
      safeLog(logger, "error", error.message, { code: error.code, name: error.name });
      if (channels.listenerCount("error") > 0) channels.emit("error", error);
      else if (!logger?.error) process.emitWarning(error.message, { code: "RUNHOOKS_ERROR" });
    },
  };
}

/**
 * Calls the logger as a method (loggers such as pino need their `this`). A logger that throws must not
 * break delivery.
 */
function safeLog(
  logger: Logger | undefined,
  level: "debug" | "warn" | "error",
  message: string,
  data: Record<string, unknown>,
): void {
  try {
    logger?.[level]?.(message, data);
  } catch {
    // Logging is best effort.
  }
}
