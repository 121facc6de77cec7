import { FormatError, describe } from "../errors.js";
import type { RunEvent } from "../events.js";
import type { FormatContext, Formatter } from "./types.js";

/** @internal A formatted, serialised message, ready to be sent to any number of webhooks. */
export interface Rendered {
  body: string;
  /** Bytes of `body` in UTF-8. */
  size: number;
  contentType: string;
  headers: Record<string, string>;
  warnings: string[];
  /** The formatter's `limits.maxBytes`, when the body is over it. */
  overLimit?: number | undefined;
  /** `body` as UTF-8, made once when the first delivery is built and shared by all. */
  bytes?: Uint8Array | undefined;
}

// Headers runhooks sets on every delivery: a formatter may not change them.
const RESERVED = new Set([
  "content-type",
  "content-length",
  "host",
  "user-agent",
  "webhook-id",
  "webhook-timestamp",
  "webhook-signature",
]);

/**
 * @internal Serialisers that give exactly `JSON.stringify(format(event, context).body)` for a
 * built-in formatter's `format` function, faster: render() uses one when the formatter has it. Keyed
 * by the function, so that a formatter defined from a built-in's parts keeps it, and one wrapping
 * the built-in's output in its own function does not.
 */
export const serialisers = new WeakMap<Formatter["format"], (event: RunEvent) => Serialised>();

/** @internal A serialiser's output: the body, and its UTF-8 bytes when they came cheaper than encoding. */
export interface Serialised {
  body: string;
  bytes?: Uint8Array | undefined;
}

/** @internal Calls the formatter and serialises its body. A throwing formatter becomes a FormatError. */
export function render(formatter: Formatter, event: RunEvent, context: FormatContext): Rendered {
  let body: string;
  const headers: Record<string, string> = {};
  const warnings: string[] = [];
  try {
    // eslint-disable-next-line @typescript-eslint/unbound-method -- a key, never called from here
    const serialise = serialisers.get(formatter.format);
    if (serialise !== undefined) {
      const serialised = serialise(event);
      return measured(formatter, serialised.body, headers, warnings, serialised.bytes);
    }
    const message = formatter.format(event, context);
    body = typeof message.body === "string" ? message.body : JSON.stringify(message.body);
    if (typeof body !== "string") throw new TypeError("the body serialised to nothing");
    for (const [name, value] of Object.entries(message.headers ?? {})) {
      if (RESERVED.has(name.toLowerCase()))
        warnings.push(`header "${name}" is set by runhooks and was ignored`);
      else if (typeof value === "string" && !/[\r\n]/.test(value)) headers[name] = value;
      else warnings.push(`header "${name}" has an invalid value and was ignored`);
    }
    if (Array.isArray(message.warnings))
      for (const w of message.warnings) if (typeof w === "string") warnings.push(w);
  } catch (error) {
    throw new FormatError(formatter.name, describe(error), { cause: error });
  }
  return measured(formatter, body, headers, warnings);
}

function measured(
  formatter: Formatter,
  body: string,
  headers: Record<string, string>,
  warnings: string[],
  bytes?: Uint8Array,
): Rendered {
  const max = formatter.limits.maxBytes;
  const contentType = formatter.contentType;
  // Counting the bytes costs a pass over the body: do it for formats with a limit, else on demand.
  // (Bytes already encoded are counted; an object with a getter costs more to make than that.)
  if (max === undefined && bytes === undefined) {
    return {
      body,
      get size() {
        return Buffer.byteLength(body);
      },
      contentType,
      headers,
      warnings,
    };
  }
  const size = bytes?.length ?? Buffer.byteLength(body);
  const rendered: Rendered = { body, size, contentType, headers, warnings, bytes };
  if (max !== undefined && size > max) {
    rendered.overLimit = max;
    warnings.push(`body is ${size} bytes, over the ${max}-byte limit of the "${formatter.name}" format`);
  }
  return rendered;
}
