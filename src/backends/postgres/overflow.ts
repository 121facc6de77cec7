/**
 * @internal The overflow stage of `postgresBackend()`'s queue: past `maxQueued`, the capacity is shared
 * as in the memory queue (docs/delivery.md, "Bounded memory"). A new delivery is admitted only by taking
 * one back from the webhook holding the most of what this process queued (the dead endpoint piling up
 * retries, not its healthy neighbour), or the next one when that one has nothing to give; of a
 * webhook's deliveries, one of a non-terminal event goes first, then the oldest. Only a delivery whose
 * job was never fetched is taken back (`taken`, set under the row's lock when a job is fetched): nothing
 * being attempted anywhere is taken from under its process. A lane's head being attempted or waiting out
 * a backoff is left to finish.
 *
 * The choice is made in two steps: at enqueue, a new delivery whose own webhook holds the most and
 * whose event is not terminal is dropped at once (nothing better can be taken back); the others spill
 * to the fan-out's transaction, which takes a delivery back for each, or drops it there.
 *
 * @module
 */
import type { Delivery } from "../../delivery/types.js";
import { deliveryFromRow } from "../_rows.js";
import type { PostgresClient } from "./database.js";
import type { DeliveryRow } from "./jobs.js";

/**
 * @internal Splits the deliveries past this process's room into those that spill to the fan-out's
 * transaction, to take one back there, and those dropped now. `held` is what this process holds
 * (written, waiting to be, and admitted with these).
 */
export function splitOverflow(
  over: readonly Delivery[],
  held: Iterable<Delivery>,
): { spill: Delivery[]; dropped: Delivery[] } {
  const perWebhook = new Map<string, number>();
  for (const { webhookId } of held) perWebhook.set(webhookId, (perWebhook.get(webhookId) ?? 0) + 1);
  const spill: Delivery[] = [];
  const dropped: Delivery[] = [];
  for (const delivery of over) (mayTakeBack(delivery, perWebhook) ? spill : dropped).push(delivery);
  return { spill, dropped };
}

/**
 * Whether `delivery`, past the room, may take one back rather than be dropped now: its event is
 * terminal (one of its own webhook's non-terminal ones may go instead), or another webhook holds more
 * than its own would with it. `held` counts what this process holds per webhook.
 */
function mayTakeBack(delivery: Delivery, held: ReadonlyMap<string, number>): boolean {
  if (delivery.terminal) return true;
  const own = (held.get(delivery.webhookId) ?? 0) + 1;
  for (const [webhookId, count] of held) if (webhookId !== delivery.webhookId && count > own) return true;
  return false;
}

/**
 * @internal Takes back, in the fan-out's transaction, one delivery this owner queued to make room for
 * `delivery`: from the webhook holding the most, with it counted, that has one not taken (non-terminal
 * first, then oldest; of a webhook holding no more than `delivery`'s own would, none; of its own,
 * non-terminal only). Deletes its row and its body once unused; its pg-boss job finds no row when its
 * turn comes, and sends nothing. Resolves with the delivery taken back, or `undefined` when none can
 * be: `delivery` is then dropped.
 */
export async function takeBack(
  client: PostgresClient,
  schema: string,
  ownerId: string,
  delivery: Delivery,
): Promise<Delivery | undefined> {
  const result = await client.query(
    `WITH counts AS (
       SELECT webhook_id, count(*) + CASE WHEN webhook_id = $2 THEN 1 ELSE 0 END AS n
       FROM ${schema}.deliveries WHERE owner = $1 GROUP BY webhook_id
     ), own AS (
       SELECT COALESCE((SELECT n FROM counts WHERE webhook_id = $2), 1) AS n
     ), victim AS (
       SELECT x.id FROM ${schema}.deliveries x JOIN counts c USING (webhook_id) CROSS JOIN own
       WHERE x.owner = $1 AND NOT x.taken
         AND (c.n > own.n OR (x.webhook_id = $2 AND NOT x.terminal))
       ORDER BY c.n DESC, (x.webhook_id = $2) DESC, x.terminal, x.seq
       LIMIT 1 FOR UPDATE OF x SKIP LOCKED
     ), gone AS (
       DELETE FROM ${schema}.deliveries d USING victim WHERE d.id = victim.id
       RETURNING d.*, (SELECT b.body FROM ${schema}.bodies b WHERE b.id = d.body_id) AS body
     ), unused AS (
       DELETE FROM ${schema}.bodies b USING gone WHERE b.id = gone.body_id
         AND NOT EXISTS (SELECT 1 FROM ${schema}.deliveries o WHERE o.body_id = gone.body_id AND o.id <> gone.id)
     )
     SELECT * FROM gone`,
    [ownerId, delivery.webhookId],
  );
  const row = result.rows[0] as DeliveryRow | undefined;
  return row === undefined ? undefined : deliveryFromRow(row);
}
