// The Market application's pages and their API at the HTTP level (the portal and the OAuth server answered by nock):
// what Bitrix24 posts is checked before a page is answered; the page carries a signed session and never a token;
// every route a browser opens answers HTML in the user's language; the API refuses what a session does not allow.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import nock from 'nock';
import qs from 'qs';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { classifyProblem } from '../../src/service/app-api.js';
import { WebApp } from '../../src/service/app-pages.js';
import { readSession, signSession } from '../../src/service/app-session.js';
import type { Bootstrap } from '../../src/service/app-types.js';
import { loadServiceConfig } from '../../src/service/config.js';
import { InstallProgress } from '../../src/service/install-progress.js';
import { createLogger } from '../../src/service/log.js';
import { lastingProblem } from '../../src/service/portal-context.js';
import { buildServer } from '../../src/service/server.js';
import { defaultSettings } from '../../src/service/settings.js';
import { SqliteStore } from '../../src/service/store/sqlite.js';
import type { PortalRecord } from '../../src/service/store/types.js';
import { PortalError } from '../../src/portal/client.js';
import { loadTemplate } from '../../src/template/index.js';
import { testKeys } from '../helpers/keys.js';

const template = loadTemplate();
const NOW = Date.parse('2027-01-15T09:00:00Z');
const TOKEN = 'a1b2c3-application-token';
const env = { AUTOSALON_STATE_DIR: '/tmp/autosalon-test', B24_APP_CLIENT_ID: 'local.abc', B24_APP_CLIENT_SECRET: 's3cret', B24_OAUTH_URL: 'https://oauth.test' };

const portal: PortalRecord = {
  memberId: 'member-1', domain: 'a.bitrix24.ru', clientEndpoint: 'https://a.bitrix24.ru/rest/', accessToken: 'stored-at', refreshToken: 'stored-rt',
  expires: 0, scope: 'crm', userId: 1, applicationToken: TOKEN, lang: 'ru', tier: 'crm_plus', plan: 'pro', installedAt: NOW,
  installState: 'installed', settings: defaultSettings(),
};

let store: SqliteStore;
let webDir: string;

function server(clock = () => NOW, web = new WebApp(webDir)) {
  return buildServer({
    config: loadServiceConfig(env), store, template, clock, log: createLogger('silent'), web,
    onQueued: () => undefined, onPortalChanged: () => undefined,
  });
}

const form = (body: unknown) => ({ headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: qs.stringify(body) });
const bootstrapOf = (html: string) => JSON.parse(/<script id="autosalon-bootstrap" type="application\/json">(.*?)<\/script>/.exec(html)?.[1] ?? 'null') as Bootstrap;
const bearer = (session: string) => ({ authorization: `Bearer ${session}` });
/** The portal's answer to `profile` with a frame token. */
const profile = (answer: Record<string, unknown>, status = 200) => nock('https://a.bitrix24.ru').post('/rest/profile.json').reply(status, answer);

beforeAll(() => {
  nock.disableNetConnect();
  webDir = mkdtempSync(join(tmpdir(), 'autosalon-web-'));
  mkdirSync(join(webDir, 'assets'));
  writeFileSync(join(webDir, 'index.html'), '<!doctype html>\n<html lang="ru"><head><title>Автосалон</title><script type="module" src="./assets/app-1.js"></script></head><body><div id="app"></div></body></html>');
  writeFileSync(join(webDir, 'assets', 'app-1.js'), 'console.log(1)');
  writeFileSync(join(webDir, 'assets', 'app-1.css'), 'body{}');
});
afterAll(() => {
  nock.enableNetConnect();
  rmSync(webDir, { recursive: true, force: true });
});
beforeEach(async () => {
  store = await SqliteStore.open(':memory:', { keys: testKeys() });
  await store.savePortal(portal);
});
afterEach(async () => {
  nock.cleanAll();
  await store.close();
});

