// One portal as the worker sees it: its REST client (OAuth tokens kept fresh in the store), the part of the
// template its tier gets, and what must be read from the portal to apply the rules — which category is which
// pipeline, the semantics of every stage, enumeration items, users and their department heads.
import { LostResponseError, PortalClient, PortalError, type OAuthTokens, type PortalClientOptions, type RestCaller } from '../portal/client.js';
import { filterByTier, type Lang, type Semantics, type Template } from '../template/index.js';
import { refusalProcessOf } from './app-objects.js';
import type { AppCredentials } from './config.js';
import { ledgerCategories } from './installer.js';
import type { ItemEntity, ItemState, Previous } from './rules.js';
import type { PortalSettings } from './settings.js';
import { RestPipeline, type PipelineLog } from './rest-pipeline.js';
import type { PortalRecord, ServiceStore } from './store/types.js';
import { displayDate, displayDateTime, parsePortalTime } from './time.js';
import { TtlCache } from './ttl-cache.js';

export interface EnumItem { id: string; xmlId: string; value: string }

export interface Layout {
  /** category id → template pipeline code */
  pipelineOfCategory: Map<number, string>;
  /** template pipeline code → category id */
  categoryOfPipeline: Map<string, number>;
  /** portal stage/status id → semantics */
  semantics: Map<string, Semantics>;
  /** portal stage/status id → name */
  stageNames: Map<string, string>;
  /** `${entity}:${FIELD_NAME}` → items */
  enums: Map<string, EnumItem[]>;
  loadedAt: number;
}

export interface UserInfo { id: number; name: string; departments: number[] }

/** The refusal business process: its template on the portal, or why it cannot be started there. */
export type RefusalProcess = { templateId: number } | { unavailable: string };

/** Pipelines, stages, list items, the refusal process: read again after this, or at once when a record names one unknown. */
const LAYOUT_TTL_MS = 5 * 60_000;
/** Users and department heads: a new head or a moved employee is seen within this time. */
const USER_TTL_MS = 5 * 60_000;

const SEMANTICS_CODE: Record<string, Semantics> = { S: 'success', F: 'failure', P: 'process' };
const EXTRA_SEMANTICS: Record<string, Semantics> = { process: 'process', success: 'success', failure: 'failure', apology: 'failure' };

/** The portal's request budget (reference 1.5): Enterprise 5/s after a burst of 250, every other plan 2/s after 50. */
export function rateLimitOf(plan: string): { burstLimit: number; drainRate: number } {
  return plan.startsWith('ent') ? { burstLimit: 250, drainRate: 5 } : { burstLimit: 50, drainRate: 2 };
}

/** Bitrix24 answers "Not found" for a missing CRM record (code ""), sometimes NOT_FOUND; a missing method is not that. */
export function isNotFound(error: unknown): boolean {
  return error instanceof PortalError && error.code !== 'ERROR_METHOD_NOT_FOUND' && (error.code === 'NOT_FOUND' || /not found/i.test(error.description));
}

type Row = Record<string, unknown>;

/** What a portal's REST client needs besides the portal's record: the application, its OAuth server, the token store. */
export interface PortalAccess {
  app: AppCredentials;
  oauthUrl: string;
  store: ServiceStore;
  /** Refresh an access token this many seconds before it expires. */
  refreshMarginSeconds: number;
  clientOptions?: PortalClientOptions;
  /** Share REST requests between the jobs running side by side (RestPipeline); off: one request per call. */
  batching?: boolean;
  /** Where the pipeline reports a lost batch answer. */
  log?: PipelineLog;
}

/**
 * The portal's authorisation failed on the portal or at the OAuth server (unknown or expired access token, a refresh
 * token already spent): another holder of the tokens may have renewed them.
 */
export function isAuthorizationFailure(error: unknown): boolean {
  return error instanceof PortalError && !(error instanceof LostResponseError)
    && (error.status === 401 || ['NO_AUTH_FOUND', 'invalid_token', 'expired_token', 'invalid_grant'].includes(error.code));
}

/** The scope a REST method needs (by its family), for messages. */
function scopeOfMethod(method: string): string {
  const family = method.split('.')[0];
  return ({ tasks: 'task', crm: 'crm', im: 'im', bizproc: 'bizproc', user: 'user', department: 'department', event: 'basic' } as Record<string, string>)[family] ?? family;
}

