import type { RunEvent, RunLink } from "../events.js";

/** What a formatter knows besides the event. */
export interface FormatContext {
  /**
   * The product name messages show, e.g. in a footer.
   * @default "runhooks"
   */
  productName: string;
  /**
   * Locale for numbers.
   * @default "en-US"
   */
  locale: string;
  /**
   * IANA time zone for dates and times.
   * @default "UTC"
   */
  timeZone: string;
  /** Links to show: the run's links. */
  links: readonly RunLink[];
  /**
   * The webhook the message is for. Only given to formatters defined with `perWebhook: true`; the others
   * are called once per event and format, whatever the number of webhooks.
   */
  webhook?: { id: string; name: string } | undefined;
}

/** A formatter's output: the request body and, optionally, extra headers and warnings. */
export interface FormattedMessage {
  /** A JSON-serialisable value (serialised once by runhooks), or an already serialised string. */
  body: unknown;
  /** Extra request headers for this message. Reserved headers (content-type, signature) cannot be set. */
  headers?: Record<string, string> | undefined;
  /** Things a person previewing the message should know, e.g. "error message truncated to 3000 characters". */
  warnings?: string[] | undefined;
}

/** Size limits a formatter declares; runhooks refuses to send a body over them. */
export interface FormatterLimits {
  /** The largest serialised body the target accepts, in bytes (UTF-8). */
  maxBytes?: number | undefined;
}

/**
 * Turns an event into the body a target expects. Create one with `defineFormatter()`. `format` must be
 * pure and synchronous; it may throw, which fails only the deliveries in that format.
 */
export interface Formatter {
  /** The format name webhooks refer to, e.g. `slack`. */
  readonly name: string;
  /** The request's `content-type`. */
  readonly contentType: string;
  /** Size limits of the target. */
  readonly limits: Readonly<FormatterLimits>;
  /** Whether `format` needs `context.webhook` (then it is called once per webhook, not once per event). */
  readonly perWebhook: boolean;
  /** Whether this formatter replaces a built-in of the same name. */
  readonly replace: boolean;
  /** Builds the message for one event. */
  format(event: RunEvent, context: FormatContext): FormattedMessage;
}
