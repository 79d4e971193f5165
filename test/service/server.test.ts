import qs from 'qs';
import nock from 'nock';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadServiceConfig } from '../../src/service/config.js';
import { createLogger } from '../../src/service/log.js';
import { buildServer } from '../../src/service/server.js';
import { SqliteStore } from '../../src/service/store/sqlite.js';
import type { PortalRecord } from '../../src/service/store/types.js';
import { loadTemplate } from '../../src/template/index.js';
import { defaultSettings } from '../../src/service/settings.js';
import { testKeys } from '../helpers/keys.js';

const template = loadTemplate();
const NOW = Date.parse('2027-01-15T09:00:00Z');
const TOKEN = 'a1b2c3-application-token';

let store: SqliteStore;
let queued: number;
let changed: string[];

const portal: PortalRecord = {
  memberId: 'member-1', domain: 'a.bitrix24.ru', clientEndpoint: 'https://a.bitrix24.ru/rest/', accessToken: 'at', refreshToken: 'rt',
  expires: 0, scope: 'crm', userId: 1, applicationToken: TOKEN, lang: 'ru', tier: 'crm_plus', plan: 'pro', installedAt: NOW,
  installState: 'installed', settings: defaultSettings(),
};

function server(env: Record<string, string> = {}) {
  return buildServer({
    config: loadServiceConfig({ AUTOSALON_STATE_DIR: '/tmp/autosalon-test', ...env }),
    store, template, clock: () => NOW, log: createLogger('silent'),
    onQueued: () => queued++,
    onPortalChanged: (m) => changed.push(m),
  });
}

const form = (body: unknown) => ({
  headers: { 'content-type': 'application/x-www-form-urlencoded' },
  payload: qs.stringify(body),
});

const event = (over: Record<string, unknown> = {}, auth: Record<string, unknown> = {}) => ({
  event: 'ONCRMDEALUPDATE', event_handler_id: '7', data: { FIELDS: { ID: '42' } }, ts: '1800000000',
  auth: { domain: 'a.bitrix24.ru', member_id: 'member-1', application_token: TOKEN, ...auth }, ...over,
});

const robot = (auth: Record<string, unknown> = {}) => ({
  workflow_id: '66e81a641752f8.56521481', code: 'autosalon_refusal', document_id: ['crm', 'CCrmDocumentDeal', 'DEAL_5'],
  document_type: ['crm', 'CCrmDocumentDeal', 'DEAL'], event_token: '66e81a641752f8.56521481|A10006|abc.def',
  properties: { reason: 'дорого' }, use_subscription: 'Y', timeout_duration: '0', ts: '1800000000',
  auth: { member_id: 'member-1', application_token: TOKEN, domain: 'a.bitrix24.ru' , ...auth },
});

beforeAll(() => nock.disableNetConnect());
afterAll(() => nock.enableNetConnect());

beforeEach(async () => {
  store = await SqliteStore.open(':memory:', { keys: testKeys() });
  await store.savePortal(portal);
  queued = 0;
  changed = [];
});
afterEach(async () => {
  nock.cleanAll();
  await store.close();
});

