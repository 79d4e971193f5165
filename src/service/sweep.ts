// Reconciliation: Bitrix24 never re-delivers an event, so every few minutes the leads and deals modified since the
// previous sweep (minus an overlap) are listed — only their ID and DATE_MODIFY, the pages read together — and only
// those the service has not seen at that modification are queued for the same processing as an event. An item whose
// event did arrive was observed at its current DATE_MODIFY and costs nothing more; one whose event is still queued
// is not queued twice; the rest are read in batches by the worker like any other burst.
import type { PortalContext } from './portal-context.js';
import { itemWorkKey, type ItemJob } from './processor.js';
import type { ItemEntity } from './rules.js';
import type { ServiceStore } from './store/types.js';
import { parsePortalTime, portalDateTime } from './time.js';

export interface SweepResult {
  /** Items modified in the window. */
  listed: number;
  /** Of those, already observed at their current modification. */
  unchanged: number;
  /** Of those, queued now for a check (the rest were queued already). */
  queued: number;
}

const ENTITIES: ItemEntity[] = ['lead', 'deal'];

export async function sweepPortal(ctx: PortalContext, store: ServiceStore, now: number, overlapMs: number): Promise<SweepResult> {
  const since = (ctx.portal.lastSweepAt ?? ctx.portal.installedAt) - overlapMs;
  const filter = { '>=DATE_MODIFY': portalDateTime(since, ctx.settings.timeZone) };
  const counts: SweepResult = { listed: 0, unchanged: 0, queued: 0 };
  const lists = await Promise.all(ENTITIES.map((entity) =>
    ctx.rest.listAll<{ ID: string; DATE_MODIFY?: string }>(`crm.${entity}.list`, { filter, select: ['ID', 'DATE_MODIFY'], order: { ID: 'ASC' } })));
  for (const [i, entity] of ENTITIES.entries()) {
    const rows = lists[i];
    const observed = await store.observedModifications(ctx.memberId, entity, rows.map((row) => String(row.ID)));
    const changed = rows.filter((row) => !seenAt(observed.get(String(row.ID)), row.DATE_MODIFY));
    // Queued together, the checks share one transaction (one disk sync) instead of one each.
    const queued = await Promise.all(changed.map((row) => {
      const item: ItemJob = { entity, id: String(row.ID) };
      return store.enqueue({ memberId: ctx.memberId, kind: 'check', runAt: now, payload: item, coalesceKey: itemWorkKey(ctx.memberId, item) });
    }));
    counts.listed += rows.length;
    counts.unchanged += rows.length - changed.length;
    counts.queued += queued.filter((q) => q.created).length;
  }
  await store.updatePortal(ctx.memberId, { lastSweepAt: now });
  ctx.portal.lastSweepAt = now;
  return counts;
}

/**
 * The item was observed at this modification. DATE_MODIFY has whole seconds, so an observation made within the same
 * second may have missed a second change in it: only one made after that second counts.
 */
function seenAt(observation: { modifiedAt?: string; updatedAt: number } | undefined, dateModify: string | undefined): boolean {
  if (!observation?.modifiedAt || !dateModify || observation.modifiedAt !== String(dateModify)) return false;
  const modified = parsePortalTime(dateModify);
  return modified !== undefined && observation.updatedAt >= modified + 1000;
}