/**
 * A problem with the portal as a whole that retrying cannot fix — the application lacks a permission, was deleted,
 * lost its authorisation, or the portal's plan has no REST — said so that its administrator knows what to do.
 * Undefined for everything else (a busy portal, a lost answer, a record that is gone).
 */
export function lastingProblem(error: unknown): string | undefined {
  if (!(error instanceof PortalError) || error instanceof LostResponseError) return undefined;
  switch (error.code) {
    case 'insufficient_scope':
      return `the application was installed without the "${scopeOfMethod(error.method)}" permission that ${error.method} needs: `
        + `give the application that permission (scope) in its settings in Bitrix24 and install it again`;
    case 'invalid_client':
    case 'APPLICATION_NOT_FOUND':
      return 'the application was deleted from the portal (or its client_id/client_secret changed): install it again from Bitrix24';
    case 'invalid_grant':
      return 'the portal\'s authorisation of the application has expired: open the application in Bitrix24 as an administrator to renew it';
    case 'PAYMENT_REQUIRED':
      return 'the application\'s subscription on this portal has ended: renew it in the Bitrix24 Market';
    case 'ACCESS_DENIED':
      return /only (by subscription|on commercial plans)/i.test(error.description)
        ? 'REST is not available on this portal\'s plan (only paid plans, the trial and NFR portals have it): the automation runs once the portal is on such a plan'
        : undefined;
    default:
      return undefined;
  }
}

export class PortalContext {
  readonly template: Template;
  /** The portal's REST client: refreshes through the configured OAuth server, saves every new token pair. */
  readonly client: PortalClient;
  /** What the automation calls REST through: the batching pipeline in front of the client, or the client itself. */
  readonly rest: RestCaller;
  /** The refresh token the client holds: the stored one it was built with, then each one it renewed and stored. */
  private heldRefreshToken: string;
  private readonly layoutCache: TtlCache<'layout', Layout>;
  private readonly users: TtlCache<number, UserInfo | undefined>;
  private readonly heads: TtlCache<number, { head?: number }>;
  private readonly processCache: TtlCache<'process', RefusalProcess>;

  constructor(
    readonly portal: PortalRecord,
    access: PortalAccess,
    fullTemplate: Template,
    private readonly clock: () => number,
    /** What the installer's ledger records for the portal: ledger key → portal id (see installer.ts ledgerIds). */
    private readonly ledger: () => Map<string, number> = () => new Map(),
  ) {
    this.template = filterByTier(fullTemplate, fullTemplate.tiers.includes(portal.tier) ? portal.tier : fullTemplate.tiers[0]);
    this.heldRefreshToken = portal.refreshToken;
    this.client = this.connect(access);
    this.rest = access.batching === false ? this.client : new RestPipeline(this.client, access.log);
    this.layoutCache = new TtlCache(LAYOUT_TTL_MS, clock);
    this.processCache = new TtlCache(LAYOUT_TTL_MS, clock);
    this.users = new TtlCache(USER_TTL_MS, clock);
    this.heads = new TtlCache(USER_TTL_MS, clock);
  }

  get memberId(): string {
    return this.portal.memberId;
  }

  get lang(): Lang {
    return this.portal.lang;
  }

  /** The portal's own settings (time zone, re-call hour and hint, lead managers, supervisor fallback, rules off). */
  get settings(): PortalSettings {
    return this.portal.settings;
  }

  /** The template's rules of the portal's tier, without those its administrator switched off. */
  get rules() {
    const off = this.portal.settings.disabledRules;
    return off.length ? this.template.rules.filter((r) => !off.includes(r.id)) : this.template.rules;
  }

  /** Takes the stored portal's current settings and state (not its tokens, which the client holds). */
  takeUp(stored: PortalRecord): void {
    const { settings, lastError, lastErrorAt, installState, installError, lastSweepAt, plan, lang } = stored;
    Object.assign(this.portal, { settings, lastError, lastErrorAt, installState, installError, lastSweepAt, plan, lang });
  }

  /** A job of the portal ended: the batching pipeline no longer waits for its next call. */
  jobEnded(jobId: number): void {
    if (this.rest instanceof RestPipeline) this.rest.jobEnded(jobId);
  }

