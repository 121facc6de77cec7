import type { FormatContext, FormattedMessage, Formatter } from "../formatters/types.js";
import { fixtureEvents, type FixtureEvent } from "./fixtures.js";
import { deepFreeze } from "../_freeze.js";
import { vitestApi } from "./_vitest.js";

/** Options of {@link testFormatter}. */
export interface TestFormatterOptions {
  /** More events to check, besides the built-in fixtures. */
  fixtures?: FixtureEvent[];
  /** Fixture labels to leave out, each with the reason. */
  skip?: Record<string, string>;
  /** Overrides of the format context (e.g. a locale). */
  context?: Partial<FormatContext>;
  /** Your own assertions on each message, e.g. on your payload's structure. */
  check?: (message: FormattedMessage, body: string, fixture: FixtureEvent) => void;
}

/**
 * The context `testFormatter` passes (what a notifier passes with default display options). Plain data:
 * it works with any test runner.
 */
export function testContext(overrides: Partial<FormatContext> = {}): FormatContext {
  return { productName: "runhooks", locale: "en-US", timeZone: "UTC", links: [], ...overrides };
}

/**
 * Registers vitest tests that check a formatter against every fixture event (all eight kinds, with
 * markup, very long texts, huge code maps, zero values, missing optional data): it must not throw,
 * must not change the event, must be deterministic, must produce a serialisable body within its
 * declared size limit, and only string headers.
 *
 * **Needs vitest** (an optional peer dependency, `npm install -D vitest`): call it at the top level of a
 * test file that vitest runs, or inside a `describe()`. vitest is looked up only when it is called, so the
 * rest of runhooks/testing works with any test runner. Without vitest, or outside a vitest run, it throws
 * an Error that starts `runhooks/testing: testFormatter() registers vitest tests; install vitest`. With
 * another runner, feed {@link fixtureEvents} and {@link testContext} to your formatter yourself.
 *
 * @throws Error when vitest is not installed or is not running this file.
 *
 * @example
 * import { expect } from "vitest";
 * import { testFormatter } from "runhooks/testing";
 * testFormatter(myMattermostFormatter, { check: (message) => expect(message.body).toHaveProperty("text") });
 */
export function testFormatter(formatter: Formatter, options: TestFormatterOptions = {}): void {
  const { describe, expect, it } = vitestApi("testFormatter()");
  const fixtures = [...fixtureEvents(), ...(options.fixtures ?? [])];
  describe(`formatter contract: ${formatter.name}`, () => {
    for (const fixture of fixtures) {
      const reason = options.skip?.[fixture.label];
      const title = `formats ${fixture.label}`;
      if (reason !== undefined) {
        it.skip(`${title} (skipped: ${reason})`, () => undefined);
        continue;
      }
      it(title, () => {
        const event = deepFreeze(structuredClone(fixture.event));
        const context = testContext({ links: event.run.links ?? [], ...options.context });
        const message = formatter.format(event, context);
        expect(message, "format() must return { body }").toHaveProperty("body");
        const body = typeof message.body === "string" ? message.body : JSON.stringify(message.body);
        expect(typeof body, "the body must serialise to a string").toBe("string");
        expect(body.length, "the body must not be empty").toBeGreaterThan(0);
        if (formatter.contentType.includes("json")) expect(() => JSON.parse(body) as unknown).not.toThrow();
        const max = formatter.limits.maxBytes;
        if (max !== undefined)
          expect(Buffer.byteLength(body), `body over the declared ${max} bytes`).toBeLessThanOrEqual(max);
        for (const [name, value] of Object.entries(message.headers ?? {})) {
          expect(typeof value, `header ${name}`).toBe("string");
        }
        const again = formatter.format(structuredClone(fixture.event), context);
        expect(
          typeof again.body === "string" ? again.body : JSON.stringify(again.body),
          "format() must be deterministic",
        ).toBe(body);
        options.check?.(message, body, fixture);
      });
    }
  });
}
