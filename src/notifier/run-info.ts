import { toValidationError } from "../errors.js";
import { runInfoSchema, type Run } from "../events.js";
import { refuseRepeats, type DeclaredWebhooks } from "../webhooks/declared.js";
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
  // The definitions stand in as a valid id meanwhile, so that an error names the entry's own index.
  const ids = given.map((entry: unknown) => (typeof entry === "string" ? entry : "inline"));
  const run = checked({ ...(info as object), webhooks: ids });
  const inline: Array<{ record: WebhookRecord; path: string }> = [];
  const webhooks = given.map((entry: unknown, i) => {
    if (typeof entry === "string") return run.webhooks?.[i] ?? entry;
    const path = `info.webhooks[${i}]`;
    const record = declared.check(entry, path, run.id);
    inline.push({ record, path });
    return record.id;
  });
  refuseRepeats(inline);
  return { run: { ...run, webhooks: [...new Set(webhooks)] }, inline: inline.map((entry) => entry.record) };
}

function checked(info: unknown): Run {
  const parsed = runInfoSchema.safeParse(info);
  if (!parsed.success) throw toValidationError("run info", "info", parsed.error);
  return parsed.data;
}