describe('the install page', () => {
  const page = (over: Record<string, unknown> = {}) => ({
    AUTH_ID: 'frame-at', AUTH_EXPIRES: '3600', REFRESH_ID: 'frame-rt', APPLICATION_TOKEN: 'page-app-token', APPLICATION_SCOPE: 'crm,im', member_id: 'member-2', ...over,
  });
  const url = '/install?DOMAIN=b.bitrix24.ru&PROTOCOL=1&LANG=ru&APP_SID=abc';
  const freshTokens = () => nock('https://oauth.test').post('/oauth/token/').reply(200, {
    access_token: 'fresh-at', refresh_token: 'fresh-rt', expires: 1800003600, member_id: 'member-2', client_endpoint: 'https://b.bitrix24.ru/rest/', scope: 'crm,im', user_id: 1,
  });
  const portalAnswers = (profileOver: Record<string, unknown> = {}) => nock('https://b.bitrix24.ru').post(/batch/).query(true).reply(200, {
    result: {
      result: {
        info: { ID: 1, CODE: 'local.abc', LICENSE: 'ru_pro', LICENSE_TYPE: 'pro', LICENSE_FAMILY: 'pro', INSTALLED: false },
        profile: { ID: '1', ADMIN: true, TIME_ZONE: 'Europe/Samara', ...profileOver },
        time: '2027-01-15T13:00:00+04:00',
      },
      result_error: [], result_total: [], result_next: [], result_time: [],
    },
    time: { start: 1, finish: 1, duration: 0, processing: 0, date_start: '', date_finish: '' },
  });

  it('an administrator\'s page: the portal is verified and stored as awaiting, nothing is queued; the page has a session and no token; its button starts the install', async () => {
    freshTokens();
    portalAnswers();
    const s = server();
    const r = await s.inject({ method: 'POST', url, ...form(page()) });
    expect(r.statusCode).toBe(200);
    expect(r.headers['content-type']).toMatch(/text\/html/);
    expect(r.headers['x-frame-options']).toBeUndefined();
    expect(r.headers['content-security-policy']).toBeUndefined();
    for (const secret of ['frame-at', 'frame-rt', 'fresh-at', 'fresh-rt', 'page-app-token']) expect(r.body).not.toContain(secret);
    const boot = bootstrapOf(r.body);
    expect(boot).toMatchObject({ page: 'install', lang: 'ru', admin: true, portal: 'b.bitrix24.ru', sessionExpiresAt: NOW + 3_600_000 });
    expect(await store.getPortal('member-2')).toMatchObject({ installState: 'awaiting', applicationToken: 'page-app-token', tier: 'crm_plus', plan: 'pro', settings: { timeZone: 'Europe/Samara' } });
    expect(await store.listJobs()).toEqual([]);

    const view = await s.inject({ method: 'GET', url: '/api/install', headers: bearer(boot.session) });
    expect(view.json()).toMatchObject({
      portal: 'b.bitrix24.ru', plan: 'pro', tier: { code: 'crm_plus', pipelines: [{ code: 'repair' }, { code: 'shop' }, { code: 'wash' }] },
      scopes: expect.arrayContaining([{ scope: 'crm', granted: true, required: true }, { scope: 'bizproc', granted: false, required: true }]),
      status: { state: 'awaiting', running: false },
    });
    expect(view.json().upgrade).toBeUndefined();

    const start = await s.inject({ method: 'POST', url: '/api/install', headers: bearer(boot.session) });
    expect(start.statusCode).toBe(200);
    expect(start.json()).toMatchObject({ state: 'installing', running: true, progress: { phase: 'queued' } });
    expect(await store.listJobs()).toMatchObject([{ kind: 'install', memberId: 'member-2' }]);
    // A second press while it runs queues nothing more.
    await s.inject({ method: 'POST', url: '/api/install', headers: bearer(boot.session) });
    expect(await store.listJobs()).toHaveLength(1);
  });

  it('a base-tier portal is told what a higher plan adds', async () => {
    await store.savePortal({ ...portal, tier: 'base', plan: 'basic' });
    const key = store.derivedKey('app-session');
    const session = signSession(key, { memberId: 'member-1', userId: 1, admin: true, lang: 'ru', expiresAt: NOW + 60_000 });
    const view = (await server().inject({ method: 'GET', url: '/api/install', headers: bearer(session) })).json();
    expect(view.tier).toMatchObject({ code: 'base', rules: 0, robots: 0, pipelines: [{ code: 'repair' }] });
    expect(view.upgrade).toMatchObject({ tier: { code: 'crm_plus', rules: expect.any(Number) }, plans: expect.arrayContaining(['pro*', 'ent*']) });
    expect(view.upgrade.tier.rules).toBeGreaterThan(10);
    expect(view.scopes.find((x: { scope: string }) => x.scope === 'bizproc')).toMatchObject({ required: false });
  });

  it('a user who is not an administrator gets a page in Russian saying to ask the administrator; nothing is stored', async () => {
    freshTokens();
    portalAnswers({ ID: '3', ADMIN: false });
    const r = await server().inject({ method: 'POST', url, ...form(page()) });
    expect(r.statusCode).toBe(403);
    expect(r.headers['content-type']).toMatch(/text\/html/);
    expect(r.body).toContain('Нужен администратор');
    expect(r.body).toContain('Попросите администратора портала открыть приложение');
    expect(await store.getPortal('member-2')).toBeUndefined();
  });

  it('tokens the OAuth server refuses: a page saying to open the application again, in Russian', async () => {
    nock('https://oauth.test').post('/oauth/token/').reply(400, { error: 'invalid_grant', error_description: 'Invalid grant' });
    const r = await server().inject({ method: 'POST', url, ...form(page()) });
    expect(r.statusCode).toBe(401);
    expect(r.headers['content-type']).toMatch(/text\/html/);
    expect(r.body).toContain('Откройте приложение заново из Битрикс24');
  });
});

