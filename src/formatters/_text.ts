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

/** How a locale writes numbers, when it is simple enough to write them without Intl. */
interface Digits {
  group: string;
  decimal: string;
  /** The fewest integer digits that get a group separator: 4, or 5 (e.g. `es`: `1234`, `12 345`). */
  groupFrom: number;
}

interface NumberFormatter {
  intl: Intl.NumberFormat;
  digits: Digits | undefined;
}

const numberFormats = new Map<string, NumberFormatter>();

/**
 * Formats a number with grouping for `locale`, with at most `digits` fraction digits: what
 * `Intl.NumberFormat(locale, { maximumFractionDigits: digits })` gives. Messages format a dozen
 * numbers each, and Intl costs about a microsecond a number: for locales that write ASCII digits in
 * groups of three, the text is built here, rounded the way ICU rounds (half away from zero, on the
 * shortest decimal that reads back as the number); test/formatters/text.test.ts holds the two equal.
 */
export function formatNumber(value: number, locale: string, digits = 0): string {
  const key = `${locale}|${digits}`;
  let format = numberFormats.get(key);
  if (!format) {
    const known = safeLocale(locale);
    format = {
      intl: new Intl.NumberFormat(known, { maximumFractionDigits: digits }),
      digits: digitsOf(known),
    };
    numberFormats.set(key, format);
  }
  return (format.digits && plainNumber(value, digits, format.digits)) ?? format.intl.format(value);
}

/** The locale's separators, when it writes `1234567.5` as `1<g>234<g>567<d>5` in ASCII digits. */
function digitsOf(locale: string): Digits | undefined {
  const probe = new Intl.NumberFormat(locale, { maximumFractionDigits: 1 });
  const parts = probe.formatToParts(1234567.5);
  const shape = parts.map((part) =>
    part.type === "group" || part.type === "decimal" ? part.type : part.value,
  );
  if (shape.join(" ") !== "1 group 234 group 567 decimal 5") return undefined;
  const group = parts[1]?.value ?? "";
  const decimal = parts[5]?.value ?? "";
  const four = probe.format(1234);
  const five = probe.format(12345);
  if (five !== `12${group}345`) return undefined;
  if (four === `1${group}234`) return { group, decimal, groupFrom: 4 };
  return four === "1234" ? { group, decimal, groupFrom: 5 } : undefined;
}

/**
 * `value` rounded to `digits` and written with `style`, or `undefined` where Intl must do it
 * (negative numbers, which some locales sign with U+2212; exponent notation; NaN and infinities).
 */
function plainNumber(value: number, digits: number, style: Digits): string | undefined {
  if (!(value >= 0 && value < Infinity) || Object.is(value, -0)) return undefined;
  const text = String(value);
  if (text.includes("e")) return undefined;
  const point = text.indexOf(".");
  const whole = point < 0 ? text : text.slice(0, point);
  const fraction = point < 0 ? "" : text.slice(point + 1);
  let kept = whole + fraction.slice(0, digits);
  if (fraction.length > digits && fraction.charCodeAt(digits) >= 53 /* "5" */) kept = addOne(kept);
  const fractionDigits = Math.min(digits, fraction.length);
  const int = kept.slice(0, kept.length - fractionDigits);
  const frac = kept.slice(kept.length - fractionDigits).replace(/0+$/, "");
  return frac === "" ? grouped(int, style) : `${grouped(int, style)}${style.decimal}${frac}`;
}

/** A string of decimal digits plus one, carrying (`"199"` → `"200"`, `"99"` → `"100"`). */
function addOne(digitString: string): string {
  let i = digitString.length - 1;
  while (i >= 0 && digitString[i] === "9") i--;
  if (i < 0) return `1${"0".repeat(digitString.length)}`;
  const next = String.fromCharCode(digitString.charCodeAt(i) + 1);
  return digitString.slice(0, i) + next + "0".repeat(digitString.length - i - 1);
}

function grouped(int: string, style: Digits): string {
  if (int.length < style.groupFrom) return int;
  let out = int.slice(0, int.length % 3 || 3);
  for (let i = out.length; i < int.length; i += 3) out += style.group + int.slice(i, i + 3);
  return out;
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

interface TimeFormatter {
  format: Intl.DateTimeFormat;
  label: string;
  /** The last minute formatted (its first millisecond, UTC) and its text. */
  minute: number;
  text: string;
}

const dateFormats = new Map<string, TimeFormatter>();

const MINUTE = 60_000;
const SUBMINUTE_OFFSETS_END = Date.UTC(1973, 0, 1);

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
    entry = { format, label: zone, minute: Number.NaN, text: "" };
    dateFormats.set(timeZone, entry);
  }
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) return iso;
  // Every event of a minute shows the same text, and formatting costs ~10 µs: keep the last minute's.
  // Not before 1973: until 1972 some zones' offsets had seconds (Liberia's was -0:44:30), and there a
  // UTC minute spans two local ones.
  if (ms < SUBMINUTE_OFFSETS_END) return wallClock(entry, ms);
  const minute = Math.floor(ms / MINUTE) * MINUTE;
  if (minute !== entry.minute) {
    entry.text = wallClock(entry, ms);
    entry.minute = minute;
  }
  return entry.text;
}

function wallClock(entry: TimeFormatter, ms: number): string {
  const part: Record<string, string> = {};
  for (const { type, value } of entry.format.formatToParts(ms)) part[type] = value;
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
