// The HTTP face of the service. Every event and robot call is validated (400 when malformed), checked against
// the portal's stored application_token (401 otherwise, and nothing else happens), written to the durable queue
// and answered; the work runs after the answer. The install route verifies the tokens before storing them.
import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify';
import type { z } from 'zod';
import type { Template } from '../template/index.js';
import { settingsDefaults, type ServiceConfig } from './config.js';
import { InstallRefused, verifyInstall, type InstallRequest } from './install.js';
import type { Logger } from './log.js';
import {
  appPagePayload, CRM_EVENTS, crmEventPayload, describeIssues, installEventPayload, installPagePayload, installPageQuery, pagePass, parseFormBody,
  robotDocument, robotPayload, sameToken, uninstallPayload, validPagePass,
} from './payloads.js';
import { ROBOT_HANDLERS } from './app-objects.js';
import { itemWorkKey, type ItemJob, type RobotJob } from './processor.js';
import { recallList, type RecallEntry } from './recalls.js';
import { robotCallId } from './rules.js';
import { localToday } from './time.js';
import type { NewJob, PortalRecord, ServiceStore } from './store/types.js';

export interface ServerDeps {
  config: ServiceConfig;
  store: ServiceStore;
  template: Template;
  clock: () => number;
  log: Logger;
  /** A job was queued. */
  onQueued: () => void;
  /** The portal's tokens or state changed: cached clients must go. */
  onPortalChanged: (memberId: string) => void;
  /** A portal was verified and stored: its install job is queued. */
  onInstalled?: (portal: PortalRecord) => void;
}

class BadRequest extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

/** A part the body lacks is named as missing (zod would say "expected object, received undefined"). */
const missing = (issue: { code: string; input?: unknown }) => (issue.code === 'invalid_type' && issue.input === undefined ? 'missing' : undefined);

function parse<T extends z.ZodType>(schema: T, value: unknown, what: string): z.infer<T> {
  const r = schema.safeParse(value, { error: missing });
  if (!r.success) throw new BadRequest(400, `malformed ${what}: ${describeIssues(r.error)}`);
  return r.data;
}

/** How long the application page's date form keeps working without reopening the application. */
const APP_PAGE_PASS_MS = 12 * 3_600_000;

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** The install page of an application with an interface must tell Bitrix24 the install is finished. */
function installPage(lang: string, title: string, text: string): string {
  return `<!DOCTYPE html><html lang="${escapeHtml(lang)}"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<script src="//api.bitrix24.com/api/v1/"></script></head><body><h1>${escapeHtml(title)}</h1><p>${escapeHtml(text)}</p>
<script>if (window.BX24) BX24.init(function () { BX24.installFinish(); });</script></body></html>`;
}

/** The application's page in Bitrix24: the re-call list of a day, with a date picker that posts back to itself. */
function recallPage(lang: string, date: string, entries: RecallEntry[], hidden: Record<string, string>): string {
  const ru = lang === 'ru';
  const head = ru ? ['Сделка', 'Клиент', 'Причина отказа', 'Ответственный'] : ['Deal', 'Client', 'Refusal reason', 'Responsible'];
  const rows = entries.map((e) => `<tr><td>#${escapeHtml(e.dealId)} ${escapeHtml(e.deal)}${e.open ? '' : ru ? ' (открыта снова)' : ' (reopened)'}</td>`
    + `<td>${escapeHtml(e.client || '—')}</td><td>${escapeHtml(e.reason || '—')}</td><td>${escapeHtml(e.responsible || '—')}</td></tr>`).join('');
  const fields = Object.entries(hidden).map(([k, v]) => `<input type="hidden" name="${escapeHtml(k)}" value="${escapeHtml(v)}">`).join('');
  return `<!DOCTYPE html><html lang="${escapeHtml(lang)}"><head><meta charset="utf-8"><title>${ru ? 'Повторные звонки' : 'Re-calls'}</title>
<style>body{font:14px sans-serif;margin:16px}table{border-collapse:collapse}td,th{border-bottom:1px solid #ddd;padding:6px 10px;text-align:left}</style></head>
<body><h1>${ru ? 'Повторные звонки' : 'Re-calls'}</h1><form method="post">${fields}<input type="date" name="date" value="${escapeHtml(date)}">
<button>${ru ? 'Показать' : 'Show'}</button></form>
${entries.length ? `<table><tr>${head.map((h) => `<th>${h}</th>`).join('')}</tr>${rows}</table>` : `<p>${ru ? 'На этот день звонков нет.' : 'No re-calls on this day.'}</p>`}
</body></html>`;
}

