// What the Market application's Analytics section shows for a period, read from the portal with the stored tokens
// and from the service's own refusal episodes: leads by source and status, the share qualified and the time to the
// first reaction against the 1-hour rule (the first status change, from crm.stagehistory.list), each pipeline's
// funnel by stage with conversion to won and the time spent per stage, refusal reasons, and re-calls scheduled, done
// and won back. Reads are paged in batches (up to 50 pages of 50 per request) and bounded.
import { listPages, type PortalClient, type RestParams } from '../portal/client.js';
import { recallDueAt } from '../recall/index.js';
import { filterByTier, type Lang, type Template } from '../template/index.js';
import type { Analytics } from './app-types.js';
import type { PortalContext } from './portal-context.js';
import type { RecallEpisode, ServiceStore } from './store/types.js';
import { parsePortalTime, portalDateTime } from './time.js';

type Row = Record<string, unknown>;

const PAGE = 50;
/** Items one analysis reads of each list at most (100 pages: 3 requests). */
export const MAX_ITEMS = 5000;
const HOUR_MS = 3_600_000;

/** YYYY-MM-DD that is a real day of the calendar (2027-02-30 is not). */
export function isCalendarDate(text: string): boolean {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
  if (!m) return false;
  const d = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])));
  return d.getUTCFullYear() === Number(m[1]) && d.getUTCMonth() === Number(m[2]) - 1 && d.getUTCDate() === Number(m[3]);
}

/** The day after a YYYY-MM-DD date. */
export function nextDay(date: string): string {
  const [y, m, d] = date.split('-').map(Number);
  return new Date(Date.UTC(y, m - 1, d + 1)).toISOString().slice(0, 10);
}

/** The instant a local day starts in the zone (ms). */
export const dayStart = (date: string, timeZone: string) => Date.parse(recallDueAt(date, timeZone, 0));

const pageItems = (result: unknown): Row[] => (Array.isArray(result) ? result : ((result as { items?: Row[] } | undefined)?.items ?? [])) as Row[];

/** Every item of a list (ordered by ID), up to `max`: the first page, then the others 50 pages to a batch request. */
export async function listPaged(client: PortalClient, method: string, params: RestParams, max = MAX_ITEMS): Promise<{ items: Row[]; truncated: boolean }> {
  const { items, total } = await listPages<Row>(client, method, params, { itemsKey: 'items', max });
  return { items, truncated: (total ?? items.length) > max };
}

/** Items of a list by their IDs (50 to a filter, 50 filters to a batch request). */
export async function listByIds(client: PortalClient, method: string, ids: (string | number)[], select: string[]): Promise<Map<string, Row>> {
  const unique = [...new Set(ids.map(String))];
  const out = new Map<string, Row>();
  const chunks: string[][] = [];
  for (let i = 0; i < unique.length; i += PAGE) chunks.push(unique.slice(i, i + PAGE));
  for (let i = 0; i < chunks.length; i += PAGE) {
    const group = chunks.slice(i, i + PAGE);
    const r = await client.batch(Object.fromEntries(group.map((chunk, n) => [`c${n}`, { method, params: { filter: { '@ID': chunk }, select } }])));
    group.forEach((_chunk, n) => {
      const error = r.errors[`c${n}`];
      if (error) throw error;
      for (const row of pageItems(r.result[`c${n}`])) out.set(String(row.ID), row);
    });
  }
  return out;
}

const semanticsOf = (code: unknown): 'process' | 'success' | 'failure' => (code === 'S' ? 'success' : code === 'F' ? 'failure' : 'process');

function median(values: number[]): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

const round1 = (n: number) => Math.round(n * 10) / 10;

/** Most first; equal counts in alphabetical order, so the charts do not reshuffle. */
const byCountThenName = (lang: Lang) => (a: { name: string; count: number }, b: { name: string; count: number }) => b.count - a.count || a.name.localeCompare(b.name, lang);

function countBy<T>(items: T[], key: (item: T) => string): Map<string, number> {
  const out = new Map<string, number>();
  for (const item of items) out.set(key(item), (out.get(key(item)) ?? 0) + 1);
  return out;
}

/** Stage history entries per item, oldest first. */
function historyByOwner(rows: Row[]): Map<string, { at: number; stageId: string; typeId: number; categoryId: number }[]> {
  const out = new Map<string, { at: number; stageId: string; typeId: number; categoryId: number }[]>();
  for (const row of rows) {
    const at = parsePortalTime(row.CREATED_TIME);
    if (at === undefined) continue;
    const list = out.get(String(row.OWNER_ID)) ?? [];
    list.push({ at, stageId: String(row.STAGE_ID ?? row.STATUS_ID ?? ''), typeId: Number(row.TYPE_ID), categoryId: Number(row.CATEGORY_ID ?? 0) });
    out.set(String(row.OWNER_ID), list);
  }
  for (const list of out.values()) list.sort((a, b) => a.at - b.at);
  return out;
}