describe('events', () => {
  it('a valid CRM event is queued before the 200 answer', async () => {
    const r = await server().inject({ method: 'POST', url: '/events', ...form(event()) });
    expect(r.statusCode).toBe(200);
    const jobs = await store.listJobs();
    expect(jobs).toMatchObject([{ memberId: 'member-1', kind: 'event', payload: { entity: 'deal', id: '42' }, status: 'queued' }]);
    expect(queued).toBe(1);
  });

  it('a forged application_token gets 401 and queues nothing', async () => {
    const r = await server().inject({ method: 'POST', url: '/events', ...form(event({}, { application_token: 'forged' })) });
    expect(r.statusCode).toBe(401);
    expect(r.json().message).toMatch(/application_token/);
    expect(await store.listJobs()).toEqual([]);
  });

  it('an unknown portal gets 401', async () => {
    const r = await server().inject({ method: 'POST', url: '/events', ...form(event({}, { member_id: 'someone-else' })) });
    expect(r.statusCode).toBe(401);
    expect(await store.listJobs()).toEqual([]);
  });

  it.each([
    ['no ID', event({ data: { FIELDS: { NAME: 'x' } } }), /data\[FIELDS\]\[ID\]/],
    ['a non-numeric ID', event({ data: { FIELDS: { ID: '1 OR 1' } } }), /positive whole number/],
    ['an event it does not handle', event({ event: 'ONCRMCONTACTADD' }), /not a CRM event/],
    ['no auth block', { event: 'ONCRMDEALADD', data: { FIELDS: { ID: '1' } } }, /auth/],
    ['no data, no member_id', { event: 'ONCRMDEALADD', auth: { application_token: 'x' } }, /^malformed event: data: missing; auth\[member_id\]: missing$/],
  ])('a malformed body (%s) gets 400 naming what is wrong', async (_name, body, message) => {
    const r = await server().inject({ method: 'POST', url: '/events', ...form(body) });
    expect(r.statusCode).toBe(400);
    expect(r.json().message).toMatch(message);
    expect(await store.listJobs()).toEqual([]);
  });

  it('a body that is not a form gets 400', async () => {
    const r = await server().inject({ method: 'POST', url: '/events', headers: { 'content-type': 'text/plain' }, payload: 'hello' });
    expect(r.statusCode).toBe(400);
    expect(r.json().message).toMatch(/must be a form/);
    const empty = await server().inject({ method: 'POST', url: '/events' });
    expect(empty.statusCode).toBe(400);
  });

  it('the uninstall event with the right token forgets the portal; with a wrong one it changes nothing', async () => {
    const wrong = await server().inject({ method: 'POST', url: '/events', ...form({ event: 'ONAPPUNINSTALL', data: { CLEAN: '0' }, auth: { member_id: 'member-1', application_token: 'x' } }) });
    expect(wrong.statusCode).toBe(401);
    expect((await store.getPortal('member-1'))?.installState).toBe('installed');
    const right = await server().inject({ method: 'POST', url: '/events', ...form({ event: 'ONAPPUNINSTALL', data: { CLEAN: '0' }, auth: { member_id: 'member-1', application_token: TOKEN } }) });
    expect(right.statusCode).toBe(200);
    expect(await store.getPortal('member-1')).toMatchObject({ installState: 'uninstalled', accessToken: '', applicationToken: '' });
    expect(changed).toEqual(['member-1']);
    const after = await server().inject({ method: 'POST', url: '/events', ...form(event()) });
    expect(after.statusCode).toBe(401);
  });
});

describe('robots', () => {
  it('a refusal robot call is queued once even when delivered twice', async () => {
    const s = server();
    for (let i = 0; i < 2; i++) {
      const r = await s.inject({ method: 'POST', url: '/robots/refusal', ...form(robot()) });
      expect(r.statusCode).toBe(200);
    }
    const jobs = await store.listJobs();
    expect(jobs).toHaveLength(1);
    expect(jobs[0]).toMatchObject({
      kind: 'robot',
      payload: { handler: 'refusal', entity: 'deal', id: '5', useSubscription: true, properties: { reason: 'дорого' }, at: 1_800_000_000_000 },
    });
  });

  it('a forged robot call gets 401; a malformed one 400', async () => {
    expect((await server().inject({ method: 'POST', url: '/robots/stage-actions', ...form(robot({ application_token: 'nope' })) })).statusCode).toBe(401);
    const bad = await server().inject({ method: 'POST', url: '/robots/refusal', ...form({ ...robot(), document_id: ['crm', 'CCrmDocumentDeal', 'DEAL'] }) });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().message).toMatch(/document_id/);
    expect(await store.listJobs()).toEqual([]);
  });
});

