import { ValidationError, toValidationError } from "../errors.js";
import { EVENT_LIMITS } from "../event-limits.js";
import { runInfoSchema, type Run } from "../events.js";
import type { DeclaredWebhooks } from "../webhooks/declared.js";
import type { WebhookRecord } from "../webhooks/model.js";

/**
 * @internal What `notifier.run(info)` was given, checked: the run as events carry it (its ad hoc
 * webhooks as ids) and the records of its inline webhook definitions, not kept yet.
 * @throws {ValidationError} naming the field under `info`.
 */
export function parseRunInfo(
  info: unknown,
  declared: DeclaredWebhooks,
): { run: Run; inline: readonly WebhookRecord[] } {
  const given =
    typeof info === "object" && info !== null ? (info as { webhooks?: unknown }).webhooks : undefined;
  // Without inline definitions (the usual case), the schema checks everything at once.
  if (!Array.isArray(given) || given.every((entry) => typeof entry === "string")) {
    return { run: checked(info), inline: [] };
  }
  if (given.length > EVENT_LIMITS.webhooks) {
    throw new ValidationError("run info", [
      { path: "info.webhooks", message: `at most ${EVENT_LIMITS.webhooks} webhooks` },
    ]);
  }
  const ids = given.filter((entry): entry is string => typeof entry === "string");
  const run = checked({ ...(info as object), webhooks: ids });
  const inline: WebhookRecord[] = [];
  const webhooks = given.map((entry, i) => {
    if (typeof entry === "string") return entry.trim();
    const record = declared.check(entry, `info.webhooks[${i}]`, run.id);
    inline.push(record);
    return record.id;
  });
  return { run: { ...run, webhooks: [...new Set(webhooks)] }, inline };
}

function checked(info: unknown): Run {
  const parsed = runInfoSchema.safeParse(info);
  if (!parsed.success) throw toValidationError("run info", "info", parsed.error);
  return parsed.data;
}