  /**
   * Whether the client still holds the stored token pair. A refresh token is spent once exchanged, so after the
   * installer CLI (--member-id) or another service process on the same database renewed the tokens, this client
   * cannot renew its own any more: the context must be built again from the store.
   */
  holdsTokensOf(stored: PortalRecord): boolean {
    return stored.refreshToken === this.heldRefreshToken;
  }

  private connect({ app, oauthUrl, store, refreshMarginSeconds, clientOptions = {} }: PortalAccess): PortalClient {
    const portal = this.portal;
    const tokens: OAuthTokens = {
      accessToken: portal.accessToken,
      refreshToken: portal.refreshToken,
      // Refreshing a little early keeps a request from carrying a token that expires on its way.
      expires: portal.expires - refreshMarginSeconds,
      domain: portal.domain,
      clientEndpoint: portal.clientEndpoint,
      // The client secret goes only to the configured OAuth server, never to an address a request named.
      serverEndpoint: `${oauthUrl}/rest/`,
      memberId: portal.memberId,
      applicationToken: portal.applicationToken,
      scope: portal.scope,
      userId: portal.userId,
    };
    const rateLimit = clientOptions.rateLimit ?? rateLimitOf(portal.plan);
    // The portal's budget is one for every process on the store (PostgreSQL), not one per process.
    const gate = store.requestGate(portal.memberId, rateLimit);
    return PortalClient.fromOAuth(tokens, app, async (t) => {
      await store.updateTokens(portal.memberId, {
        accessToken: t.accessToken, refreshToken: t.refreshToken, expires: t.expires,
        clientEndpoint: t.clientEndpoint || portal.clientEndpoint, scope: t.scope ?? portal.scope,
      });
      // Only once stored: a pair that could not be saved stays this client's own until the store takes one.
      this.heldRefreshToken = t.refreshToken;
    }, { ...clientOptions, rateLimit, ...(gate ? { gate } : {}) });
  }

  /** Reads categories, statuses and enumeration fields in one request; kept for a few minutes. */
  layout(force = false): Promise<Layout> {
    const load = () => this.loadLayout();
    return force ? this.layoutCache.reload('layout', load) : this.layoutCache.get('layout', load);
  }

  private async loadLayout(): Promise<Layout> {
    const now = this.clock();
    const r = await this.rest.batch({
      categories: { method: 'crm.category.list', params: { entityTypeId: 2 } },
      statuses: { method: 'crm.status.list', params: { order: { SORT: 'ASC' } } },
      leadFields: { method: 'crm.lead.userfield.list', params: { filter: { USER_TYPE_ID: 'enumeration' } } },
      dealFields: { method: 'crm.deal.userfield.list', params: { filter: { USER_TYPE_ID: 'enumeration' } } },
    });
    for (const [key, error] of Object.entries(r.errors)) {
      if (key === 'categories' || key === 'statuses') throw error;
    }
    const layout: Layout = {
      pipelineOfCategory: new Map(), categoryOfPipeline: new Map(), semantics: new Map(), stageNames: new Map(),
      enums: new Map(), loadedAt: now,
    };
    const categories = ((r.result.categories as { categories?: Row[] } | undefined)?.categories ?? []) as Row[];
    const existing = new Set(categories.map((c) => Number(c.id)));
    const fromLedger = ledgerCategories(this.ledger());
    for (const pipeline of this.template.pipelines) {
      const id = fromLedger.get(pipeline.code);
      if (id !== undefined && existing.has(id)) {
        layout.categoryOfPipeline.set(pipeline.code, id);
        layout.pipelineOfCategory.set(id, pipeline.code);
        continue;
      }
      const names = [pipeline.name.ru, pipeline.name.en].map((n) => n.trim().toLowerCase());
      // The oldest same-named category is the one the installer created or adopted.
      const match = categories
        .filter((c) => names.includes(String(c.name ?? '').trim().toLowerCase()))
        .sort((a, b) => Number(a.id) - Number(b.id))[0];
      if (match) {
        layout.categoryOfPipeline.set(pipeline.code, Number(match.id));
        layout.pipelineOfCategory.set(Number(match.id), pipeline.code);
      }
    }
    for (const s of (r.result.statuses ?? []) as Row[]) {
      const entityId = String(s.ENTITY_ID ?? '');
      if (entityId !== 'STATUS' && !entityId.startsWith('DEAL_STAGE')) continue;
      const id = String(s.STATUS_ID);
      const key = entityId === 'STATUS' ? `lead:${id}` : `deal:${id}`;
      // SEMANTICS is S / F / empty; EXTRA.SEMANTICS says "apology" for the failure stages after the first one.
      const extra = String((s.EXTRA as { SEMANTICS?: string } | undefined)?.SEMANTICS ?? '');
      layout.semantics.set(key, SEMANTICS_CODE[String(s.SEMANTICS ?? '')] ?? EXTRA_SEMANTICS[extra] ?? 'process');
      layout.stageNames.set(key, String(s.NAME ?? id));
    }
    for (const [entity, key] of [['lead', 'leadFields'], ['deal', 'dealFields']] as const) {
      for (const f of (r.result[key] ?? []) as Row[]) {
        const list = (Array.isArray(f.LIST) ? f.LIST : Object.values((f.LIST ?? {}) as Record<string, Row>)) as Row[];
        layout.enums.set(`${entity}:${String(f.FIELD_NAME)}`, list.map((i) => ({
          id: String(i.ID), xmlId: String(i.XML_ID ?? ''), value: String(i.VALUE ?? ''),
        })));
      }
    }
    return layout;
  }