/** What a person sees when a page the browser opened cannot be shown: in their language, what happened and what to do. */
function errorPage(lang: 'ru' | 'en', status: number, detail: string): string {
  const ru = lang === 'ru';
  const [title, text] = status === 403
    ? ru ? ['Нужен администратор', 'Установить и настроить «Автосалон» может только администратор Битрикс24. Обратитесь к администратору портала.']
      : ['An administrator is needed', 'Only a Bitrix24 administrator can install and set up Autosalon. Ask your portal administrator.']
    : status === 401
      ? ru ? ['Страница устарела', 'Страница открыта не из Битрикс24 или устарела. Откройте приложение заново из Битрикс24.']
        : ['The page has expired', 'The page was not opened from Bitrix24, or it has expired. Open the application again from Bitrix24.']
      : status < 500
        ? ru ? ['Запрос неполный', 'Битрикс24 передал не всё, что нужно странице. Откройте приложение заново из Битрикс24.']
          : ['Incomplete request', 'Bitrix24 did not pass everything this page needs. Open the application again from Bitrix24.']
        : ru ? ['Сервис недоступен', 'Сервис «Автосалон» не смог выполнить запрос. Попробуйте ещё раз через минуту.']
          : ['Service unavailable', 'The Autosalon service could not handle the request. Try again in a minute.'];
  return `<!DOCTYPE html><html lang="${lang}"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<style>body{font:14px sans-serif;margin:24px;color:#333}details{color:#777;margin-top:16px}</style></head>
<body><h1>${escapeHtml(title)}</h1><p>${escapeHtml(text)}</p><details><summary>${ru ? 'Подробности' : 'Details'}</summary>${escapeHtml(detail)}</details></body></html>`;
}

const pageLang = (query: unknown): 'ru' | 'en' => ((query as Record<string, unknown> | undefined)?.LANG === 'en' ? 'en' : 'ru');

