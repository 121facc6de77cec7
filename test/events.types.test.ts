import type { z } from "zod";
import { describe, expectTypeOf, it } from "vitest";
import {
  LATENCY_KEYS,
  eventInputSchemas,
  runInfoSchema,
  statsBatchSchema,
  statsSchema,
  type EventInput,
  type EventMap,
  type EventName,
  type Run,
  type Stats,
  type StatsBatch,
} from "../src/events.js";
import { webhookInputSchema, type WebhookInput } from "../src/webhooks/model.js";

// The public types are plain TypeScript; the zod schemas are the source of truth. These checks run at
// typecheck time (npm run typecheck) and fail the build when the two drift apart.
describe("public types agree with the zod schemas", () => {
  it("run info and stats", () => {
    expectTypeOf<z.input<typeof runInfoSchema>>().toEqualTypeOf<Run>();
    expectTypeOf<z.output<typeof runInfoSchema>>().toEqualTypeOf<Run>();
    expectTypeOf<z.input<typeof statsBatchSchema>>().toEqualTypeOf<StatsBatch>();
    expectTypeOf<z.output<typeof statsSchema>>().toEqualTypeOf<Stats>();
    // Every key of a latency summary, none more (runner adapters copy exactly these).
    expectTypeOf<(typeof LATENCY_KEYS)[number]>().toEqualTypeOf<keyof NonNullable<Stats["latency"]>>();
  });

  it("each event's payload", () => {
    type Payload<E extends EventName> = z.input<(typeof eventInputSchemas)[E]>;
    expectTypeOf<Payload<"started">>().toEqualTypeOf<EventInput<"started">>();
    expectTypeOf<Payload<"in_progress">>().toEqualTypeOf<EventInput<"in_progress">>();
    expectTypeOf<Payload<"api_failure">>().toEqualTypeOf<EventInput<"api_failure">>();
    expectTypeOf<Payload<"aborted">>().toEqualTypeOf<EventInput<"aborted">>();
    expectTypeOf<Payload<"failed">>().toEqualTypeOf<EventInput<"failed">>();
    expectTypeOf<Payload<"finished">>().toEqualTypeOf<EventInput<"finished">>();
    expectTypeOf<Payload<"benchmark_passed">>().toEqualTypeOf<EventInput<"benchmark_passed">>();
    expectTypeOf<Payload<"benchmark_failed">>().toEqualTypeOf<EventInput<"benchmark_failed">>();
    expectTypeOf<EventMap["finished"]["event"]>().toEqualTypeOf<"finished">();
  });

  it("webhook input", () => {
    expectTypeOf<z.input<typeof webhookInputSchema>>().toEqualTypeOf<WebhookInput>();
  });
});
