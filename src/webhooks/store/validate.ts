import { StoreError } from "../../errors.js";
import { storedWebhookSchema, type WebhookRecord } from "../model.js";

const validated = new WeakSet<object>();

/**
 * @internal Checks what a store returned: a store is outside code, and a record with a broken URL or an
 * unknown event must not reach delivery. Invalid rows are reported (by id, never by URL) and left out.
 */
export function validateRecords(
  operation: string,
  rows: unknown,
): { records: WebhookRecord[]; problems: StoreError[] } {
  if (!Array.isArray(rows))
    return { records: [], problems: [new StoreError(operation, "did not return an array")] };
  const records: WebhookRecord[] = [];
  const problems: StoreError[] = [];
  for (const [index, row] of (rows as unknown[]).entries()) {
    // A frozen record cannot have changed since it was checked: check it once.
    if (validated.has(row as object)) {
      records.push(row as WebhookRecord);
      continue;
    }
    const parsed = storedWebhookSchema.safeParse(row);
    if (parsed.success && Object.isFrozen(row)) {
      validated.add(row as object);
      records.push(row as WebhookRecord);
      continue;
    }
    if (parsed.success) {
      records.push(parsed.data);
      continue;
    }
    const id =
      typeof (row as { id?: unknown } | null)?.id === "string" ? (row as { id: string }).id : `#${index}`;
    const first = parsed.error.issues[0];
    const field = first && first.path.length > 0 ? first.path.join(".") : "record";
    problems.push(
      new StoreError(
        operation,
        `returned an invalid webhook ${id}: ${field}: ${first?.message ?? "is not valid"}`,
      ),
    );
  }
  return { records, problems };
}
