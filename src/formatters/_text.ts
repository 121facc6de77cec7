/** @internal Text helpers shared by the built-in formatters. */

/** The mark that shows a text was cut. */
export const ELLIPSIS = "…";

/**
 * Cuts `text` to at most `max` characters (UTF-16 code units, as the chat services count), ending with
 * a visible mark, and never splitting a surrogate pair.
 */
export function truncate(text: string, max: number): string {
  if (text.length <= max) return text;
  let end = Math.max(0, max - ELLIPSIS.length);
  const code = text.charCodeAt(end - 1);
  if (code >= 0xd800 && code <= 0xdbff) end -= 1;
  return `${text.slice(0, end)}${ELLIPSIS}`;
}

const numberFormats = new Map<string, Intl.NumberFormat>();

/** Formats a number with grouping for `locale`, with at most `digits` fraction digits. */
export function formatNumber(value: number, locale: string, digits = 0): string {
  const key = `${locale}|${digits}`;
  let format = numberFormats.get(key);
  if (!format) {
    format = new Intl.NumberFormat(safeLocale(locale), { maximumFractionDigits: digits });
    numberFormats.set(key, format);
  }
  return format.format(value);
}

/**
 * `14.2 %` for a share of 0.142, with one decimal; `< 0.1 %` for a share too small to show as more
 * than zero, so a few failures never read as none.
 */
export function formatPercent(share: number, locale: string): string {
  const percent = share * 100;
  if (percent > 0 && percent < 0.05) return `< ${formatNumber(0.1, locale, 1)} %`;
  return `${formatNumber(percent, locale, 1)} %`;
}

/** `212 ms`, `1.9 s`. */
export function formatLatency(ms: number, locale: string): string {
  return ms < 1000
    ? `${formatNumber(ms, locale, ms < 10 ? 1 : 0)} ms`
    : `${formatNumber(ms / 1000, locale, 1)} s`;
}

/** `45 s`, `10 min`, `1 h 5 min`, `2 d 3 h`. */
export function formatDuration(ms: number): string {
  const seconds = Math.round(ms / 1000);
  if (seconds < 60) return `${seconds} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60)
    return seconds % 60 === 0 || minutes >= 10 ? `${minutes} min` : `${minutes} min ${seconds % 60} s`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return minutes % 60 === 0 ? `${hours} h` : `${hours} h ${minutes % 60} min`;
  return `${Math.floor(hours / 24)} d ${hours % 24} h`;
}

const dateFormats = new Map<string, { format: Intl.DateTimeFormat; label: string }>();

/**
 * `2026-01-01 14:05 UTC` in `timeZone`. Built from numeric parts so the text is the same on every
 * Node version (ICU versions differ in spaces and punctuation).
 */
export function formatTime(iso: string, timeZone: string): string {
  let entry = dateFormats.get(timeZone);
  if (!entry) {
    const zone = safeTimeZone(timeZone);
    const format = new Intl.DateTimeFormat("en-US", {
      timeZone: zone,
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      hourCycle: "h23",
    });
    entry = { format, label: zone };
    dateFormats.set(timeZone, entry);
  }
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  const part: Record<string, string> = {};
  for (const { type, value } of entry.format.formatToParts(date)) part[type] = value;
  return `${part.year}-${part.month}-${part.day} ${part.hour}:${part.minute} ${entry.label}`;
}

function safeLocale(locale: string): string {
  try {
    return Intl.NumberFormat.supportedLocalesOf([locale]).length > 0 ? locale : "en-US";
  } catch {
    return "en-US";
  }
}

function safeTimeZone(timeZone: string): string {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone });
    return timeZone;
  } catch {
    return "UTC";
  }
}

/**
 * Escapes what markdown reads at the start of a line: headings (`#` to `######`, Discord's `-#`),
 * quotes, list bullets, and numbered lists (`1.` becomes `1\.`: a digit cannot be escaped).
 */
export function escapeLineStarts(text: string): string {
  return text
    .replace(/^(\s*)(-#|#{1,6}|[>+-])(?=\s)/gm, (_m, space: string, mark: string) => `${space}\\${mark}`)
    .replace(/^(\s*)(\d+)\.(?=\s)/gm, (_m, space: string, digits: string) => `${space}${digits}\\.`);
}
