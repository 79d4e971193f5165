// The HTTP face of the service. Every event and robot call is validated (400 when malformed), checked against
// the portal's stored application_token (401 otherwise, and nothing else happens), written to the durable queue
// and answered; the work runs after the answer. The install route verifies the tokens before storing them. The
// Market application's pages (the install page and the application page, app-pages.ts) and their JSON API
// (app-api.ts) are served here too; a browser always gets HTML, in the user's language.
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { z } from 'zod';
import type { Template } from '../template/index.js';
import { isCalendarDate } from './analytics.js';
import { registerAppApi } from './app-api.js';
import { errorPage, problemOfStatus, WebApp, WebNotBuilt, type PageProblem } from './app-pages.js';
import { SESSION_KEY_PURPOSE, SESSION_TTL_MS, signSession } from './app-session.js';
import type { Bootstrap, UiLang } from './app-types.js';
import { settingsDefaults, type ServiceConfig } from './config.js';
import { identifyUser, InstallRefused, verifyInstall, type InstallRequest } from './install.js';
import { InstallProgress } from './install-progress.js';
import type { Logger } from './log.js';
import {
  appPagePayload, CRM_EVENTS, crmEventPayload, describeIssues, installEventPayload, installPagePayload, installPageQuery, parseFormBody,
  robotDocument, robotPayload, sameToken, uninstallPayload,
} from './payloads.js';
import { ROBOT_HANDLERS } from './app-objects.js';
import type { PortalContext } from './portal-context.js';
import { itemWorkKey, type ItemJob, type RobotJob } from './processor.js';
import { robotCallId } from './rules.js';
import type { NewJob, PortalInfo, PortalRecord, QueueStats, ServiceStore } from './store/types.js';

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
  /** The portal's REST context with the stored tokens, for the application pages' API (service.ts). */
  context?: (memberId: string) => Promise<PortalContext | undefined>;
  /** Where Bitrix24 is told to call (what verify compares robots and events with). */
  publicUrl?: () => string | undefined;
  /** Each portal's running install, fed by the installer (service.ts). */
  progress?: InstallProgress;
  /** The built front end (default: dist/web). */
  web?: WebApp;
}

class BadRequest extends Error {
  constructor(readonly status: number, message: string, readonly problem?: PageProblem) {
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

const pageLang = (value: unknown): UiLang => (value === 'en' ? 'en' : 'ru');

export function buildServer(deps: ServerDeps): FastifyInstance {
  /** Requests a browser made (pages): their errors are HTML, in the language of the page. */
  const pageRequests = new WeakMap<object, { lang: UiLang }>();
  const { store, config, clock, log } = deps;
  const progress = deps.progress ?? new InstallProgress(clock);
  const web = deps.web ?? new WebApp();
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
    if (page && error instanceof WebNotBuilt) {
      log.error(error.message);
      return reply.code(503).type('text/html; charset=utf-8').send(errorPage(page.lang, 'not-built', error.message));
    }
    if (error instanceof BadRequest || error instanceof InstallRefused) {
      log.warn(`${request.method} ${request.url.split('?')[0]}: ${error.status} ${error.message}`);
      if (page) {
        const problem = (error instanceof BadRequest && error.problem) || problemOfStatus(error.status);
        return reply.code(error.status).type('text/html; charset=utf-8').send(errorPage(page.lang, problem, error.message));
      }
      const code = error.status === 401 ? 'unauthorized' : error.status === 403 ? 'forbidden' : error.status >= 500 ? 'unavailable' : 'bad_request';
      return reply.code(error.status).send({ error: code, message: error.message });
    }
    const e = error as { statusCode?: number; message?: string };
    if (e.statusCode && e.statusCode < 500) {
      if (page) return reply.code(e.statusCode).type('text/html; charset=utf-8').send(errorPage(page.lang, 'incomplete', e.message ?? 'bad request'));
      return reply.code(e.statusCode).send({ error: 'bad_request', message: e.message ?? 'bad request' });
    }
    log.error(`${request.method} ${request.url.split('?')[0]}: ${e.message ?? String(error)}`);
    if (page) return reply.code(503).type('text/html; charset=utf-8').send(errorPage(page.lang, 'unavailable', 'the service could not handle the request'));
    // Nothing was queued: the caller may repeat the delivery.
    return reply.code(503).send({ error: 'unavailable', message: 'the service could not store the request; nothing was accepted' });
  });