  /**
   * The refusal business process this application uploaded: the installer's ledger knows its template id; otherwise
   * the portal's list of this application's deal templates (SYSTEM_CODE rest_app_{app id}) is searched by name.
   * Kept for a few minutes, like the layout.
   */
  refusalProcess(): Promise<RefusalProcess> {
    return this.processCache.get('process', () => this.findRefusalProcess());
  }

  /** Starting the process failed for a reason that lasts (the plan, the rights, a deleted template). */
  refusalProcessUnavailable(reason: string): void {
    this.processCache.set('process', { unavailable: reason });
  }

  private async findRefusalProcess(): Promise<RefusalProcess> {
    const bp = refusalProcessOf(this.template);
    if (!bp) return { unavailable: `the tier ${this.portal.tier} has no refusal business process` };
    const recorded = this.ledger().get(`bp:${bp.code}`);
    if (recorded !== undefined) return { templateId: recorded };
    const r = await this.rest.batch({
      app: { method: 'app.info' },
      templates: {
        method: 'bizproc.workflow.template.list',
        params: { select: ['ID', 'NAME'], filter: { SYSTEM_CODE: 'rest_app_$result[app][ID]', ENTITY: 'CCrmDocumentDeal' } },
      },
    });
    const failed = r.errors.templates ?? r.errors.app;
    if (failed) return { unavailable: `the portal does not list business processes (${failed.code || 'error'}: ${failed.description})` };
    const names = [bp.name.ru, bp.name.en].map((n) => n.trim().toLowerCase());
    const match = ((r.result.templates ?? []) as Row[]).find((t) => names.includes(String(t.NAME ?? '').trim().toLowerCase()));
    if (match) return { templateId: Number(match.ID) };
    return { unavailable: 'the refusal business process is not on the portal (the install skipped it, or it was deleted): run the install again' };
  }