export interface AnalyticsInput {
  ctx: PortalContext;
  store: ServiceStore;
  template: Template;
  from: string;
  to: string;
  now: number;
}

export async function analyticsFor({ ctx, store, template, from, to, now }: AnalyticsInput): Promise<Analytics> {
  const client = ctx.client;
  const lang: Lang = ctx.lang;
  const timeZone = ctx.settings.timeZone;
  const start = dayStart(from, timeZone);
  const end = dayStart(nextDay(to), timeZone);
  const since = portalDateTime(start, timeZone);
  const until = portalDateTime(end, timeZone);

  const meta = await client.batch({
    sources: { method: 'crm.status.list', params: { filter: { ENTITY_ID: 'SOURCE' }, order: { SORT: 'ASC' } } },
    statuses: { method: 'crm.status.list', params: { order: { SORT: 'ASC' } } },
  });
  for (const error of Object.values(meta.errors)) throw error;
  const statuses = pageItems(meta.result.statuses);
  const sourceNames = new Map(pageItems(meta.result.sources).map((s) => [String(s.STATUS_ID), String(s.NAME ?? s.STATUS_ID)]));
  const layout = await ctx.layout();

  const [leads, leadHistory, deals, dealHistory] = await Promise.all([
    listPaged(client, 'crm.lead.list', { order: { ID: 'ASC' }, filter: { '>=DATE_CREATE': since, '<DATE_CREATE': until }, select: ['ID', 'SOURCE_ID', 'STATUS_ID', 'DATE_CREATE'] }),
    listPaged(client, 'crm.stagehistory.list', { entityTypeId: 1, order: { ID: 'ASC' }, filter: { '>=CREATED_TIME': since }, select: ['ID', 'TYPE_ID', 'OWNER_ID', 'CREATED_TIME', 'STATUS_ID'] }),
    listPaged(client, 'crm.deal.list', { order: { ID: 'ASC' }, filter: { '>=DATE_CREATE': since, '<DATE_CREATE': until }, select: ['ID', 'CATEGORY_ID', 'STAGE_ID', 'STAGE_SEMANTIC_ID', 'DATE_CREATE'] }),
    listPaged(client, 'crm.stagehistory.list', { entityTypeId: 2, order: { ID: 'ASC' }, filter: { '>=CREATED_TIME': since }, select: ['ID', 'TYPE_ID', 'OWNER_ID', 'CREATED_TIME', 'STAGE_ID', 'CATEGORY_ID'] }),
  ]);

  // ---- leads
  const leadStatuses = statuses.filter((s) => s.ENTITY_ID === 'STATUS');
  const statusOf = new Map(leadStatuses.map((s) => [String(s.STATUS_ID), s]));
  const byStatus = countBy(leads.items, (l) => String(l.STATUS_ID ?? ''));
  const leadMoves = historyByOwner(leadHistory.items);
  const minutes: number[] = [];
  let waitingOverHour = 0;
  const buckets = new Map<string, number>([['15m', 0], ['1h', 0], ['2h', 0], ['more', 0], ['waiting', 0]]);
  for (const lead of leads.items) {
    const created = parsePortalTime(lead.DATE_CREATE);
    if (created === undefined) continue;
    // The first reaction is the first status change after the lead was created.
    const first = (leadMoves.get(String(lead.ID)) ?? []).find((e) => e.typeId !== 1 && e.at >= created);
    if (!first) {
      buckets.set('waiting', buckets.get('waiting')! + 1);
      if (now - created > HOUR_MS) waitingOverHour++;
      continue;
    }
    const m = (first.at - created) / 60_000;
    minutes.push(m);
    const bucket = m <= 15 ? '15m' : m <= 60 ? '1h' : m <= 120 ? '2h' : 'more';
    buckets.set(bucket, buckets.get(bucket)! + 1);
  }
  const medianMinutes = median(minutes);

  // ---- pipelines of the portal's tier, as the installer placed them
  const tierTemplate = filterByTier(template, template.tiers.includes(ctx.portal.tier) ? ctx.portal.tier : template.tiers[0]);
  const dealMoves = historyByOwner(dealHistory.items);
  const pipelines: Analytics['pipelines'] = [];
  for (const pipeline of tierTemplate.pipelines) {
    const categoryId = layout.categoryOfPipeline.get(pipeline.code);
    if (categoryId === undefined) continue;
    const entity = categoryId === 0 ? 'DEAL_STAGE' : `DEAL_STAGE_${categoryId}`;
    const stages = statuses.filter((s) => s.ENTITY_ID === entity);
    const process = stages.filter((s) => semanticsOf(s.SEMANTICS) === 'process');
    const success = stages.find((s) => semanticsOf(s.SEMANTICS) === 'success');
    const inPipeline = deals.items.filter((d) => Number(d.CATEGORY_ID ?? 0) === categoryId);
    const index = new Map(process.map((s, i) => [String(s.STATUS_ID), i]));
    const reachedIndex = inPipeline.map((deal) => {
      if (deal.STAGE_SEMANTIC_ID === 'S') return process.length;
      const visited = [String(deal.STAGE_ID), ...(dealMoves.get(String(deal.ID)) ?? []).filter((e) => e.categoryId === categoryId).map((e) => e.stageId)];
      return Math.max(0, ...visited.map((id) => index.get(id) ?? -1));
    });
    // Time in a stage: from entering it to the next entry of the same deal, for stays that ended.
    const durations = new Map<string, number[]>();
    for (const deal of inPipeline) {
      const moves = (dealMoves.get(String(deal.ID)) ?? []).filter((e) => e.categoryId === categoryId);
      for (let i = 0; i + 1 < moves.length; i++) {
        const list = durations.get(moves[i].stageId) ?? [];
        list.push(moves[i + 1].at - moves[i].at);
        durations.set(moves[i].stageId, list);
      }
    }
    const average = (id: string) => {
      const list = durations.get(id);
      return list?.length ? round1(list.reduce((a, b) => a + b, 0) / list.length / HOUR_MS) : undefined;
    };
    pipelines.push({
      code: pipeline.code,
      name: pipeline.name[lang],
      deals: inPipeline.length,
      won: inPipeline.filter((d) => d.STAGE_SEMANTIC_ID === 'S').length,
      lost: inPipeline.filter((d) => d.STAGE_SEMANTIC_ID === 'F').length,
      stages: [
        ...process.map((s, i) => ({ name: String(s.NAME ?? s.STATUS_ID), reached: reachedIndex.filter((r) => r >= i).length, averageHours: average(String(s.STATUS_ID)) })),
        ...(success ? [{ name: String(success.NAME ?? success.STATUS_ID), reached: reachedIndex.filter((r) => r >= process.length).length }] : []),
      ],
    });
  }

  // ---- refusals and re-calls: the service's own episodes
  const episodes = await store.listRecalls({ memberId: ctx.memberId });
  const refused = episodes.filter((e) => e.enteredAt >= start && e.enteredAt < end);
  const scheduled = episodes.filter((e) => e.recallDate >= from && e.recallDate <= to);
  const { done, wonBack } = await recallOutcomes(client, scheduled);

  return {
    from, to, timeZone,
    leads: {
      total: leads.items.length,
      bySource: [...countBy(leads.items, (l) => String(l.SOURCE_ID ?? ''))].map(([id, count]) => ({ name: id ? sourceNames.get(id) ?? id : '', count })).sort(byCountThenName(lang)),
      byStatus: [...leadStatuses.filter((s) => byStatus.has(String(s.STATUS_ID))).map((s) => String(s.STATUS_ID)), ...[...byStatus.keys()].filter((id) => !statusOf.has(id))]
        .map((id) => ({ name: String(statusOf.get(id)?.NAME ?? id), semantics: semanticsOf(statusOf.get(id)?.SEMANTICS), count: byStatus.get(id)! })),
      qualified: leads.items.filter((l) => semanticsOf(statusOf.get(String(l.STATUS_ID))?.SEMANTICS) === 'success').length,
      reaction: {
        measured: minutes.length, withinHour: minutes.filter((m) => m <= 60).length, waitingOverHour,
        medianMinutes: medianMinutes === undefined ? undefined : Math.round(medianMinutes), buckets: [...buckets].map(([key, count]) => ({ key, count })),
      },
    },
    pipelines,
    refusals: [...countBy(refused, (e) => e.reason.trim())].map(([reason, count]) => ({ name: reason, count })).sort(byCountThenName(lang)).map(({ name, count }) => ({ reason: name, count })),
    recalls: { scheduled: scheduled.length, done, wonBack },
    truncated: leads.truncated || deals.truncated || leadHistory.truncated || dealHistory.truncated,
  };
}

/** Of the re-calls: whose to-do is completed, and whose deal is won now. */
export async function recallOutcomes(client: PortalClient, episodes: RecallEpisode[]): Promise<{ done: number; wonBack: number; activities: Map<string, Row>; deals: Map<string, Row> }> {
  const activities = await listByIds(client, 'crm.activity.list', episodes.flatMap((e) => (e.activityId ? [e.activityId] : [])), ['ID', 'COMPLETED']);
  const deals = await listByIds(client, 'crm.deal.list', episodes.map((e) => e.dealId), ['ID', 'TITLE', 'STAGE_ID', 'CATEGORY_ID', 'STAGE_SEMANTIC_ID']);
  return {
    done: episodes.filter((e) => e.activityId && activities.get(String(e.activityId))?.COMPLETED === 'Y').length,
    wonBack: episodes.filter((e) => deals.get(e.dealId)?.STAGE_SEMANTIC_ID === 'S').length,
    activities,
    deals,
  };
}
