import { ValidationError, type ValidationIssue } from "../errors.js";
import { MASK, maskUrl, type WebhookRecord } from "./model.js";

/**
 * Whether a URL is what a masked view shows (`https://host/***`) rather than a real one. A real
 * URL whose path is literally `/***` is indistinguishable, and no webhook endpoint has one.
 */
function isMaskedUrl(url: string): boolean {
  return url.endsWith(`/${MASK}`) && maskUrl(url) === url;
}

/** The credential fields of a create or an update, before masks are resolved. */
interface Credentials {
  url?: string | undefined;
  headers?: Record<string, string> | null | undefined;
}

/**
 * @internal Resolves masked values against the stored record: a masked view's URL or `***` header value
 * sent back means "unchanged", so the stored value is kept (a mask is never stored). On create there is
 * no stored record, and any masked value is an error naming the field.
 * @throws {ValidationError} for a mask that does not stand for a stored value.
 */
export function unmask<T extends Credentials>(
  what: string,
  root: string,
  input: T,
  current: WebhookRecord | undefined,
): T {
  const issues: ValidationIssue[] = [];
  const out = { ...input };
  if (input.url !== undefined && isMaskedUrl(input.url)) {
    if (current !== undefined && maskUrl(current.url) === input.url) out.url = current.url;
    else issues.push({ path: `${root}.url`, message: maskedUrlProblem(input.url, current) });
  }
  if (input.headers) {
    const headers = { ...input.headers };
    for (const [name, value] of Object.entries(headers)) {
      if (value !== MASK) continue;
      const stored = storedHeader(current, name);
      if (stored !== undefined) headers[name] = stored;
      else issues.push({ path: `${root}.headers.${name}`, message: maskedHeaderProblem(current) });
    }
    out.headers = headers;
  }
  if (issues.length > 0) throw new ValidationError(what, issues);
  return out;
}

function maskedUrlProblem(url: string, current: WebhookRecord | undefined): string {
  if (current === undefined) {
    return `is a masked URL (${url}), as webhooks are shown; send the full URL`;
  }
  return `is a masked URL (${url}) that does not stand for this webhook's URL (${maskUrl(current.url)}); send the full URL, or the masked one unchanged to keep it`;
}

function maskedHeaderProblem(current: WebhookRecord | undefined): string {
  return current === undefined
    ? `is masked (${MASK}), as header values are shown; send the header's value`
    : `is masked (${MASK}) but this webhook has no such header to keep; send the header's value`;
}

// Header names are case-insensitive: `authorization: ***` keeps a stored `Authorization`.
function storedHeader(current: WebhookRecord | undefined, name: string): string | undefined {
  if (!current?.headers) return undefined;
  const lower = name.toLowerCase();
  for (const [key, value] of Object.entries(current.headers)) if (key.toLowerCase() === lower) return value;
  return undefined;
}
