// Reads, in one batched request (two when asked for more), what a portal holds of everything the template
// touches: lead statuses and deal stages, deal pipelines, user fields of the four CRM entities with their labels
// in every template language, card layouts, item counts of stages about to be deleted and, in app mode, the app's
// robots, triggers, event bindings, business-process templates and app.info.
import { CRM_ENTITIES, LANGUAGES, type Lang } from '../template/constants.js';
import type { CrmEntity } from '../template/model.js';
import { PortalError, type BatchCommand, type BatchResult, type PortalClient } from './client.js';

export const CRM_ENTITY_TYPE_ID: Record<CrmEntity, number> = { lead: 1, deal: 2, contact: 3, company: 4 };

export type StageSemantics = 'process' | 'success' | 'failure';

export interface StatusRow {
  id: number;
  entityId: string;
  /** Full STATUS_ID as stored, e.g. "C5:INSPECTION". */
  statusId: string;
  name: string;
  sort: number;
  color: string;
  semantics: StageSemantics;
  system: boolean;
}

export interface CategoryRow { id: number; name: string; sort: number; isDefault: boolean }

export interface EnumItem { id: number; value: string; xmlId: string; sort: number; def: boolean }

export type LangText = Partial<Record<Lang, string>>;

export interface UserFieldRow {
  id: number;
  entity: CrmEntity;
  fieldName: string;
  userTypeId: string;
  multiple: boolean;
  mandatory: boolean;
  sort: number;
  settings: Record<string, unknown>;
  labels: { editForm: LangText; listColumn: LangText; listFilter: LangText };
  list: EnumItem[];
}

export interface CardElement { name: string; optionFlags?: string | number; options?: Record<string, unknown> }
export interface CardSection { name: string; title: string; type: string; elements: CardElement[] }

/** "lead", "contact", "company", or "deal:<categoryId>". */
export type CardKey = string;

export interface AppInfo { id: string; code: string; licenseType: string; licenseFamily: string; license: string; languageId: string }
export interface EventBinding { event: string; handler: string }
export interface WorkflowTemplateRow { id: number; name: string; systemCode: string; documentType: unknown }

export interface AppObjects {
  info?: AppInfo;
  /** Reads the portal refused (a plan without business processes has no bizproc.* methods): what and why. */
  unavailable: Partial<Record<'robots' | 'triggers' | 'events' | 'templates', string>>;
  robots: string[];
  triggers: { code: string; name: string }[];
  events: EventBinding[];
  templates: WorkflowTemplateRow[];
}

export interface PortalSnapshot {
  statuses: StatusRow[];
  categories: CategoryRow[];
  fields: Record<CrmEntity, UserFieldRow[]>;
  cards: Record<CardKey, CardSection[] | null>;
  /** Cards the portal refused to show, with its answer (a pipeline that no longer exists, say). */
  cardErrors: Record<CardKey, string>;
  /** Items per STATUS_ID: leads by lead status, deals by deal stage, deals by pipeline. */
  counts: { leads: Record<string, number>; deals: Record<string, number>; dealsByCategory: Record<number, number> };
  app?: AppObjects;
  /** What app.info says of the portal: in app mode the application's record, for a webhook its SCOPE and LICENSE. */
  info?: AppInfo;
}

export interface SnapshotRequest {
  /** Statuses, pipelines and user fields (the first read always includes them). */
  core?: boolean;
  cards?: CardKey[];
  leadCounts?: string[];
  dealCounts?: string[];
  categoryCounts?: number[];
  /** The application's own objects and app.info (app mode only). */
  app?: boolean;
  /** app.info alone: an incoming webhook gets its LICENSE ({region}_{plan}), enough for the tier. */
  info?: boolean;
}

export function cardKey(entity: CrmEntity, categoryId?: number): CardKey {
  return entity === 'deal' ? `deal:${categoryId ?? 0}` : entity;
}

/** One batched read of what `request` asks for; throws PortalError naming what could not be read. */
export async function readSnapshot(client: PortalClient, request: SnapshotRequest): Promise<PortalSnapshot> {
  const snapshot: PortalSnapshot = {
    statuses: [],
    categories: [],
    fields: { lead: [], deal: [], contact: [], company: [] },
    cards: {},
    cardErrors: {},
    counts: { leads: {}, deals: {}, dealsByCategory: {} },
  };
  await readMore(client, snapshot, { ...request, core: request.core ?? true });
  return snapshot;
}

/** The statuses (stages) of one ENTITY_ID (STATUS, DEAL_STAGE_7, ...), in sort order. */
export async function readStatuses(client: PortalClient, entityId: string): Promise<StatusRow[]> {
  const { result } = await client.call('crm.status.list', { filter: { ENTITY_ID: entityId }, order: { SORT: 'ASC' } });
  return asArray(result).map(parseStatus);
}