describe('install', () => {
  const install = (auth: Record<string, unknown> = {}) => ({
    event: 'ONAPPINSTALL', data: { VERSION: '1', ACTIVE: 'Y', INSTALLED: 'Y', LANGUAGE_ID: 'ru' }, ts: '1800000000',
    auth: {
      access_token: 'install-at', expires_in: '3600', scope: 'crm,bizproc', domain: 'b.bitrix24.ru', server_endpoint: 'https://evil.example/rest/',
      status: 'L', client_endpoint: 'https://b.bitrix24.ru/rest/', member_id: 'member-2', refresh_token: 'install-rt',
      application_token: 'new-app-token', user_id: '1', ...auth,
    },
  });
  const env = { B24_APP_CLIENT_ID: 'local.abc', B24_APP_CLIENT_SECRET: 's3cret', B24_OAUTH_URL: 'https://oauth.test' };

  it('without application credentials the install is refused with what to set', async () => {
    const r = await server().inject({ method: 'POST', url: '/install', ...form(install()) });
    expect(r.statusCode).toBe(503);
    expect(r.json().message).toMatch(/B24_APP_CLIENT_ID and B24_APP_CLIENT_SECRET/);
    expect(await store.getPortal('member-2')).toBeUndefined();
  });

  it('tokens the OAuth server refuses store nothing', async () => {
    const oauth = nock('https://oauth.test').post('/oauth/token/').reply(400, { error: 'invalid_grant', error_description: 'Invalid grant' });
    const r = await server(env).inject({ method: 'POST', url: '/install', ...form(install()) });
    expect(r.statusCode).toBe(401);
    expect(r.json().message).toMatch(/invalid_grant/);
    expect(oauth.isDone()).toBe(true);
    expect(await store.getPortal('member-2')).toBeUndefined();
  });

  it('tokens of another portal than the install names store nothing', async () => {
    nock('https://oauth.test').post('/oauth/token/').reply(200, {
      access_token: 'x', refresh_token: 'y', expires: 1800003600, member_id: 'member-attacker', client_endpoint: 'https://attacker.bitrix24.ru/rest/',
    });
    const r = await server(env).inject({ method: 'POST', url: '/install', ...form(install()) });
    expect(r.statusCode).toBe(401);
    expect(await store.getPortal('member-2')).toBeUndefined();
  });

  /** The portal's answer to the install's one batch: the plan, the installing user, the portal's clock. */
  const portalAnswers = (profile: Record<string, unknown> = {}) => nock('https://b.bitrix24.ru').post(/batch/).query(true).reply(200, {
    result: {
      result: {
        info: { ID: 1, CODE: 'local.abc', LICENSE: 'ru_basic', LICENSE_TYPE: 'basic', LICENSE_FAMILY: 'basic', INSTALLED: true },
        profile: { ID: '1', ADMIN: true, NAME: 'Иван', LAST_NAME: '', TIME_ZONE: '', ...profile },
        time: '2027-01-15T19:00:00+10:00',
      },
      result_error: [], result_total: [], result_next: [], result_time: [],
    },
    time: { start: 1, finish: 1, duration: 0, processing: 0, date_start: '', date_finish: '' },
  });
  const freshTokens = () => nock('https://oauth.test').post('/oauth/token/').reply(200, {
    access_token: 'fresh-at', refresh_token: 'fresh-rt', expires: 1800003600, expires_in: 3600, member_id: 'member-2',
    client_endpoint: 'https://b.bitrix24.ru/rest/', domain: 'oauth.test', scope: 'crm,bizproc', user_id: 1, status: 'L',
  });

  it('a verified install stores the fresh tokens, the tier of the plan and the portal\'s time zone, queues the install, and never sends the secret elsewhere', async () => {
    let refreshBody = '';
    nock('https://oauth.test').post('/oauth/token/', (b) => { refreshBody = qs.stringify(b); return true; }).reply(200, {
      access_token: 'fresh-at', refresh_token: 'fresh-rt', expires: 1800003600, expires_in: 3600, member_id: 'member-2',
      client_endpoint: 'https://b.bitrix24.ru/rest/', domain: 'oauth.test', scope: 'crm,bizproc', user_id: 1, status: 'L',
    });
    const portalCalls = portalAnswers();
    const r = await server(env).inject({ method: 'POST', url: '/install', ...form(install()) });
    expect(r.statusCode).toBe(200);
    expect(r.json()).toEqual({ status: 'installed', tier: 'base' });
    expect(refreshBody).toContain('refresh_token=install-rt');
    expect(portalCalls.isDone()).toBe(true);
    expect(await store.getPortal('member-2')).toMatchObject({
      accessToken: 'fresh-at', refreshToken: 'fresh-rt', applicationToken: 'new-app-token', tier: 'base', plan: 'basic',
      clientEndpoint: 'https://b.bitrix24.ru/rest/', installState: 'installing', installedAt: NOW,
      // No zone of the administrator's own: the one whose offset the portal's clock shows (+10:00).
      settings: { timeZone: 'Asia/Vladivostok', recallHour: 10 },
    });
    expect(await store.listJobs()).toMatchObject([{ kind: 'install', memberId: 'member-2' }]);
  });

  it('tokens of a user who is not an administrator store nothing: 403, and the installed portal stays as it was', async () => {
    await store.savePortal({ ...portal, memberId: 'member-2', domain: 'b.bitrix24.ru', clientEndpoint: 'https://b.bitrix24.ru/rest/', applicationToken: 'real-app-token' });
    freshTokens();
    portalAnswers({ ID: '3', ADMIN: false });
    const r = await server(env).inject({ method: 'POST', url: '/install', ...form(install({ application_token: 'chosen-by-the-user' })) });
    expect(r.statusCode).toBe(403);
    expect(r.json().message).toMatch(/only a Bitrix24 administrator can install.*ask your portal administrator/);
    expect(await store.getPortal('member-2')).toMatchObject({ applicationToken: 'real-app-token', accessToken: 'at', refreshToken: 'rt', installState: 'installed' });
    expect(await store.listJobs()).toEqual([]);
  });

  it('a domain that is not the verified portal\'s, or carries a line break, stores nothing', async () => {
    for (const domain of ['b.bitrix24.ru\nforged log line', 'other.bitrix24.ru']) {
      freshTokens();
      const r = await server(env).inject({ method: 'POST', url: '/install', ...form(install({ domain })) });
      expect(r.statusCode).toBe(401);
      expect(await store.getPortal('member-2')).toBeUndefined();
    }
  });

  it('an administrator\'s reinstall of an installed portal keeps its settings and install time', async () => {
    const own = { ...portal.settings, timeZone: 'Europe/Kaliningrad', recallHour: 9 };
    await store.savePortal({ ...portal, memberId: 'member-2', domain: 'b.bitrix24.ru', clientEndpoint: 'https://b.bitrix24.ru/rest/', installedAt: NOW - 86_400_000, settings: own });
    freshTokens();
    portalAnswers();
    const r = await server(env).inject({ method: 'POST', url: '/install', ...form(install()) });
    expect(r.statusCode).toBe(200);
    expect(await store.getPortal('member-2')).toMatchObject({ applicationToken: 'new-app-token', accessToken: 'fresh-at', installedAt: NOW - 86_400_000, settings: own });
  });
});