describe('the application page', () => {
  const open = (over: Record<string, unknown> = {}, query = '?DOMAIN=a.bitrix24.ru&PROTOCOL=1&LANG=ru&APP_SID=x') =>
    ({ method: 'POST' as const, url: `/app${query}`, ...form({ member_id: 'member-1', APPLICATION_TOKEN: TOKEN, AUTH_ID: 'user-at', REFRESH_ID: 'user-rt', ...over }) });

  it('the stored application token and the portal\'s word on who the user is make the session; a non-admin\'s session reads but may not change', async () => {
    const asked = profile({ result: { ID: '3', ADMIN: false, NAME: 'Алексей' } });
    const s = server();
    const r = await s.inject(open());
    expect(r.statusCode).toBe(200);
    expect(asked.isDone()).toBe(true);
    for (const secret of [TOKEN, 'user-at', 'user-rt', 'stored-at']) expect(r.body).not.toContain(secret);
    const boot = bootstrapOf(r.body);
    expect(boot).toMatchObject({ page: 'app', admin: false, lang: 'ru' });
    expect(readSession(store.derivedKey('app-session'), boot.session, NOW)).toEqual({ session: { memberId: 'member-1', userId: 3, admin: false, lang: 'ru', expiresAt: NOW + 3_600_000 } });

    const overview = await s.inject({ method: 'GET', url: '/api/overview', headers: bearer(boot.session) });
    expect(overview.statusCode).toBe(200);
    expect(overview.json()).toMatchObject({ portal: 'a.bitrix24.ru', tier: { code: 'crm_plus', name: 'CRM+ и выше' }, status: { state: 'installed' } });
    const save = await s.inject({ method: 'PUT', url: '/api/settings', headers: bearer(boot.session), payload: { ...portal.settings, recallHour: 9 } });
    expect(save.statusCode).toBe(403);
    expect(save.json()).toMatchObject({ error: 'forbidden' });
    const install = await s.inject({ method: 'POST', url: '/api/install', headers: bearer(boot.session) });
    expect(install.statusCode).toBe(403);
    expect((await store.getPortal('member-1'))?.settings.recallHour).toBe(10);
  });

  it('an administrator\'s session saves settings through the same check as the CLI (a wrong one is refused naming the setting)', async () => {
    profile({ result: { ID: '1', ADMIN: true } });
    const s = server();
    const boot = bootstrapOf((await s.inject(open())).body);
    const bad = await s.inject({ method: 'PUT', url: '/api/settings', headers: bearer(boot.session), payload: { ...portal.settings, recallHour: 25 } });
    expect(bad.statusCode).toBe(400);
    // In the language of the page (Russian here), naming the setting and what it takes.
    expect(bad.json()).toEqual({ error: 'bad_request', message: 'recallHour — час от 0 до 23 (получено «25»)' });
    const good = await s.inject({ method: 'PUT', url: '/api/settings', headers: bearer(boot.session), payload: { ...portal.settings, recallHour: 9, disabledRules: ['lead.created.notify'] } });
    expect(good.statusCode).toBe(200);
    expect((await store.getPortal('member-1'))?.settings).toMatchObject({ recallHour: 9, disabledRules: ['lead.created.notify'] });
  });

  it('a session that expired, was forged or is missing gets JSON the page puts into words; no other portal\'s data', async () => {
    const key = store.derivedKey('app-session');
    const old = signSession(key, { memberId: 'member-1', userId: 1, admin: true, lang: 'ru', expiresAt: NOW - 1 });
    expect((await server().inject({ method: 'GET', url: '/api/overview', headers: bearer(old) })).json()).toMatchObject({ error: 'session_expired' });
    const valid = signSession(key, { memberId: 'member-1', userId: 1, admin: false, lang: 'ru', expiresAt: NOW + 60_000 });
    const [body, mac] = valid.split('.');
    const promoted = Buffer.from(Buffer.from(body, 'base64url').toString().replace(',0,', ',1,')).toString('base64url');
    for (const forged of [`${promoted}.${mac}`, 'x.y', valid.replace(/.$/, (c) => (c === 'A' ? 'B' : 'A'))]) {
      const r = await server().inject({ method: 'GET', url: '/api/overview', headers: bearer(forged) });
      expect(r.statusCode).toBe(401);
      expect(r.json()).toMatchObject({ error: 'no_session' });
    }
    expect((await server().inject({ method: 'GET', url: '/api/overview' })).json()).toMatchObject({ error: 'no_session' });
    // Signed with another service's key: not this service's session.
    const other = signSession(Buffer.alloc(32, 7), { memberId: 'member-1', userId: 1, admin: true, lang: 'ru', expiresAt: NOW + 60_000 });
    expect((await server().inject({ method: 'GET', url: '/api/overview', headers: bearer(other) })).statusCode).toBe(401);
  });

  it('every way a browser can meet an error answers an HTML page in Russian saying what to do', async () => {
    const s = server();
    const cases: [string, () => Promise<{ statusCode: number; headers: Record<string, unknown>; body: string }>, number, string][] = [
      ['GET /app', () => s.inject({ method: 'GET', url: '/app' }), 405, 'Эта страница открывается только внутри Битрикс24'],
      ['GET /install', () => s.inject({ method: 'GET', url: '/install' }), 405, 'Эта страница открывается только внутри Битрикс24'],
      ['a wrong application token', () => s.inject(open({ APPLICATION_TOKEN: 'guess' })), 401, 'Откройте приложение заново из Битрикс24'],
      ['an old page\'s pass instead of the token', () => s.inject({ method: 'POST', url: '/app', ...form({ member_id: 'member-1', pass: '1800000000000.abc', date: '2027-02-01' }) }), 401, 'Откройте приложение заново из Битрикс24'],
      ['an impossible date', () => s.inject(open({ date: '2027-02-30' })), 400, 'Такой даты нет'],
      ['an empty date', () => s.inject(open({ date: '' })), 400, 'Такой даты нет'],
      ['no member_id', () => s.inject(open({ member_id: '' })), 400, 'Битрикс24 передал не всё, что нужно странице'],
      ['a JSON body', () => s.inject({ method: 'POST', url: '/app', headers: { 'content-type': 'application/json' }, payload: '{"member_id":1}' }), 401, 'Откройте приложение заново из Битрикс24'],
      ['a body the parser refuses', () => s.inject({ method: 'POST', url: '/app', headers: { 'content-type': 'multipart/form-data; boundary=x' }, payload: '--x--' }), 415, 'Битрикс24 передал не всё'],
      ['an unknown address opened in a browser', () => s.inject({ method: 'GET', url: '/nowhere', headers: { accept: 'text/html,*/*' } }), 404, 'Эта страница открывается только внутри Битрикс24'],
    ];
    for (const [what, request, status, text] of cases) {
      const r = await request();
      expect(r.statusCode, what).toBe(status);
      expect(r.headers['content-type'], what).toMatch(/text\/html/);
      expect(r.body, what).toContain('<html lang="ru">');
      expect(r.body, what).toContain(text);
    }
    // The page's token refused by the portal: stale.
    profile({ error: 'expired_token', error_description: 'The access token provided has expired.' }, 401);
    const stale = await s.inject(open());
    expect(stale.statusCode).toBe(401);
    expect(stale.body).toContain('Страница устарела');
    // English when the portal's language is.
    const en = await s.inject({ method: 'GET', url: '/app?LANG=en' });
    expect(en.body).toContain('Open the application from Bitrix24');
    // A program still gets JSON.
    expect((await s.inject({ method: 'GET', url: '/nowhere' })).json()).toMatchObject({ error: 'not_found' });
  });

  it('a day passed by Bitrix24 opens the re-call list on it; the built files are served with their types; an unbuilt front end is said in words', async () => {
    profile({ result: { ID: '1', ADMIN: true } });
    const s = server();
    expect(bootstrapOf((await s.inject(open({ date: '2027-02-01' }))).body)).toMatchObject({ date: '2027-02-01' });
    const js = await s.inject({ method: 'GET', url: '/assets/app-1.js' });
    expect(js.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect((await s.inject({ method: 'GET', url: '/assets/app-1.css' })).headers['content-type']).toBe('text/css; charset=utf-8');
    expect((await s.inject({ method: 'GET', url: '/assets/..%2F..%2Findex.html' })).statusCode).toBe(404);
    expect((await s.inject({ method: 'GET', url: '/assets/nope.js' })).statusCode).toBe(404);

    profile({ result: { ID: '1', ADMIN: true } });
    const unbuilt = await server(() => NOW, new WebApp(join(webDir, 'missing'))).inject(open());
    expect(unbuilt.statusCode).toBe(503);
    expect(unbuilt.body).toContain('Страницы приложения не собраны');
  });
});

describe('the install status the page polls', () => {
  it('an attempt that failed while the portal still installs waits for its retry; a failed install says why', async () => {
    const progress = new InstallProgress(() => NOW);
    const s = buildServer({
      config: loadServiceConfig(env), store, template, clock: () => NOW, log: createLogger('silent'), web: new WebApp(webDir), progress,
      onQueued: () => undefined, onPortalChanged: () => undefined,
    });
    const session = signSession(store.derivedKey('app-session'), { memberId: 'member-1', userId: 1, admin: true, lang: 'ru', expiresAt: NOW + 60_000 });
    const status = async () => (await s.inject({ method: 'GET', url: '/api/install', headers: bearer(session) })).json().status;
    await store.updatePortal('member-1', { installState: 'installing' });
    progress.started('member-1');
    progress.failed('member-1', 'the portal did not answer');
    expect(await status()).toMatchObject({ state: 'installing', running: true, progress: { phase: 'queued' } });
    await store.updatePortal('member-1', { installState: 'failed', installError: 'the service has no public URL: set AUTOSALON_PUBLIC_URL (or --public-url) and reinstall the application' });
    expect(await status()).toMatchObject({ state: 'failed', running: false, problem: { kind: 'no_public_url' } });
  });
});

describe('the parts', () => {
  it('a lasting problem is classified by kind, from the words portal-context.ts gives it', () => {
    expect(classifyProblem(lastingProblem(new PortalError('crm.lead.get', 'insufficient_scope', 'The request requires higher privileges', 403))!)).toMatchObject({ kind: 'scope', scope: 'crm' });
    expect(classifyProblem(lastingProblem(new PortalError('crm.lead.get', 'invalid_client', '', 401))!)).toMatchObject({ kind: 'app_deleted' });
    expect(classifyProblem(lastingProblem(new PortalError('crm.lead.get', 'invalid_grant', '', 400))!)).toMatchObject({ kind: 'auth_expired' });
    expect(classifyProblem(lastingProblem(new PortalError('crm.lead.get', 'PAYMENT_REQUIRED', '', 402))!)).toMatchObject({ kind: 'payment' });
    expect(classifyProblem(lastingProblem(new PortalError('crm.lead.get', 'ACCESS_DENIED', 'REST is available only on commercial plans', 403))!)).toMatchObject({ kind: 'no_rest' });
    expect(classifyProblem('something else')).toEqual({ kind: 'other', message: 'something else' });
  });

  it('install progress: steps planned and done over the installer\'s rounds, then the report', () => {
    let now = 0;
    const p = new InstallProgress(() => now);
    p.queued('m');
    expect(p.get('m')?.progress).toMatchObject({ phase: 'queued', stepsDone: 0, stepsTotal: 0 });
    p.started('m');
    const step = (action: string, deferred = false) => ({ action, deferred }) as never;
    p.event('m', { type: 'read', round: 1 });
    p.event('m', { type: 'plan', round: 1, tierSource: '', plan: { steps: [step('create'), step('update'), step('keep'), step('create', true)] } as never });
    expect(p.get('m')?.progress).toMatchObject({ phase: 'reading', stepsDone: 0, stepsTotal: 2 });
    p.event('m', { type: 'batch', round: 1, batch: 1, batches: 1, steps: 2, done: 0, total: 2 });
    p.event('m', { type: 'batch-done', round: 1, batch: 1, ok: 2, failed: 0 });
    p.event('m', { type: 'plan', round: 2, tierSource: '', plan: { steps: [step('create')] } as never });
    expect(p.get('m')?.progress).toMatchObject({ phase: 'applying', stepsDone: 2, stepsTotal: 3 });
    now = 5;
    p.finished('m', { created: 3, updated: 0, deleted: 0, unchanged: 9, skipped: [], kept: [], failed: [], converged: true, httpRequests: 4 } as never);
    expect(p.get('m')).toMatchObject({ progress: { phase: 'done', finishedAt: 5 }, result: { created: 3, unchanged: 9, converged: true } });
  });
});