export function buildServer(deps: ServerDeps): FastifyInstance {
  /** Requests a browser made (pages): their errors are HTML, in the language of the page. */
  const pageRequests = new WeakMap<object, { lang: 'ru' | 'en' }>();
  const { store, config, clock, log } = deps;
  // A request must arrive whole within requestTimeoutMs: a client trickling bytes cannot hold a connection open.
  const app = Fastify({
    logger: false, bodyLimit: 256 * 1024, forceCloseConnections: true,
    requestTimeout: config.requestTimeoutMs, connectionTimeout: config.requestTimeoutMs, keepAliveTimeout: config.keepAliveTimeoutMs,
    http: { headersTimeout: config.requestTimeoutMs, connectionsCheckingInterval: Math.min(1000, Math.ceil(config.requestTimeoutMs / 2)) },
  });

  // Bitrix24 posts application/x-www-form-urlencoded with bracket keys.
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) => {
    try {
      done(null, parseFormBody(body as string));
    } catch (error) {
      done(error as Error, undefined);
    }
  });

  app.setErrorHandler((error: unknown, request, reply) => {
    const page = pageRequests.get(request);
    if (error instanceof BadRequest || error instanceof InstallRefused) {
      log.warn(`${request.method} ${request.url}: ${error.status} ${error.message}`);
      if (page) return reply.code(error.status).type('text/html; charset=utf-8').send(errorPage(page.lang, error.status, error.message));
      const code = error.status === 401 ? 'unauthorized' : error.status === 403 ? 'forbidden' : error.status >= 500 ? 'unavailable' : 'bad_request';
      return reply.code(error.status).send({ error: code, message: error.message });
    }
    const e = error as { statusCode?: number; message?: string };
    if (e.statusCode && e.statusCode < 500) {
      return reply.code(e.statusCode).send({ error: 'bad_request', message: e.message ?? 'bad request' });
    }
    log.error(`${request.method} ${request.url}: ${e.message ?? String(error)}`);
    // Nothing was queued: the caller may repeat the delivery.
    return reply.code(503).send({ error: 'unavailable', message: 'the service could not store the request; nothing was accepted' });
  });

  app.setNotFoundHandler((request, reply) => reply.code(404).send({
    error: 'not_found',
    message: `${request.method} ${request.url.split('?')[0]} is not an address of the Autosalon service: Bitrix24 POSTs to /install, /events and /robots/…; `
      + 'the re-call list opens from the application in Bitrix24 (POST /app); GET /health shows the queue',
  }));

  /** The portal whose stored application_token the call presents, or 401. */
  async function authorise(auth: { member_id: string; application_token: string }): Promise<PortalRecord> {
    const portal = await store.getPortal(auth.member_id);
    if (!portal || portal.installState === 'uninstalled' || !sameToken(auth.application_token, portal.applicationToken)) {
      throw new BadRequest(401, 'unknown portal or wrong application_token: the call was ignored');
    }
    return portal;
  }

  /** The portal whose application page issued this pass (its date form), or 401. */
  async function authorisePass(memberId: string, pass: string): Promise<PortalRecord> {
    const portal = await store.getPortal(memberId);
    if (!portal || portal.installState === 'uninstalled' || !validPagePass(pass, portal.applicationToken, memberId, clock())) {
      throw new BadRequest(401, 'the page has expired or was not opened from the portal: open the application again in Bitrix24');
    }
    return portal;
  }

  async function queue(job: NewJob): Promise<void> {
    await store.enqueue(job);
    deps.onQueued();
  }

  const body = (value: unknown): Record<string, unknown> => {
    if (!value || typeof value !== 'object' || Array.isArray(value)) throw new BadRequest(400, 'malformed request: the body must be a form (application/x-www-form-urlencoded)');
    return value as Record<string, unknown>;
  };

  // For operators: the queue, and every portal whose install failed or that has a lasting problem, with the reason.
  app.get('/health', async () => {
    const portals = (await store.listPortals()).filter((p) => p.installState !== 'uninstalled');
    const failing = portals
      .filter((p) => p.installState === 'failed' || p.lastError)
      .map((p) => ({ memberId: p.memberId, domain: p.domain, installState: p.installState, problem: p.lastError ?? p.installError ?? 'the install failed' }));
    return { status: failing.length ? 'degraded' : 'ok', portals: portals.length, failing, queue: await store.queueStats(clock()) };
  });

  /**
   * A verified administrator's install. A portal that is installed already keeps its own settings, its install time
   * (items made since then are still work) and its sweep position; a new or uninstalled one starts from the
   * service's defaults, in the time zone the portal shows.
   */
  async function acceptInstall(request: InstallRequest): Promise<PortalRecord> {
    const verified = await verifyInstall(request, {
      app: config.app, oauthUrl: config.oauthUrl, template: deps.template, defaultLang: config.automation.lang, now: clock(),
      settings: settingsDefaults(config),
    });
    const existing = await store.getPortal(verified.portal.memberId);
    const portal: PortalRecord = existing && existing.installState !== 'uninstalled'
      ? { ...verified.portal, installedAt: existing.installedAt, lastSweepAt: existing.lastSweepAt, settings: existing.settings }
      : { ...verified.portal, settings: { ...verified.portal.settings, ...(verified.timeZone ? { timeZone: verified.timeZone } : {}) } };
    await store.savePortal(portal);
    deps.onPortalChanged(portal.memberId);
    // No dedupe key: each verified install spent its own refresh token, so a second one is a real reinstall.
    await queue({ memberId: portal.memberId, kind: 'install', runAt: clock(), payload: {} });
    log.info(`portal ${portal.domain} (${portal.memberId}): application installed by user ${portal.userId}, plan "${portal.plan || 'unknown'}" → tier ${portal.tier}; installing the template`);
    deps.onInstalled?.(portal);
    return portal;
  }

  app.post('/install', async (request, reply: FastifyReply) => {
    const form = body(request.body);
    if (form.event !== undefined) {
      const p = parse(installEventPayload, form, 'install event');
      const portal = await acceptInstall({
        accessToken: p.auth.access_token, refreshToken: p.auth.refresh_token, memberId: p.auth.member_id, domain: p.auth.domain,
        clientEndpoint: p.auth.client_endpoint, applicationToken: p.auth.application_token, lang: p.data?.LANGUAGE_ID,
      });
      return { status: 'installed', tier: portal.tier };
    }
    pageRequests.set(request, { lang: pageLang(request.query) });
    const p = parse(installPagePayload, form, 'install page request');
    const q = parse(installPageQuery, request.query, 'install page query');
    const protocol = q.PROTOCOL === '0' ? 'http' : 'https';
    const portal = await acceptInstall({
      accessToken: p.AUTH_ID, refreshToken: p.REFRESH_ID, memberId: p.member_id, domain: q.DOMAIN,
      clientEndpoint: `${protocol}://${q.DOMAIN}/rest/`, applicationToken: p.APPLICATION_TOKEN, lang: q.LANG,
    });
    const ru = portal.lang === 'ru';
    return reply.type('text/html; charset=utf-8').send(installPage(
      portal.lang,
      ru ? 'Автосалон установлен' : 'Autosalon is installed',
      ru ? 'Воронки, поля и автоматизация настраиваются в фоне, это займёт около минуты.' : 'Pipelines, fields and automation are being set up in the background; this takes about a minute.',
    ));
  });

  app.post('/events', async (request) => {
    const form = body(request.body);
    if (String(form.event ?? '').toUpperCase() === 'ONAPPUNINSTALL') {
      const p = parse(uninstallPayload, { ...form, event: 'ONAPPUNINSTALL' }, 'uninstall event');
      const portal = await authorise(p.auth);
      await store.markUninstalled(portal.memberId, clock());
      deps.onPortalChanged(portal.memberId);
      log.info(`portal ${portal.domain} (${portal.memberId}): application uninstalled; its tokens and pending jobs are dropped`);
      return { status: 'uninstalled' };
    }
    const p = parse(crmEventPayload, form, 'event');
    const portal = await authorise(p.auth);
    const { entity } = CRM_EVENTS[p.event];
    const item: ItemJob = { entity, id: p.data.FIELDS.ID };
    await queue({ memberId: portal.memberId, kind: 'event', runAt: clock(), payload: item, coalesceKey: itemWorkKey(portal.memberId, item) });
    return { status: 'accepted' };
  });

  // Bitrix24 opens the application's page with a POST carrying member_id and APPLICATION_TOKEN.
  app.post('/app', async (request, reply) => {
    pageRequests.set(request, { lang: pageLang(request.query) });
    const p = parse(appPagePayload, body(request.body), 'application page request');
    const portal = p.APPLICATION_TOKEN !== undefined
      ? await authorise({ member_id: p.member_id, application_token: p.APPLICATION_TOKEN })
      : await authorisePass(p.member_id, p.pass ?? '');
    const query = request.query as Record<string, unknown>;
    const date = p.date ?? localToday(clock(), portal.settings.timeZone);
    const lang = String(query.LANG ?? portal.lang) === 'en' ? 'en' : 'ru';
    const entries = await recallList(store, { date, memberId: portal.memberId });
    // The date form posts back a pass, never the application token, which would let anyone who sees the page forge events.
    const pass = pagePass(portal.applicationToken, portal.memberId, clock() + APP_PAGE_PASS_MS);
    return reply.type('text/html; charset=utf-8').send(recallPage(lang, date, entries, { member_id: portal.memberId, pass }));
  });

  for (const [path, handler] of Object.entries(ROBOT_HANDLERS)) {
    app.post(path, async (request) => {
      const p = parse(robotPayload, body(request.body), 'robot call');
      const portal = await authorise(p.auth);
      const document = robotDocument(p);
      const payload: RobotJob = {
        ...document, handler, workflowId: p.workflow_id, eventToken: p.event_token, properties: p.properties ?? {},
        useSubscription: p.use_subscription !== 'N', at: p.ts ? p.ts * 1000 : clock(),
      };
      // The same call delivered twice is one job.
      const dedupeKey = `robot|${portal.memberId}|${robotCallId(p.workflow_id, p.event_token)}`;
      await queue({ memberId: portal.memberId, kind: 'robot', runAt: clock(), payload, dedupeKey });
      return { status: 'accepted' };
    });
  }

  return app;
}