describe('health', () => {
  it('reports the queue without secrets', async () => {
    await store.enqueue({ memberId: 'member-1', kind: 'event', payload: {}, runAt: NOW });
    const r = await server().inject({ method: 'GET', url: '/health' });
    expect(r.json()).toMatchObject({ status: 'ok', portals: 1, failing: [], queue: { queued: 1, due: 1 } });
    expect(r.body).not.toContain(TOKEN);
  });

  it('names a portal with a lasting problem or a failed install, and says the service is degraded', async () => {
    await store.updatePortal('member-1', { lastError: 'the application was installed without the "crm" permission', lastErrorAt: NOW });
    const r = await server().inject({ method: 'GET', url: '/health' });
    expect(r.json()).toMatchObject({
      status: 'degraded', portals: 1,
      failing: [{ memberId: 'member-1', domain: 'a.bitrix24.ru', installState: 'installed', problem: 'the application was installed without the "crm" permission' }],
    });
  });

  it('says the service is down (503) while its database cannot be reached, so a load balancer takes the process out', async () => {
    store.listPortals = () => Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:5432'));
    const r = await server().inject({ method: 'GET', url: '/health' });
    expect(r.statusCode).toBe(503);
    expect(r.json()).toEqual({ status: 'down', problem: 'the service\'s database cannot be reached (the service log says why)' });
  });
});
