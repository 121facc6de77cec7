import { describe, expect, it } from "vitest";
import { formatNumber, formatTime } from "../../src/formatters/_text.js";

// Locales with ASCII digits in groups of three (built without Intl), with grouping from five digits
// (es, pl, it), with other digits or Indian grouping (Intl's text), and an unknown one.
const LOCALES = [
  "en-US",
  "de-DE",
  "fr-FR",
  "de-CH",
  "sv-SE",
  "es-ES",
  "pl-PL",
  "it-IT",
  "en-IN",
  "hi-IN",
  "ar-EG",
  "fa-IR",
  "th-TH-u-nu-thai",
  "zz-ZZ",
];

/** A deterministic spread of values: every magnitude, ties at each rounding digit, carries, edges. */
function values(): number[] {
  const out = [0, -0, 1, 5, 9.5, 0.5, 0.05, 0.95, 9.95, 99.95, 999.5, 9999.5, 99999.5, 1.005, 0.125];
  out.push(1.45, 2.675, 1234.5, 1234.45, 12345.6789, 999999.99, 1e15 + 0.5, 2 ** 53, 1e20, 9.99e20);
  out.push(1e21, 1e-7, 5e-7, 0.000001, -1, -1234.5, -0.01, NaN, Infinity, -Infinity);
  let seed = 42;
  const random = (): number => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed / 2 ** 31;
  };
  for (let i = 0; i < 400; i++) {
    const magnitude = 10 ** Math.floor(random() * 12 - 3);
    out.push(random() * magnitude);
    // Ties: a value with exactly one more decimal digit, ending in 5.
    out.push(
      Math.floor(random() * 1e6) / 10 ** Math.floor(random() * 4) + 5 / 10 ** (1 + Math.floor(random() * 4)),
    );
  }
  return out;
}

describe("formatNumber", () => {
  it("writes every number exactly as Intl.NumberFormat does, in every locale and precision", () => {
    const mismatches: string[] = [];
    for (const locale of LOCALES) {
      for (let digits = 0; digits <= 4; digits++) {
        const intl = new Intl.NumberFormat(
          Intl.NumberFormat.supportedLocalesOf([locale]).length > 0 ? locale : "en-US",
          { maximumFractionDigits: digits },
        );
        for (const value of values()) {
          const ours = formatNumber(value, locale, digits);
          const theirs = intl.format(value);
          if (ours !== theirs) mismatches.push(`${locale} ${digits} ${value}: ${ours} ≠ ${theirs}`);
        }
      }
    }
    expect(mismatches).toEqual([]);
  });

  it("groups and rounds as a reader expects", () => {
    expect(formatNumber(1_284_000, "en-US")).toBe("1,284,000");
    expect(formatNumber(1426.75, "en-US", 1)).toBe("1,426.8");
    expect(formatNumber(1426.75, "de-DE", 1)).toBe("1.426,8");
    expect(formatNumber(1234, "es-ES")).toBe("1234");
    expect(formatNumber(12345, "es-ES")).toBe("12.345");
    expect(formatNumber(1234567, "en-IN")).toBe("12,34,567");
    expect(formatNumber(0.999, "en-US", 2)).toBe("1");
  });
});

describe("formatTime", () => {
  it("gives each minute its own text, in the zone, and the same text for every event of a minute", () => {
    expect(formatTime("2026-01-01T14:05:00.000Z", "UTC")).toBe("2026-01-01 14:05 UTC");
    expect(formatTime("2026-01-01T14:05:59.999Z", "UTC")).toBe("2026-01-01 14:05 UTC");
    expect(formatTime("2026-01-01T14:06:00.000Z", "UTC")).toBe("2026-01-01 14:06 UTC");
    expect(formatTime("2026-01-01T14:05:30.000Z", "Asia/Kolkata")).toBe("2026-01-01 19:35 Asia/Kolkata");
    expect(formatTime("2026-01-01T14:05:30.000Z", "Asia/Kathmandu")).toBe("2026-01-01 19:50 Asia/Kathmandu");
    expect(formatTime("2026-07-01T23:59:30.000+02:00", "Europe/Berlin")).toBe(
      "2026-07-01 23:59 Europe/Berlin",
    );
  });

  it("formats a time before 1973 on its own, where an offset with seconds splits a UTC minute", () => {
    // Monrovia was -0:44:30 until 1972: 12:00:00 UTC is 11:15:30 there, 12:00:40 UTC is 11:16:10.
    expect(formatTime("1970-06-01T12:00:00.000Z", "Africa/Monrovia")).toBe(
      "1970-06-01 11:15 Africa/Monrovia",
    );
    expect(formatTime("1970-06-01T12:00:40.000Z", "Africa/Monrovia")).toBe(
      "1970-06-01 11:16 Africa/Monrovia",
    );
  });

  it("gives back text that is not a time as it is, and an unknown zone as UTC", () => {
    expect(formatTime("not a time", "UTC")).toBe("not a time");
    expect(formatTime("2026-01-01T14:05:00.000Z", "Mars/Olympus")).toBe("2026-01-01 14:05 UTC");
  });
});
