import type { RunEvent } from "../events.js";

/** What a formatter knows besides the event. */
export interface FormatContext {
  /** The webhook the message is for. */
  webhook: { id: string; name: string };
}

/** A formatter's output: the request body and, optionally, extra headers. */
export interface FormattedMessage {
  /** A JSON-serialisable value (serialised once by runhooks), or an already serialised string. */
  body: unknown;
  /** Extra request headers for this message. Reserved headers (content-type, signature) cannot be set. */
  headers?: Record<string, string> | undefined;
}

/**
 * Turns an event into the body a target expects. Must be pure and synchronous; it may throw, which
 * fails only the delivery to the webhook being formatted for.
 */
export interface Formatter {
  /** The format name webhooks refer to, e.g. `json`. */
  readonly name: string;
  /**
   * The request's `content-type`.
   * @default "application/json"
   */
  readonly contentType?: string | undefined;
  /** Builds the message for one event. */
  format(event: RunEvent, context: FormatContext): FormattedMessage;
}