/** Adds to `snapshot` what `request` asks for, in one batched request (none when nothing is asked). */
export async function readMore(client: PortalClient, snapshot: PortalSnapshot, request: SnapshotRequest): Promise<void> {
  const commands: Record<string, BatchCommand> = {};
  const decoders: ((r: BatchResult) => void)[] = [];
  // Reads whose failure is an answer in itself, not a reason to stop.
  const tolerated = new Set<string>();

  if (request.core) {
    commands.statuses = { method: 'crm.status.list', params: { order: { SORT: 'ASC' } } };
    commands.categories = { method: 'crm.category.list', params: { entityTypeId: 2 } };
    decoders.push((r) => {
      snapshot.statuses = asArray(r.result.statuses).map(parseStatus);
      const categories = (r.result.categories as { categories?: unknown[] } | undefined)?.categories;
      snapshot.categories = asArray(categories).map(parseCategory);
    });
    for (const entity of CRM_ENTITIES) {
      for (const lang of LANGUAGES) {
        commands[`uf_${entity}_${lang}`] = { method: `crm.${entity}.userfield.list`, params: { filter: { LANG: lang } } };
      }
      decoders.push((r) => {
        snapshot.fields[entity] = mergeFieldLanguages(entity, LANGUAGES.map((lang) => [lang, asArray(r.result[`uf_${entity}_${lang}`])]));
      });
    }
  }

  (request.cards ?? []).forEach((key, i) => {
    const [entity, category] = key.split(':') as [CrmEntity, string | undefined];
    const params: Record<string, unknown> = { entityTypeId: CRM_ENTITY_TYPE_ID[entity], scope: 'C' };
    if (entity === 'deal') params.extras = { dealCategoryId: Number(category ?? 0) };
    commands[`card_${i}`] = { method: 'crm.item.details.configuration.get', params };
    tolerated.add(`card_${i}`);
    decoders.push((r) => {
      const error = r.errors[`card_${i}`];
      if (error) snapshot.cardErrors[key] = error.description || error.code;
      else snapshot.cards[key] = parseCard(r.result[`card_${i}`]);
    });
  });

  const count = (prefix: string, method: string, filter: (v: string) => Record<string, unknown>, values: string[], into: Record<string, number>) =>
    values.forEach((value, i) => {
      const key = `${prefix}_${i}`;
      commands[key] = { method, params: { filter: filter(value), select: ['ID'] } };
      decoders.push((r) => {
        into[value] = r.total[key] ?? asArray(r.result[key]).length;
      });
    });
  count('n_lead', 'crm.lead.list', (v) => ({ STATUS_ID: v }), request.leadCounts ?? [], snapshot.counts.leads);
  count('n_deal', 'crm.deal.list', (v) => ({ STAGE_ID: v }), request.dealCounts ?? [], snapshot.counts.deals);
  const byCategory: Record<string, number> = {};
  count('n_cat', 'crm.deal.list', (v) => ({ CATEGORY_ID: v }), (request.categoryCounts ?? []).map(String), byCategory);
  decoders.push(() => {
    for (const [id, n] of Object.entries(byCategory)) snapshot.counts.dealsByCategory[Number(id)] = n;
  });

  if (request.info && !request.app) {
    commands.app_info = { method: 'app.info' };
    // A portal that refuses it simply does not say its plan: the caller asks for --tier then.
    tolerated.add('app_info');
    decoders.push((r) => {
      if (!r.errors.app_info) snapshot.info = parseAppInfo(r.result.app_info);
    });
  }

  if (request.app) {
    commands.app_info = { method: 'app.info' };
    commands.robots = { method: 'bizproc.robot.list' };
    commands.triggers = { method: 'crm.automation.trigger.list' };
    commands.events = { method: 'event.get' };
    // A template uploaded by this app carries SYSTEM_CODE rest_app_{app id}.
    commands.templates = {
      method: 'bizproc.workflow.template.list',
      params: { select: ['ID', 'NAME', 'SYSTEM_CODE', 'DOCUMENT_TYPE'], filter: { SYSTEM_CODE: 'rest_app_$result[app_info][ID]' } },
    };
    for (const key of ['robots', 'triggers', 'events', 'templates']) tolerated.add(key);
    decoders.push((r) => {
      const unavailable: AppObjects['unavailable'] = {};
      for (const key of ['robots', 'triggers', 'events', 'templates'] as const) {
        const error = r.errors[key];
        if (error) unavailable[key] = `${error.code ? `${error.code}: ` : ''}${error.description}`;
      }
      snapshot.info = parseAppInfo(r.result.app_info);
      snapshot.app = {
        unavailable,
        info: snapshot.info,
        robots: asArray(r.result.robots).map(String),
        triggers: asArray(r.result.triggers).map((t) => ({ code: str(rec(t).CODE), name: str(rec(t).NAME) })),
        events: asArray(r.result.events).map((e) => ({ event: str(rec(e).event).toUpperCase(), handler: str(rec(e).handler) })),
        templates: asArray(r.result.templates).map((t) => ({
          id: num(rec(t).ID), name: str(rec(t).NAME), systemCode: str(rec(t).SYSTEM_CODE), documentType: rec(t).DOCUMENT_TYPE,
        })),
      };
    });
  }

  if (Object.keys(commands).length === 0) return;
  // More than 50 commands is refused by client.batch: a read never quietly splits into several requests.
  const result = await client.batch(commands);
  const failed = Object.entries(result.errors).filter(([key]) => !tolerated.has(key));
  if (failed.length) {
    const [key, error] = failed[0];
    throw new PortalError(error.method, error.code, `reading the portal (${key})${error.description ? `: ${error.description}` : ''}`, error.status);
  }
  for (const decode of decoders) decode(result);
}

