// The re-call list (spec section 5.3): for a date, the refused deals to call back — deal, client, reason, responsible.
import type { ServiceStore } from './store/types.js';

export interface RecallEntry {
  date: string;
  portal: string;
  dealId: string;
  deal: string;
  client: string;
  reason: string;
  responsible: string;
  /** true while the deal is still refused; false once it was reopened. */
  open: boolean;
  activityId?: number;
}

export async function recallList(store: ServiceStore, query: { date: string; memberId?: string }): Promise<RecallEntry[]> {
  const domains = new Map((await store.listPortals()).map((p) => [p.memberId, p.domain]));
  return (await store.listRecalls(query)).map((e) => ({
    date: e.recallDate,
    portal: domains.get(e.memberId) ?? e.memberId,
    dealId: e.dealId,
    deal: e.dealTitle,
    client: e.client,
    reason: e.reason,
    responsible: e.responsibleName || (e.responsibleId ? `#${e.responsibleId}` : ''),
    open: e.status === 'open',
    activityId: e.activityId,
  }));
}

/** A plain-text table; one line per deal, long texts cut so the columns stay readable. */
export function renderRecalls(date: string, entries: RecallEntry[]): string {
  if (entries.length === 0) return `No re-calls on ${date}.`;
  const cut = (s: string, n: number) => {
    const flat = s.replace(/\s+/g, ' ').trim();
    return flat.length > n ? `${flat.slice(0, n - 1)}…` : flat;
  };
  const portals = new Set(entries.map((e) => e.portal));
  const header = ['Deal', 'Client', 'Reason', 'Responsible', ...(portals.size > 1 ? ['Portal'] : [])];
  const rows = entries.map((e) => [
    cut(`#${e.dealId} ${e.deal}${e.open ? '' : ' (reopened)'}`, 40),
    cut(e.client || '—', 30),
    cut(e.reason || '—', 40),
    cut(e.responsible || '—', 24),
    ...(portals.size > 1 ? [e.portal] : []),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd();
  const title = `Re-calls on ${date}: ${entries.length} deal${entries.length === 1 ? '' : 's'}${portals.size === 1 ? ` (${[...portals][0]})` : ''}`;
  return [title, '', line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}