  /** The record, or undefined when the portal no longer has it. */
  async getItem(entity: ItemEntity | 'contact' | 'company', id: string | number): Promise<Row | undefined> {
    try {
      const { result } = await this.rest.call<Row>(`crm.${entity}.get`, { id });
      return result ?? undefined;
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  /** The item as the rules see it. The stage entry time is MOVED_TIME; without it, the last observation's, or DATE_MODIFY. */
  async itemState(entity: ItemEntity, record: Row, previous?: Previous): Promise<ItemState> {
    const stageId = String((entity === 'lead' ? record.STATUS_ID : record.STAGE_ID) ?? '');
    let layout = await this.layout();
    let pipeline: string | undefined;
    if (entity === 'deal') {
      const categoryId = Number(record.CATEGORY_ID ?? 0);
      // A pipeline made after the layout was read: read it again (not more than once a second).
      if (categoryId > 0 && !layout.pipelineOfCategory.has(categoryId) && this.clock() - layout.loadedAt > 1000) {
        layout = await this.layout(true);
      }
      pipeline = layout.pipelineOfCategory.get(categoryId);
    }
    const stageCode = stageId.replace(/^C\d+:/, '');
    const now = this.clock();
    const moved = parsePortalTime(record.MOVED_TIME);
    const modified = parsePortalTime(record.DATE_MODIFY);
    const stageEnteredAt = moved
      ?? (previous && previous.stageId === stageId ? previous.stageEnteredAt : undefined)
      ?? modified ?? now;
    return {
      entity,
      id: String(record.ID),
      stageId,
      stageCode,
      pipeline,
      semantics: this.semanticsOf(entity, stageId, stageCode, pipeline, layout),
      stageEnteredAt,
      createdAt: parsePortalTime(record.DATE_CREATE) ?? stageEnteredAt,
      values: record,
    };
  }

  private semanticsOf(entity: ItemEntity, stageId: string, code: string, pipeline: string | undefined, layout: Layout): Semantics {
    const fromPortal = layout.semantics.get(`${entity}:${stageId}`);
    if (fromPortal) return fromPortal;
    const stages = entity === 'lead' ? this.template.leads.statuses : this.template.pipelines.find((p) => p.code === pipeline)?.stages;
    return stages?.find((s) => s.code === code)?.semantics ?? 'process';
  }

  /** The stage's name in the template's words, else the portal's. */
  stageName(item: ItemState): string {
    const stages = item.entity === 'lead' ? this.template.leads.statuses : this.template.pipelines.find((p) => p.code === item.pipeline)?.stages;
    const stage = stages?.find((s) => s.code === item.stageCode);
    return stage ? stage.name[this.lang] : this.layoutCache.peek('layout')?.stageNames.get(`${item.entity}:${item.stageId}`) ?? item.stageId;
  }

  fieldLabel(code: string): string {
    return this.template.fields.find((f) => f.code === code)?.label[this.lang] ?? code;
  }

  fieldType(code: string): string | undefined {
    return this.template.fields.find((f) => f.code === code)?.type;
  }

  async enumItems(entity: ItemEntity, field: string): Promise<EnumItem[]> {
    return (await this.layout()).enums.get(`${entity}:${field}`) ?? [];
  }

  user(id: number): Promise<UserInfo | undefined> {
    return this.users.get(id, async () => {
      const { result } = await this.rest.call<Row[]>('user.get', { FILTER: { ID: id } });
      const row = result?.[0];
      if (!row) return undefined;
      return {
        id,
        name: [row.NAME, row.LAST_NAME].filter((p) => typeof p === 'string' && p.trim()).join(' ') || String(row.EMAIL ?? `#${id}`),
        departments: (Array.isArray(row.UF_DEPARTMENT) ? row.UF_DEPARTMENT : [row.UF_DEPARTMENT]).map(Number).filter((n) => n > 0),
      };
    });
  }

  /** The head of the user's (first) department; the configured fallback when there is none or it is the user. */
  async supervisorOf(userId: number): Promise<number | undefined> {
    const user = await this.user(userId);
    const department = user?.departments[0];
    let head: number | undefined;
    if (department) {
      ({ head } = await this.heads.get(department, async () => {
        const { result } = await this.rest.call<Row[]>('department.get', { ID: department });
        const value = Number(result?.[0]?.UF_HEAD ?? 0);
        return { head: value > 0 ? value : undefined };
      }));
    }
    if (head && head !== userId) return head;
    return this.settings.supervisorUserId;
  }

  /** Values for message placeholders: dates in the portal's zone, list items and employees by name. */
  async displayValues(item: ItemState): Promise<Record<string, unknown>> {
    const out: Record<string, unknown> = { ...item.values };
    for (const field of this.template.fields) {
      const value = item.values[field.code];
      if (value === undefined || value === null || value === '') continue;
      const first = Array.isArray(value) ? value[0] : value;
      if (field.type === 'datetime') {
        const ms = parsePortalTime(first);
        if (ms !== undefined) out[field.code] = displayDateTime(ms, this.settings.timeZone);
      } else if (field.type === 'date') {
        out[field.code] = displayDate(String(first), this.settings.timeZone);
      } else if (field.type === 'enumeration') {
        const items = await this.enumItems(item.entity, field.code);
        const ids = (Array.isArray(value) ? value : [value]).map(String);
        out[field.code] = ids.map((id) => items.find((i) => i.id === id)?.value ?? id).join(', ');
      } else if (field.type === 'employee') {
        const id = Number(first);
        if (id > 0) out[field.code] = (await this.user(id))?.name ?? String(id);
      }
    }
    return out;
  }
}
