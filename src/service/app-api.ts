// The JSON API of the Market application's pages (src/web), under /api/. Every call carries the page's signed session
// (Authorization: Bearer …, app-session.ts); the portal and the user come from it, never from the request. Reading is
// open to every user of the portal who opened the application; starting an install or a repair and saving settings
// are an administrator's (403 otherwise). Errors are JSON with a code the page puts into words (app-types.ts ApiError).
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { verifyPortal } from '../install/index.js';
import { PortalError } from '../portal/client.js';
import { filterByTier, type Lang, type Template } from '../template/index.js';
import { analyticsFor, dayStart, isCalendarDate, listPaged, nextDay, recallOutcomes } from './analytics.js';
import { readSession, SESSION_KEY_PURPOSE, type AppSession } from './app-session.js';
import type {
  Analytics, ApiError, DriftView, InstallStatus, InstallView, Overview, Problem, RecallRow, RecallsView, ScopeNeed, SettingsView, TierOffer,
} from './app-types.js';
import type { ServiceConfig } from './config.js';
import type { InstallProgress } from './install-progress.js';
import type { Logger } from './log.js';
import { lastingProblem, type PortalContext } from './portal-context.js';
import { SettingsError, validateSettings } from './settings.js';
import type { PortalRecord, ServiceStore } from './store/types.js';
import { localToday } from './time.js';
import { withLanguage } from '../i18n/index.js';

export interface AppApiDeps {
  config: ServiceConfig;
  store: ServiceStore;
  template: Template;
  clock: () => number;
  log: Logger;
  progress: InstallProgress;
  /** The portal's REST context with the stored tokens (undefined once it uninstalled). */
  context: (memberId: string) => Promise<PortalContext | undefined>;
  /** Where the robots and events point (what verify compares with). */
  publicUrl: () => string | undefined;
  /** Queues the portal's (re)install. */
  queueInstall: (portal: PortalRecord) => Promise<void>;
}

class ApiFailure extends Error {
  constructor(readonly status: number, readonly code: ApiError['error'], message: string) {
    super(message);
  }
}

/**
 * The scopes the application uses and the lowest tier that needs each: the CRM objects need crm; the automation
 * (crm_plus) sends notifications (im), sets tasks (task), runs robots and the refusal process (bizproc), and finds
 * users and their department heads (user, department).
 */
const SCOPES: { scope: string; tier: string }[] = [
  { scope: 'crm', tier: 'base' },
  { scope: 'bizproc', tier: 'crm_plus' },
  { scope: 'im', tier: 'crm_plus' },
  { scope: 'task', tier: 'crm_plus' },
  { scope: 'user', tier: 'crm_plus' },
  { scope: 'department', tier: 'crm_plus' },
];
/** user.get also works with the narrower user scopes. */
const SCOPE_ALIASES: Record<string, string[]> = { user: ['user', 'user_brief', 'user_basic'] };

export function scopeNeeds(template: Template, tier: string, granted: string): ScopeNeed[] {
  const have = new Set(granted.split(/[\s,]+/).filter(Boolean));
  const level = template.tiers.indexOf(tier);
  return SCOPES.map(({ scope, tier: needed }) => ({
    scope,
    granted: (SCOPE_ALIASES[scope] ?? [scope]).some((s) => have.has(s)),
    required: template.tiers.indexOf(needed) <= level,
  }));
}

/** What a tier of the template puts on a portal. */
export function tierOffer(template: Template, tier: string, lang: Lang): TierOffer {
  const t = filterByTier(template, tier);
  return {
    code: tier,
    name: template.manifest.tiers.find((x) => x.code === tier)?.name[lang] ?? tier,
    pipelines: t.pipelines.map((p) => ({ code: p.code, name: p.name[lang], stages: p.stages.length })),
    leadStatuses: t.leads.statuses.length,
    fields: t.fields.length,
    cards: t.cards.length,
    rules: t.rules.length,
    robots: t.app.robots.length,
    businessProcesses: t.app.businessProcesses.length,
  };
}

/**
 * A lasting problem or install error in the service's words, classified (the words are portal-context.ts
 * lastingProblem's and the processor's) so the page can say it in the user's language.
 */
export function classifyProblem(message: string): Problem {
  const scope = /installed without the "([^"]+)" permission/.exec(message);
  if (scope) return { kind: 'scope', scope: scope[1], message };
  if (/application was deleted from the portal/.test(message)) return { kind: 'app_deleted', message };
  if (/authorisation of the application has expired/.test(message)) return { kind: 'auth_expired', message };
  if (/subscription on this portal has ended/.test(message)) return { kind: 'payment', message };
  if (/REST is not available on this portal's plan/.test(message)) return { kind: 'no_rest', message };
  if (/has no public URL/.test(message)) return { kind: 'no_public_url', message };
  return { kind: 'other', message };
}

