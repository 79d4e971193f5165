// Reconciliation: Bitrix24 never re-delivers an event, so every few minutes the leads and deals modified since the
// previous sweep (minus an overlap) are listed — their ID and DATE_MODIFY, with the stage and the fields the rules
// watch, the pages read together — and only those the service has not seen as they are now are queued for the same
// processing as an event. An item whose event did arrive was observed at its current DATE_MODIFY and costs nothing
// more; one whose event is still queued is not queued twice; the rest are read in batches by the worker like any
// other burst.
import type { PortalContext } from './portal-context.js';
import { itemWorkKey, type ItemJob } from './processor.js';
import { normalizeValue, watchedFields, type ItemEntity } from './rules.js';
import type { Observation, ServiceStore } from './store/types.js';
import { portalDateTime } from './time.js';

export interface SweepResult {
  /** Items modified in the window. */
  listed: number;
  /** Of those, already observed at their current modification. */
  unchanged: number;
  /** Of those, queued now for a check (the rest were queued already). */
  queued: number;
}

const ENTITIES: ItemEntity[] = ['lead', 'deal'];
/** At most this many pages of each list in the sweep's first request: both lists fit in one batch of 50. */
const MAX_FIRST_PAGES = 25;

export async function sweepPortal(ctx: PortalContext, store: ServiceStore, now: number, overlapMs: number): Promise<SweepResult> {
  const since = (ctx.portal.lastSweepAt ?? ctx.portal.installedAt) - overlapMs;
  const filter = { '>=DATE_MODIFY': portalDateTime(since, ctx.settings.timeZone) };
  const counts: SweepResult = { listed: 0, unchanged: 0, queued: 0 };
  const watched = (entity: ItemEntity) => watchedFields(ctx.rules, entity);
  // Both lists at once, in one request as a rule: as many pages of each as the items the service itself saw change in
  // the window fill, and one more for those it did not (the rest, if any, in a second request).
  // The counts first, then both lists at once: they reach the batching pipeline together, whatever the store's delay.
  const seen = await Promise.all(ENTITIES.map((entity) => store.countObservedSince(ctx.memberId, entity, since)));
  const lists = await Promise.all(ENTITIES.map((entity, i) => ctx.rest.listAll<Row>(`crm.${entity}.list`, {
    filter, select: ['ID', 'DATE_MODIFY', STAGE_FIELD[entity], ...watched(entity)], order: { ID: 'ASC' },
  }, { firstPages: Math.min(MAX_FIRST_PAGES, Math.floor(seen[i] / 50) + 1) })));
  for (const [i, entity] of ENTITIES.entries()) {
    const rows = lists[i];
    const observed = await store.getObservations(ctx.memberId, entity, rows.map((row) => String(row.ID)));
    const changed = rows.filter((row) => !seenAsItIs(observed.get(String(row.ID)), row, STAGE_FIELD[entity], watched(entity)));
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

type Row = Record<string, unknown>;

const STAGE_FIELD: Record<ItemEntity, string> = { lead: 'STATUS_ID', deal: 'STAGE_ID' };

/**
 * The item was observed as it is: at this DATE_MODIFY, in this stage, with these values of the watched fields. The
 * stage and the fields matter because DATE_MODIFY has whole seconds: a second change within the second of the one
 * observed (its event lost) leaves DATE_MODIFY as it was, but not what the rules look at.
 */
function seenAsItIs(observation: Observation | undefined, row: Row, stageField: string, watched: string[]): boolean {
  if (!observation?.modifiedAt || observation.modifiedAt !== normalizeValue(row.DATE_MODIFY)) return false;
  if (observation.stageId !== normalizeValue(row[stageField])) return false;
  return watched.every((field) => (observation.watched[field] ?? '') === normalizeValue(row[field]));
}