// ---- parsing: the portal sends numbers as strings and sometimes empty maps as [] -------------------

const rec = (v: unknown): Record<string, unknown> => (v && typeof v === 'object' ? (v as Record<string, unknown>) : {});
const str = (v: unknown): string => (v === null || v === undefined ? '' : String(v));
const num = (v: unknown): number => (v === null || v === undefined || v === '' ? 0 : Number(v));
const yes = (v: unknown): boolean => v === true || v === 'Y' || v === 'y' || v === 1 || v === '1';

function asArray(v: unknown): unknown[] {
  if (Array.isArray(v)) return v;
  if (v && typeof v === 'object') return Object.values(v);
  return [];
}

export function semanticsOf(value: unknown): StageSemantics {
  return value === 'S' ? 'success' : value === 'F' ? 'failure' : 'process';
}

function parseStatus(v: unknown): StatusRow {
  const r = rec(v);
  return {
    id: num(r.ID),
    entityId: str(r.ENTITY_ID),
    statusId: str(r.STATUS_ID),
    name: str(r.NAME),
    sort: num(r.SORT),
    color: str(r.COLOR ?? rec(r.EXTRA).COLOR),
    semantics: semanticsOf(r.SEMANTICS),
    system: yes(r.SYSTEM),
  };
}

function parseCategory(v: unknown): CategoryRow {
  const r = rec(v);
  return { id: num(r.id ?? r.ID), name: str(r.name ?? r.NAME), sort: num(r.sort ?? r.SORT), isDefault: yes(r.isDefault ?? r.IS_DEFAULT) };
}

function parseAppInfo(v: unknown): AppInfo {
  const r = rec(v);
  return {
    id: str(r.ID), code: str(r.CODE), license: str(r.LICENSE), licenseType: str(r.LICENSE_TYPE),
    licenseFamily: str(r.LICENSE_FAMILY), languageId: str(r.LANGUAGE_ID),
  };
}

/** A label read with filter LANG is a string; an unfiltered read may give a {lang: text} map. */
function labelIn(value: unknown, lang: Lang): string | undefined {
  if (typeof value === 'string') return value;
  if (value && typeof value === 'object') {
    const text = (value as Record<string, unknown>)[lang];
    return typeof text === 'string' ? text : undefined;
  }
  return undefined;
}

function mergeFieldLanguages(entity: CrmEntity, perLang: [Lang, unknown[]][]): UserFieldRow[] {
  const byName = new Map<string, UserFieldRow>();
  for (const [lang, rows] of perLang) {
    for (const v of rows) {
      const r = rec(v);
      const fieldName = str(r.FIELD_NAME);
      let row = byName.get(fieldName);
      if (!row) {
        row = {
          id: num(r.ID), entity, fieldName, userTypeId: str(r.USER_TYPE_ID), multiple: yes(r.MULTIPLE), mandatory: yes(r.MANDATORY),
          sort: num(r.SORT), settings: rec(r.SETTINGS),
          labels: { editForm: {}, listColumn: {}, listFilter: {} },
          list: asArray(r.LIST).map((i) => {
            const item = rec(i);
            return { id: num(item.ID), value: str(item.VALUE), xmlId: str(item.XML_ID), sort: num(item.SORT), def: yes(item.DEF) };
          }),
        };
        byName.set(fieldName, row);
      }
      const set = (target: LangText, value: unknown) => {
        const text = labelIn(value, lang);
        if (text !== undefined) target[lang] = text;
      };
      set(row.labels.editForm, r.EDIT_FORM_LABEL);
      set(row.labels.listColumn, r.LIST_COLUMN_LABEL);
      set(row.labels.listFilter, r.LIST_FILTER_LABEL);
    }
  }
  return [...byName.values()];
}

function parseCard(v: unknown): CardSection[] | null {
  if (v === null || v === undefined || v === false || v === '') return null;
  return asArray(v).map((s) => {
    const r = rec(s);
    return {
      name: str(r.name),
      title: str(r.title),
      type: str(r.type) || 'section',
      elements: asArray(r.elements).map((e) => {
        const el = rec(e);
        const out: CardElement = { name: str(el.name) };
        if (el.optionFlags !== undefined) out.optionFlags = el.optionFlags as string | number;
        if (el.options && typeof el.options === 'object' && !Array.isArray(el.options)) out.options = el.options as Record<string, unknown>;
        return out;
      }),
    };
  });
}