const ACTIVE_PHASES = new Set(['queued', 'reading', 'applying', 'waiting']);

const csvCell = (value: string) => (/[",;\n\r]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value);

export function registerAppApi(app: FastifyInstance, deps: AppApiDeps): void {
  const { store, template, config, clock, log, progress } = deps;
  const sessionKey = () => store.derivedKey(SESSION_KEY_PURPOSE);
  const analyticsCache = new Map<string, { at: number; value: Analytics }>();

  function sessionOf(request: FastifyRequest): AppSession {
    const header = request.headers.authorization ?? '';
    const token = /^Bearer (\S+)$/.exec(header)?.[1];
    if (!token) throw new ApiFailure(401, 'no_session', 'no session: the page must be opened from the application in Bitrix24');
    const read = readSession(sessionKey(), token, clock());
    if (!read) throw new ApiFailure(401, 'no_session', 'the session is not one this service gave: open the application again from Bitrix24');
    if ('expired' in read) throw new ApiFailure(401, 'session_expired', 'the session has expired: open the application again from Bitrix24');
    return read.session;
  }

  function adminOnly(session: AppSession): void {
    if (!session.admin) throw new ApiFailure(403, 'forbidden', 'only a Bitrix24 administrator can do this: ask your portal administrator');
  }

  async function portalOf(session: AppSession): Promise<PortalRecord> {
    const portal = await store.getPortal(session.memberId);
    if (!portal || portal.installState === 'uninstalled') throw new ApiFailure(401, 'session_expired', 'the application is not installed on this portal any more: open it again from Bitrix24');
    return portal;
  }

  async function contextOf(session: AppSession): Promise<PortalContext> {
    const ctx = await deps.context(session.memberId);
    if (!ctx) throw new ApiFailure(401, 'session_expired', 'the application is not installed on this portal any more: open it again from Bitrix24');
    return ctx;
  }

  function dateParam(value: unknown, name: string, fallback: string): string {
    if (value === undefined) return fallback;
    const text = String(value);
    if (!isCalendarDate(text)) throw new ApiFailure(400, 'bad_request', `${name} "${text}" is not a date of the calendar (YYYY-MM-DD)`);
    return text;
  }

  async function installStatus(portal: PortalRecord): Promise<InstallStatus> {
    const tracked = progress.get(portal.memberId);
    // The store says whether an install is on; this process's tracker says how far it got. An attempt that failed
    // while the portal is still installing waits for its retry.
    let running = portal.installState === 'installing' && (tracked ? tracked.progress.phase !== 'done' : false);
    if (!tracked && portal.installState === 'installing') {
      // Queued by another process, or before this one started.
      running = (await store.listJobs({ memberId: portal.memberId })).some((j) => j.kind === 'install' && (j.status === 'queued' || j.status === 'running'));
    }
    const shown = tracked && running && !ACTIVE_PHASES.has(tracked.progress.phase) ? { ...tracked.progress, phase: 'queued' as const } : tracked?.progress;
    const problemText = portal.installState === 'failed' ? portal.installError ?? portal.lastError ?? 'the install failed' : portal.lastError;
    return {
      state: portal.installState,
      running,
      installedAt: portal.installedAt,
      progress: shown,
      result: tracked?.result,
      problem: problemText ? classifyProblem(problemText) : undefined,
    };
  }

  async function recallRows(ctx: PortalContext, date: string): Promise<RecallsView> {
    const episodes = await store.listRecalls({ date, memberId: ctx.memberId });
    const { activities, deals } = await recallOutcomes(ctx.client, episodes);
    const layout = await ctx.layout();
    const lang = ctx.lang;
    const timeZone = ctx.settings.timeZone;
    const pipelineName = (categoryId: number) => {
      const code = layout.pipelineOfCategory.get(categoryId);
      return template.pipelines.find((p) => p.code === code)?.name[lang] ?? '';
    };
    const rows: RecallRow[] = episodes.map((e) => {
      const deal = deals.get(e.dealId);
      const stageId = String(deal?.STAGE_ID ?? e.stageId);
      const categoryId = Number(deal?.CATEGORY_ID ?? (/^C(\d+):/.exec(e.stageId)?.[1] ?? 0));
      const done = e.activityId !== undefined && activities.get(String(e.activityId))?.COMPLETED === 'Y';
      return {
        dealId: e.dealId,
        deal: String(deal?.TITLE ?? e.dealTitle),
        client: e.client,
        pipeline: pipelineName(categoryId),
        stage: layout.stageNames.get(`deal:${stageId}`) ?? stageId,
        refusedOn: localToday(e.enteredAt, timeZone),
        reason: e.reason,
        responsible: e.responsibleName || (e.responsibleId ? `#${e.responsibleId}` : ''),
        status: done ? 'done' : e.status === 'closed' ? 'reopened' : 'pending',
      };
    });
    return { date, timeZone, rows };
  }

  app.register(async (api) => {
    api.setErrorHandler((error: unknown, request, reply: FastifyReply) => {
      const send = (status: number, code: ApiError['error'], message: string) => reply.code(status).send({ error: code, message } satisfies ApiError);
      if (error instanceof ApiFailure) return send(error.status, error.code, error.message);
      if (error instanceof SettingsError) return send(400, 'bad_request', error.message);
      if (error instanceof PortalError) {
        log.warn(`${request.method} ${request.url.split('?')[0]}: the portal refused: ${error.message}`);
        return send(502, 'portal_unavailable', lastingProblem(error) ?? error.message);
      }
      const e = error as { statusCode?: number; message?: string };
      if (e.statusCode && e.statusCode < 500) return send(e.statusCode, 'bad_request', e.message ?? 'bad request');
      log.error(`${request.method} ${request.url.split('?')[0]}: ${e.message ?? String(error)}`);
      return send(503, 'unavailable', 'the service could not answer: try again in a minute');
    });
    api.setNotFoundHandler((request, reply) => reply.code(404).send({ error: 'not_found', message: `${request.method} ${request.url.split('?')[0]} is not an address of the application's API` } satisfies ApiError));

    api.get('/install', async (request): Promise<InstallView> => {
      const session = sessionOf(request);
      const portal = await portalOf(session);
      const next = template.tiers[template.tiers.indexOf(portal.tier) + 1];
      return {
        portal: portal.domain,
        plan: portal.plan,
        template: { name: template.name[session.lang], version: template.version },
        tier: tierOffer(template, portal.tier, session.lang),
        upgrade: next ? { tier: tierOffer(template, next, session.lang), plans: template.manifest.plans.tiers[next] ?? [] } : undefined,
        scopes: scopeNeeds(template, portal.tier, portal.scope),
        status: await installStatus(portal),
      };
    });

    // The install page's button, and "repair" on the overview: (re)install the template.
    api.post('/install', async (request): Promise<InstallStatus> => {
      const session = sessionOf(request);
      adminOnly(session);
      const portal = await portalOf(session);
      const status = await installStatus(portal);
      if (!status.running) {
        await deps.queueInstall(portal);
        log.info(`portal ${portal.domain} (${portal.memberId}): install started from the application page by user ${session.userId}`);
      }
      return installStatus((await store.getPortal(portal.memberId)) ?? portal);
    });

    api.get('/overview', async (request): Promise<Overview> => {
      const session = sessionOf(request);
      const portal = await portalOf(session);
      const [queues, activity] = await Promise.all([store.queueStatsByPortal(clock()), store.portalActivity(portal.memberId)]);
      return {
        portal: portal.domain,
        plan: portal.plan,
        tier: { code: portal.tier, name: template.manifest.tiers.find((t) => t.code === portal.tier)?.name[session.lang] ?? portal.tier },
        template: { name: template.name[session.lang], version: template.version },
        status: await installStatus(portal),
        health: {
          queue: queues.get(portal.memberId) ?? { queued: 0, due: 0, running: 0, failed: 0, done: 0 },
          lastEventAt: activity.lastEventAt,
          failures: activity.failures.map(({ kind, error, at }) => ({ kind, error, at })),
          problem: portal.lastError ? classifyProblem(portal.lastError) : undefined,
        },
        timeZone: portal.settings.timeZone,
      };
    });

    // verify: the portal read and compared with the template, nothing written.
    api.get('/drift', async (request): Promise<DriftView> => {
      const session = sessionOf(request);
      const ctx = await contextOf(session);
      // Drift titles and details in the language of the person reading them.
      const report = await withLanguage(session.lang, () => verifyPortal(ctx.client, {
        template, tier: ctx.portal.tier, lang: ctx.lang, stateDir: config.stateDir, app: { publicUrl: deps.publicUrl(), clientId: config.app?.clientId },
      }));
      return {
        ok: report.ok, drift: report.drift.map(({ action, title, detail }) => ({ action, title, detail })), notVerified: report.notVerified.length,
        kept: report.kept.length, checkedAt: clock(),
      };
    });

    api.get('/settings', async (request): Promise<SettingsView> => {
      const session = sessionOf(request);
      const ctx = await contextOf(session);
      const tierTemplate = filterByTier(template, template.tiers.includes(ctx.portal.tier) ? ctx.portal.tier : template.tiers[0]);
      let users: SettingsView['users'] = [];
      try {
        const { items } = await listPaged(ctx.client, 'user.get', { FILTER: { ACTIVE: true }, sort: 'ID', order: 'ASC' }, 500);
        users = items.map((u) => ({
          id: Number(u.ID),
          name: [u.NAME, u.LAST_NAME].filter((p) => typeof p === 'string' && p.trim()).join(' ') || String(u.EMAIL ?? `#${String(u.ID)}`),
          position: String(u.WORK_POSITION ?? ''),
        }));
      } catch (error) {
        // Without the user permission the page still works: users are then shown by their IDs.
        if (!(error instanceof PortalError)) throw error;
        log.warn(`portal ${ctx.portal.domain}: users could not be listed for the settings page (${error.message})`);
      }
      const refusal = template.rules.flatMap((r) => r.do).find((a) => 'refusal' in a);
      return {
        settings: ctx.portal.settings,
        rules: tierTemplate.rules.map((r) => ({
          id: r.id, entity: r.entity, description: r.description[session.lang],
          pipelines: (r.pipelines ?? []).map((code) => template.pipelines.find((p) => p.code === code)?.name[session.lang] ?? code),
        })),
        users,
        timeZones: Intl.supportedValuesOf('timeZone'),
        defaultHint: refusal && 'refusal' in refusal ? refusal.refusal.hint[session.lang] : '',
      };
    });

    // Saved through the same check as the CLI's; the running service takes them up with the portal's next job.
    api.put('/settings', async (request): Promise<SettingsView['settings']> => {
      const session = sessionOf(request);
      adminOnly(session);
      const portal = await portalOf(session);
      const settings = withLanguage(session.lang, () => validateSettings(request.body, template.rules.map((r) => r.id)));
      await store.saveSettings(portal.memberId, settings);
      log.info(`portal ${portal.domain} (${portal.memberId}): settings changed from the application page by user ${session.userId}`);
      return settings;
    });

    api.get('/recalls', async (request): Promise<RecallsView> => {
      const session = sessionOf(request);
      const ctx = await contextOf(session);
      const date = dateParam((request.query as Record<string, unknown>).date, 'date', localToday(clock(), ctx.settings.timeZone));
      return recallRows(ctx, date);
    });

    api.get('/recalls.csv', async (request, reply) => {
      const session = sessionOf(request);
      const ctx = await contextOf(session);
      const date = dateParam((request.query as Record<string, unknown>).date, 'date', localToday(clock(), ctx.settings.timeZone));
      const view = await recallRows(ctx, date);
      const ru = session.lang === 'ru';
      const header = ru
        ? ['Сделка', 'Название', 'Клиент', 'Воронка', 'Стадия', 'Дата отказа', 'Причина', 'Ответственный', 'Статус']
        : ['Deal', 'Title', 'Client', 'Pipeline', 'Stage', 'Refused on', 'Reason', 'Responsible', 'Status'];
      const status = { pending: ru ? 'ожидает звонка' : 'pending', done: ru ? 'выполнен' : 'done', reopened: ru ? 'сделка возобновлена' : 'deal reopened' };
      const lines = [header, ...view.rows.map((r) => [r.dealId, r.deal, r.client, r.pipeline, r.stage, r.refusedOn, r.reason, r.responsible, status[r.status]])]
        .map((cells) => cells.map(csvCell).join(';'));
      // A byte-order mark and ";" make Excel read the Cyrillic text and the columns right.
      return reply.type('text/csv; charset=utf-8').header('content-disposition', `attachment; filename="recalls-${date}.csv"`).send(`\ufeff${lines.join('\r\n')}\r\n`);
    });

    api.get('/analytics', async (request): Promise<Analytics> => {
      const session = sessionOf(request);
      const ctx = await contextOf(session);
      const query = request.query as Record<string, unknown>;
      const today = localToday(clock(), ctx.settings.timeZone);
      const to = dateParam(query.to, 'to', today);
      const from = dateParam(query.from, 'from', `${to.slice(0, 8)}01`);
      if (from > to) throw new ApiFailure(400, 'bad_request', `the period starts (${from}) after it ends (${to})`);
      if (dayStart(nextDay(to), 'UTC') - dayStart(from, 'UTC') > 366 * 86_400_000) throw new ApiFailure(400, 'bad_request', 'the period is longer than a year: choose a shorter one');
      const key = `${ctx.memberId}|${from}|${to}|${session.lang}`;
      const cached = analyticsCache.get(key);
      if (cached && clock() - cached.at < 60_000) return cached.value;
      const value = await analyticsFor({ ctx, store, template, from, to, now: clock() });
      analyticsCache.set(key, { at: clock(), value });
      if (analyticsCache.size > 200) analyticsCache.delete(analyticsCache.keys().next().value as string);
      return value;
    });
  }, { prefix: '/api' });
}