  // The pages Bitrix24 opens in its frame: whatever goes wrong with them (a body the parser refuses too) is a page.
  app.addHook('onRequest', async (request) => {
    const path = request.url.split('?')[0];
    if (path === '/install' || path === '/app') pageRequests.set(request, { lang: pageLang((request.query as Record<string, unknown> | undefined)?.LANG) });
  });

  app.setNotFoundHandler((request, reply) => {
    const message = `${request.method} ${request.url.split('?')[0]} is not an address of the Autosalon service: Bitrix24 POSTs to /install, /events and /robots/…; `
      + 'the application opens from Bitrix24 (POST /app); GET /health shows the queue';
    // A person who typed an address gets a page; a program gets JSON.
    if (/text\/html/.test(request.headers.accept ?? '')) return reply.code(404).type('text/html; charset=utf-8').send(errorPage('ru', 'open-from-bitrix24', message));
    return reply.code(404).send({ error: 'not_found', message });
  });

  web.register(app);

  /** The portal whose stored application_token the call presents, or 401. */
  async function authorise(auth: { member_id: string; application_token: string }): Promise<PortalRecord> {
    const portal = await store.getPortal(auth.member_id);
    if (!portal || portal.installState === 'uninstalled' || !sameToken(auth.application_token, portal.applicationToken)) {
      throw new BadRequest(401, 'unknown portal or wrong application_token: the call was ignored');
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
  // A database that cannot be reached is "down" (503), so a load balancer's health check takes the process out.
  app.get('/health', async (_request, reply) => {
    let portals: PortalInfo[];
    let queue: QueueStats;
    try {
      portals = (await store.listPortals()).filter((p) => p.installState !== 'uninstalled');
      queue = await store.queueStats(clock());
    } catch (error) {
      log.error(`GET /health: the database cannot be reached: ${(error as Error).message}`);
      return reply.code(503).send({ status: 'down', problem: 'the service\'s database cannot be reached (the service log says why)' });
    }
    const failing = portals
      .filter((p) => p.installState === 'failed' || p.lastError)
      .map((p) => ({ memberId: p.memberId, domain: p.domain, installState: p.installState, problem: p.lastError ?? p.installError ?? 'the install failed' }));
    return { status: failing.length ? 'degraded' : 'ok', portals: portals.length, failing, queue };
  });

  /** Queues the portal's (re)install; an awaiting portal's install time starts now (items made before are history). */
  async function queueInstall(portal: PortalRecord): Promise<void> {
    await store.updatePortal(portal.memberId, {
      installState: 'installing', installError: undefined, ...(portal.installState === 'awaiting' ? { installedAt: clock() } : {}),
    });
    progress.queued(portal.memberId);
    // No dedupe key: each verified install spent its own refresh token, so a second one is a real reinstall.
    await queue({ memberId: portal.memberId, kind: 'install', runAt: clock(), payload: {} });
  }

  /**
   * A verified administrator's install. A portal that is installed already keeps its own settings, its install time
   * (items made since then are still work), its sweep position and — from the install page — its install state; a new
   * or uninstalled one starts from the service's defaults, in the time zone the portal shows. The install event
   * installs at once; the install page stores the portal as awaiting, and its button starts the install.
   */
  async function acceptInstall(request: InstallRequest, from: 'event' | 'page'): Promise<PortalRecord> {
    const verified = await verifyInstall(request, {
      app: config.app, oauthUrl: config.oauthUrl, template: deps.template, defaultLang: config.automation.lang, now: clock(),
      settings: settingsDefaults(config),
    });
    const existing = await store.getPortal(verified.portal.memberId);
    const known = existing && existing.installState !== 'uninstalled' ? existing : undefined;
    const portal: PortalRecord = known
      ? {
        ...verified.portal, installedAt: known.installedAt, lastSweepAt: known.lastSweepAt, settings: known.settings,
        ...(from === 'page' ? { installState: known.installState, installError: known.installError } : {}),
      }
      : {
        ...verified.portal, installState: from === 'page' ? 'awaiting' : 'installing',
        settings: { ...verified.portal.settings, ...(verified.timeZone ? { timeZone: verified.timeZone } : {}) },
      };
    await store.savePortal(portal);
    deps.onPortalChanged(portal.memberId);
    log.info(`portal ${portal.domain} (${portal.memberId}): application ${from === 'page' ? 'install page opened' : 'installed'} by user ${portal.userId}, plan "${portal.plan || 'unknown'}" → tier ${portal.tier}`);
    if (from === 'event') {
      await queueInstall(portal);
      log.info(`portal ${portal.domain}: installing the template`);
    }
    return portal;
  }

  /** The application's page: the front end with the page's bootstrap and a signed session (never a token). */
  async function sendPage(reply: FastifyReply, page: Bootstrap['page'], portal: PortalRecord, user: { userId: number; admin: boolean }, lang: UiLang, date?: string) {
    const issuedAt = clock();
    const expiresAt = issuedAt + SESSION_TTL_MS;
    const session = signSession(store.derivedKey(SESSION_KEY_PURPOSE), { memberId: portal.memberId, userId: user.userId, admin: user.admin, lang, expiresAt });
    const bootstrap: Bootstrap = { page, lang, session, issuedAt, sessionExpiresAt: expiresAt, admin: user.admin, portal: portal.domain, ...(date ? { date } : {}) };
    return reply.type('text/html; charset=utf-8').header('cache-control', 'no-store').send(web.page(bootstrap));
  }

  /** A page address a browser opened without Bitrix24's POST: say where the application opens. */
  const openFromBitrix24 = (request: FastifyRequest) => {
    throw new BadRequest(405, `${request.method} ${request.url.split('?')[0]}: Bitrix24 opens this page with a POST from the portal`, 'open-from-bitrix24');
  };
  app.get('/install', openFromBitrix24);
  app.get('/app', openFromBitrix24);

  app.post('/install', async (request, reply: FastifyReply) => {
    const form = body(request.body);
    if (form.event !== undefined) {
      // The install event comes from Bitrix24's servers, not a browser: its errors are JSON.
      pageRequests.delete(request);
      const p = parse(installEventPayload, form, 'install event');
      const portal = await acceptInstall({
        accessToken: p.auth.access_token, refreshToken: p.auth.refresh_token, memberId: p.auth.member_id, domain: p.auth.domain,
        clientEndpoint: p.auth.client_endpoint, applicationToken: p.auth.application_token, lang: p.data?.LANGUAGE_ID,
      }, 'event');
      return { status: 'installed', tier: portal.tier };
    }
    const lang = pageLang((request.query as Record<string, unknown> | undefined)?.LANG);
    const p = parse(installPagePayload, form, 'install page request');
    const q = parse(installPageQuery, request.query, 'install page query');
    const protocol = q.PROTOCOL === '0' ? 'http' : 'https';
    const portal = await acceptInstall({
      accessToken: p.AUTH_ID, refreshToken: p.REFRESH_ID, memberId: p.member_id, domain: q.DOMAIN,
      clientEndpoint: `${protocol}://${q.DOMAIN}/rest/`, applicationToken: p.APPLICATION_TOKEN, lang: q.LANG,
    }, 'page');
    // verifyInstall let only an administrator through.
    return sendPage(reply, 'install', portal, { userId: portal.userId, admin: true }, lang);
  });

  // Bitrix24 opens the application's page with a POST carrying the user's tokens and the application token: the
  // token must be the one this portal's install stored (the page was opened through this application), and the
  // portal says who the user is.
  app.post('/app', async (request, reply) => {
    const query = (request.query ?? {}) as Record<string, unknown>;
    const form = body(request.body);
    if (form.APPLICATION_TOKEN === undefined) throw new BadRequest(401, 'APPLICATION_TOKEN is missing: the page was not opened from the application in Bitrix24 (or is an old page)');
    const p = parse(appPagePayload, form, 'application page request');
    const portal = await authorise({ member_id: p.member_id, application_token: p.APPLICATION_TOKEN });
    if (p.date !== undefined && !isCalendarDate(p.date)) throw new BadRequest(400, `date "${p.date}" is not a day of the calendar (YYYY-MM-DD)`, 'date');
    const lang = query.LANG === undefined ? portal.lang : pageLang(query.LANG);
    pageRequests.set(request, { lang });
    const user = await identifyUser(portal.clientEndpoint, p.AUTH_ID);
    return sendPage(reply, 'app', portal, user, lang, p.date);
  });

  registerAppApi(app, {
    config, store, template: deps.template, clock, log, progress, queueInstall,
    context: deps.context ?? (async () => {
      throw new Error('this server was built without access to the portals');
    }),
    publicUrl: deps.publicUrl ?? (() => config.publicUrl),
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
