// Reconciliation: Bitrix24 never re-delivers an event, so every few minutes the leads and deals modified since
// the previous sweep (minus an overlap) are queued for the same processing as an event. Processing is
// idempotent, so items whose events did arrive cost one read and change nothing.
import type { PortalContext } from './portal-context.js';
import type { ItemJob } from './processor.js';
import type { ServiceStore } from './store/types.js';
import { portalDateTime } from './time.js';

export interface SweepResult { leads: number; deals: number }

export async function sweepPortal(ctx: PortalContext, store: ServiceStore, now: number, overlapMs: number): Promise<SweepResult> {
  const since = (ctx.portal.lastSweepAt ?? ctx.portal.installedAt) - overlapMs;
  const filter = { '>=DATE_MODIFY': portalDateTime(since, ctx.settings.timeZone) };
  const counts: SweepResult = { leads: 0, deals: 0 };
  for (const entity of ['lead', 'deal'] as const) {
    const items = await ctx.client.listAll<{ ID: string }>(`crm.${entity}.list`, { filter, select: ['ID'], order: { ID: 'ASC' } });
    // Queued together, the checks share one transaction (one disk sync) instead of one each.
    await Promise.all(items.map((row) =>
      store.enqueue({ memberId: ctx.memberId, kind: 'check', runAt: now, payload: { entity, id: String(row.ID) } satisfies ItemJob })));
    counts[entity === 'lead' ? 'leads' : 'deals'] = items.length;
  }
  await store.updatePortal(ctx.memberId, { lastSweepAt: now });
  ctx.portal.lastSweepAt = now;
  return counts;
}
