import { ConfigError } from "../errors.js";
import type { FormatContext, FormattedMessage, Formatter, FormatterLimits } from "./types.js";
import type { RunEvent } from "../events.js";

/** What {@link defineFormatter} takes. */
export interface FormatterDefinition {
  /** The format name webhooks use: lowercase letters, digits, `-` and `_`, starting with a letter. */
  name: string;
  /** Builds the message for one event. Pure and synchronous. */
  format: (event: RunEvent, context: FormatContext) => FormattedMessage;
  /**
   * The request's `content-type`.
   * @default "application/json"
   */
  contentType?: string | undefined;
  /** Size limits of the target; a body over them is not sent and is reported. */
  limits?: FormatterLimits | undefined;
  /**
   * Set when `format` needs `context.webhook`; the formatter is then called once per webhook.
   * @default false
   */
  perWebhook?: boolean | undefined;
  /**
   * Set to replace a built-in format of the same name (e.g. your own `slack`).
   * @default false
   */
  replace?: boolean | undefined;
}

const NAME = /^[a-z][a-z0-9_-]{0,63}$/;
const CONTENT_TYPE = /^[\w.+-]+\/[\w.+-]+(\s*;\s*[\w.+-]+=[\w.+-]+)*$/;

/**
 * Defines a formatter, checking the definition now rather than at the first delivery.
 *
 * @throws {ConfigError} naming the field that is wrong.
 * @example
 * const mattermost = defineFormatter({
 *   name: "mattermost",
 *   format: (event) => ({ body: { text: `${event.run.name}: ${event.event}` } }),
 * });
 * createNotifier({ formatters: [mattermost] });
 */
export function defineFormatter(definition: FormatterDefinition): Formatter {
  // Checked although the type says so: JavaScript callers and casts reach here too.
  if (typeof (definition as unknown) !== "object" || (definition as unknown) === null) {
    throw new ConfigError("defineFormatter: expected an object with name and format");
  }
  const {
    name,
    format,
    contentType = "application/json",
    limits = {},
    perWebhook = false,
    replace = false,
  } = definition;
  if (typeof name !== "string" || !NAME.test(name)) {
    throw new ConfigError(
      "defineFormatter: name: must be 1-64 lowercase letters, digits, '-' or '_', starting with a letter",
    );
  }
  if (typeof format !== "function") {
    throw new ConfigError(
      `defineFormatter: format: formatter "${name}" needs a format(event, context) function`,
    );
  }
  if (typeof contentType !== "string" || !CONTENT_TYPE.test(contentType)) {
    throw new ConfigError(
      `defineFormatter: contentType: formatter "${name}" needs a media type like application/json`,
    );
  }
  const maxBytes = limits.maxBytes;
  if (maxBytes !== undefined && (!Number.isInteger(maxBytes) || maxBytes <= 0)) {
    throw new ConfigError(
      `defineFormatter: limits.maxBytes: formatter "${name}" needs a positive whole number`,
    );
  }
  if (typeof perWebhook !== "boolean" || typeof replace !== "boolean") {
    throw new ConfigError(`defineFormatter: perWebhook and replace of formatter "${name}" must be booleans`);
  }
  // Already a defined formatter (e.g. from slackFormatter()): keep the very object.
  if (
    Object.isFrozen(definition) &&
    definition.contentType === contentType &&
    definition.perWebhook === perWebhook &&
    definition.replace === replace &&
    definition.limits === limits &&
    Object.isFrozen(limits)
  ) {
    return definition as Formatter;
  }
  return Object.freeze({
    name,
    contentType,
    limits: Object.freeze({ ...(maxBytes !== undefined && { maxBytes }) }),
    perWebhook,
    replace,
    format,
  });
}
