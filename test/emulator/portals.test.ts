// Many portals in one emulator, as a Market application sees Bitrix24: each portal its own origin, member_id, plan,
// time zone, data, tokens and request-rate bucket; one OAuth server (oauth.bitrix.info) and one application
// registration (one client_id and secret) for all of them. Docs: settings/oauth/index.md (tokens per portal,
// member_id), _includes/system-errors.md (NO_AUTH_FOUND, INVALID_CREDENTIALS, QUERY_LIMIT_EXCEEDED), limits.md (the
// counter is per portal), api-reference/common/system/server-time.md, app-info.md.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import type { EmulatedPortal, RunningEmulator } from '../../src/emulator/index.js';
import { appCall, rawCall, startCaptureServer, startTestEmulator } from '../helpers/emulator.js';

const dir = mkdtempSync(join(tmpdir(), 'autosalon-portals-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const running: RunningEmulator[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((e) => e.close()));
});
async function emulator(options: Parameters<typeof startTestEmulator>[0] = {}): Promise<RunningEmulator> {
  const emu = await startTestEmulator(options);
  running.push(emu);
  return emu;
}

const control = async (emu: RunningEmulator, method: string, path: string, body?: unknown) => {
  const r = await fetch(`${emu.controlUrl}${path}`, { method, headers: { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
  return { status: r.status, body: (await r.json()) as Record<string, unknown> & unknown[] };
};

describe('two portals in one emulator', () => {
  test('each has its own origin, domain and member_id; portal 1 is the emulator\'s top-level one', async () => {
    const emu = await emulator({ portals: 2, limits: false });
    const [a, b] = emu.portals;
    expect(emu.portals).toHaveLength(2);
    expect(a.origin).toBe(emu.origin);
    expect(a.memberId).toBe(emu.memberId);
    expect(a.control).toBe(emu.control);
    expect(a.portal).toBe(emu.portal);
    expect(b.origin).not.toBe(a.origin);
    expect(b.domain).toBe(new URL(b.origin).host);
    expect(b.memberId).toMatch(/^[0-9a-f]{32}$/);
    expect(b.memberId).not.toBe(a.memberId);
    expect(b.webhookUrl).toMatch(new RegExp(`^${b.origin}/rest/1/[a-z0-9]+/$`));
  });

  test('have disjoint data: a lead, a pipeline and a user field of A are not on B, and ids count on each portal', async () => {
    const emu = await emulator({ portals: 2, limits: false });
    const [a, b] = emu.portals;
    const leadA = (await rawCall(a, 'crm.lead.add', { fields: { TITLE: 'only on A' } })).body.result;
    await rawCall(a, 'crm.category.add', { entityTypeId: 2, fields: { name: 'Ремонт авто' } });
    await rawCall(a, 'crm.lead.userfield.add', { fields: { FIELD_NAME: 'CAR', USER_TYPE_ID: 'string' } });
    expect((await rawCall(b, 'crm.lead.list')).body).toMatchObject({ result: [], total: 0 });
    expect((await rawCall(b, 'crm.lead.get', { id: leadA })).body).toEqual({ error: '', error_description: 'Not found' });
    expect(((await rawCall(b, 'crm.category.list', { entityTypeId: 2 })).body.result as { categories: unknown[] }).categories).toHaveLength(1);
    expect((await rawCall(b, 'crm.lead.userfield.list')).body.result).toEqual([]);
    const leadB = (await rawCall(b, 'crm.lead.add', { fields: { TITLE: 'only on B' } })).body.result;
    expect(leadB).toBe(leadA);
    expect((await rawCall(a, 'crm.lead.get', { id: leadA })).body.result).toMatchObject({ TITLE: 'only on A' });
    expect(a.control.collection('crm').lead).toHaveLength(1);
    expect(b.control.collection('crm').lead).toHaveLength(1);
  });

  test("A's webhook, access token and application token are refused on B with the documented errors", async () => {
    const emu = await emulator({ portals: 2, limits: false });
    const [a, b] = emu.portals;
    const secretPath = new URL(a.webhookUrl).pathname;
    const viaB = await fetch(`${b.origin}${secretPath}server.time.json`);
    expect(viaB.status).toBe(401);
    expect(await viaB.json()).toEqual({ error: 'INVALID_CREDENTIALS', error_description: 'Invalid request credentials' });

    const app = await a.control.installApp({});
    expect((await appCall(a, app.accessToken, 'app.info')).status).toBe(200);
    for (const token of [app.accessToken, app.applicationToken]) {
      expect(await appCall(b, token, 'app.info')).toEqual({ status: 401, body: { error: 'NO_AUTH_FOUND', error_description: 'Wrong authorization data' } });
    }
  });

  test('a burst on A does not consume B\'s request-rate bucket', async () => {
    const emu = await emulator({ portals: 2, rateLimit: { burst: 5, drainPerSecond: 1 } });
    const [a, b] = emu.portals;
    const burst = await Promise.all(Array.from({ length: 12 }, () => rawCall(a, 'server.time').then((r) => r.status)));
    expect(burst).toContain(503);
    const onB = await Promise.all(Array.from({ length: 6 }, () => rawCall(b, 'server.time').then((r) => r.status)));
    expect(onB).toEqual([200, 200, 200, 200, 200, 200]);
    expect(a.control.stats().rejected503).toBe(burst.filter((s) => s === 503).length);
    expect(b.control.stats()).toMatchObject({ httpRequests: 6, rejected503: 0 });
  });

  test('each answers server.time and app.info in its own time zone and plan; each clock moves on its own', async () => {
    const now = Date.parse('2027-03-01T08:00:00Z');
    const emu = await emulator({
      limits: false,
      clock: () => now,
      portals: [{ timeZone: 'Europe/Kaliningrad' }, { timeZone: 'Asia/Vladivostok', plan: 'ent250', language: 'en' }],
    });
    const [a, b] = emu.portals;
    expect((await rawCall(a, 'server.time')).body.result).toBe('2027-03-01T10:00:00+02:00');
    expect((await rawCall(b, 'server.time')).body.result).toBe('2027-03-01T18:00:00+10:00');
    expect((await rawCall(a, 'app.info')).body.result).toEqual({ SCOPE: expect.any(Array), LICENSE: 'ru_pro' });
    const app = await a.control.installApp({});
    const onB = await b.control.installApp({ clientId: app.clientId });
    expect((await appCall(b, onB.accessToken, 'app.info')).body.result).toMatchObject({ LICENSE: 'en_ent250', LICENSE_TYPE: 'ent250', LICENSE_FAMILY: 'ent', LANGUAGE_ID: 'en' });
    expect((await appCall(a, app.accessToken, 'app.info')).body.result).toMatchObject({ LICENSE_TYPE: 'pro', LANGUAGE_ID: 'ru' });
    // Dates of records follow the portal's zone too.
    const leadB = (await rawCall(b, 'crm.lead.add', { fields: {} })).body.result;
    expect((await rawCall(b, 'crm.lead.get', { id: leadB })).body.result).toMatchObject({ DATE_CREATE: '2027-03-01T18:00:00+10:00' });

    b.control.advanceClock(86_400_000);
    expect((await rawCall(b, 'server.time')).body.result).toBe('2027-03-02T18:00:00+10:00');
    expect((await rawCall(a, 'server.time')).body.result).toBe('2027-03-01T10:00:00+02:00');
  });

  test('a portal spec may start its clock elsewhere', async () => {
    const now = Date.parse('2027-03-01T08:00:00Z');
    const emu = await emulator({ limits: false, clock: () => now, portals: [{}, { clockOffsetMs: 3_600_000 }] });
    expect(emu.portals[1].control.now() - emu.portals[0].control.now()).toBe(3_600_000);
  });

  test('a bad portal spec is refused with what to give', async () => {
    await expect(startTestEmulator({ portals: [{}, { timeZone: 'Mars/Olympus' }] })).rejects.toThrow('portal 2: timeZone takes an IANA time zone name such as Europe/Moscow or Asia/Vladivostok (got "Mars/Olympus")');
    await expect(startTestEmulator({ portals: 0 })).rejects.toThrow(/portals takes a whole number from 1 to 100 \(got 0\)/);
    await expect(startTestEmulator({ plan: 'Pro Max' })).rejects.toThrow(/plan takes a plan code such as pro/);
  });
});

describe('one application on several portals', () => {
  let hooks: Awaited<ReturnType<typeof startCaptureServer>>;
  beforeAll(async () => {
    hooks = await startCaptureServer();
  });
  afterAll(() => hooks.close());

  test('one client_id and secret, two member_ids, two application tokens, tokens that work only at home', async () => {
    const emu = await emulator({ portals: 2, limits: false });
    const [a, b] = emu.portals;
    const onA = await a.control.installApp({ handlerUrl: `${hooks.url}/install`, code: 'autosalon' });
    const onB = await b.control.installApp({ clientId: onA.clientId });
    expect([onB.clientId, onB.clientSecret]).toEqual([onA.clientId, onA.clientSecret]);
    expect(onA.memberId).toBe(a.memberId);
    expect(onB.memberId).toBe(b.memberId);
    expect(onB.applicationToken).not.toBe(onA.applicationToken);
    expect(onB.accessToken).not.toBe(onA.accessToken);
    expect([onB.domain, onB.clientEndpoint]).toEqual([b.domain, `${b.origin}/rest/`]);
    // One OAuth server for both.
    expect(onB.serverEndpoint).toBe(onA.serverEndpoint);
    expect(await appCall(a, onB.accessToken, 'app.info')).toMatchObject({ status: 401, body: { error: 'NO_AUTH_FOUND' } });
    expect((await appCall(b, onB.accessToken, 'app.info')).body.result).toMatchObject({ CODE: 'autosalon', INSTALLED: true });

    // Each portal posts ONAPPINSTALL with its own identity to the application's handler (the same URL).
    const installs = hooks.requests.filter((r) => r.path === '/install').map((r) => (r.form as { auth: Record<string, string> }).auth);
    expect(installs.map((auth) => [auth.member_id, auth.domain, auth.application_token])).toEqual([
      [a.memberId, a.domain, onA.applicationToken],
      [b.memberId, b.domain, onB.applicationToken],
    ]);

    // The OAuth server finds the refresh token in the portal that issued it and answers with that portal's identity.
    const refreshed = await fetch(`${emu.oauthUrl}/oauth/token/?${new URLSearchParams({ grant_type: 'refresh_token', client_id: onB.clientId, client_secret: onB.clientSecret, refresh_token: onB.refreshToken })}`);
    const tokens = (await refreshed.json()) as Record<string, string>;
    expect(tokens).toMatchObject({ member_id: b.memberId, client_endpoint: `${b.origin}/rest/`, domain: new URL(emu.oauthUrl).host });
    expect((await appCall(b, tokens.access_token, 'app.info')).status).toBe(200);
    expect((await appCall(a, tokens.access_token, 'app.info')).status).toBe(401);

    // Deleted from A, the application keeps working on B; A's refresh token is invalid_client, as on a one-portal
    // emulator (settings/oauth/error-codes.md: "the application may not be installed").
    await a.control.uninstallApp(onA.clientId);
    expect((await appCall(b, tokens.access_token, 'crm.lead.list')).status).toBe(200);
    expect(await appCall(a, onA.accessToken, 'crm.lead.list')).toMatchObject({ status: 401, body: { error: 'NO_AUTH_FOUND' } });
    const refusedOnA = await fetch(`${emu.oauthUrl}/oauth/token/?${new URLSearchParams({ grant_type: 'refresh_token', client_id: onA.clientId, client_secret: onA.clientSecret, refresh_token: onA.refreshToken })}`);
    expect([refusedOnA.status, await refusedOnA.json()]).toEqual([401, { error: 'invalid_client', error_description: 'Invalid client credentials' }]);
    // Installed on A again: new tokens work, the old refresh token does not.
    const again = await a.control.installApp({ clientId: onA.clientId });
    expect((await appCall(a, again.accessToken, 'crm.lead.list')).status).toBe(200);
    expect(await appCall(a, onA.accessToken, 'crm.lead.list')).toMatchObject({ status: 401, body: { error: 'NO_AUTH_FOUND' } });
    const stale = await fetch(`${emu.oauthUrl}/oauth/token/?${new URLSearchParams({ grant_type: 'refresh_token', client_id: onA.clientId, client_secret: onA.clientSecret, refresh_token: onA.refreshToken })}`);
    expect(stale.status).toBe(400);
  });

  test('installing a client_id the emulator never registered is refused', async () => {
    const emu = await emulator({ portals: 2, limits: false });
    await expect(emu.portals[1].control.installApp({ clientId: 'local.nope.1' })).rejects.toThrow('no application with client_id local.nope.1 is registered in this emulator');
  });
});

describe('the control API for many portals', () => {
  test('POST /portals adds a portal; GET /portals lists them; ?portal= selects by member_id or number', async () => {
    const emu = await emulator({ limits: false });
    const added = await control(emu, 'POST', '/portals', { plan: 'ent250', timeZone: 'Asia/Vladivostok', lang: 'en' });
    expect(added.status).toBe(200);
    expect(added.body).toEqual({
      webhookUrl: expect.stringMatching(/^https:\/\/127\.0\.0\.1:\d+\/rest\/1\/[a-z0-9]+\/$/),
      origin: expect.stringMatching(/^https:\/\/127\.0\.0\.1:\d+$/),
      portalUrl: expect.stringMatching(/^https:\/\/127\.0\.0\.1:\d+\/$/),
      domain: expect.stringMatching(/^127\.0\.0\.1:\d+$/),
      memberId: expect.stringMatching(/^[0-9a-f]{32}$/),
      plan: 'ent250',
      timeZone: 'Asia/Vladivostok',
    });
    const second = added.body as unknown as EmulatedPortal;
    expect(emu.portals.map((p) => p.memberId)).toEqual([emu.memberId, second.memberId]);
    expect((await control(emu, 'GET', '/portals')).body).toEqual([
      { webhookUrl: emu.webhookUrl, origin: emu.origin, portalUrl: emu.portalUrl, domain: new URL(emu.origin).host, memberId: emu.memberId, plan: 'pro', timeZone: 'Europe/Moscow' },
      added.body,
    ]);
    // The new portal serves REST with its own language.
    const stages = (await rawCall(second, 'crm.status.list', { filter: { ENTITY_ID: 'DEAL_STAGE' } })).body.result as { NAME: string }[];
    expect(stages[0].NAME).toBe('New');

    await rawCall(second, 'crm.lead.add', { fields: { TITLE: 'b' } });
    expect((await control(emu, 'GET', `/stats?portal=${second.memberId}`)).body).toMatchObject({ httpRequests: 2, calls: { 'crm.lead.add': 1 } });
    expect((await control(emu, 'GET', '/stats?portal=2')).body).toMatchObject({ httpRequests: 2 });
    expect((await control(emu, 'GET', '/stats')).body).toMatchObject({ httpRequests: 0 });
    expect((await control(emu, 'GET', `/collections/crm?portal=2`)).body).toMatchObject({ lead: [{ TITLE: 'b' }] });
    expect((await control(emu, 'GET', '/collections/crm')).body).toMatchObject({ lead: [] });
    const created = await control(emu, 'POST', `/crm/lead?portal=${second.memberId}`, { fields: { TITLE: 'from the UI' } });
    expect(created.body).toEqual({ id: 2 });

    expect(await control(emu, 'GET', '/stats?portal=7')).toEqual({ status: 400, body: { error: expect.stringMatching(/^no portal "7": give a member_id or a 1-based index from GET \/_control\/portals/) } });
    expect(await control(emu, 'POST', '/portals', { timeZone: 'Nowhere/City' })).toEqual({ status: 400, body: { error: expect.stringMatching(/^timeZone takes an IANA time zone name .*\(got "Nowhere\/City"\)$/) } });
    expect(await control(emu, 'POST', '/portals', { lang: 'de' })).toEqual({ status: 400, body: { error: '"lang" takes ru or en (got "de")' } });
  });

  test('GET /stats?portal=all: each portal\'s counters and their sum', async () => {
    const emu = await emulator({ portals: 2, limits: false });
    const [a, b] = emu.portals;
    await rawCall(a, 'crm.lead.add', { fields: {} });
    await rawCall(b, 'crm.lead.add', { fields: {} });
    await rawCall(b, 'server.time');
    const all = (await control(emu, 'GET', '/stats?portal=all')).body as unknown as { total: Record<string, unknown>; portals: Record<string, unknown>[] };
    expect(all.total).toMatchObject({ httpRequests: 3, calls: { 'crm.lead.add': 2, 'server.time': 1 }, rejected503: 0, injected503: 0 });
    expect(all.portals).toEqual([
      expect.objectContaining({ memberId: a.memberId, domain: a.domain, httpRequests: 1 }),
      expect.objectContaining({ memberId: b.memberId, domain: b.domain, httpRequests: 2 }),
    ]);
    expect(await control(emu, 'POST', '/stats/reset?portal=all')).toMatchObject({ status: 400 });
  });
});

describe('state file with several portals', () => {
  test('every portal, its data, apps, tokens and clock survive a restart', async () => {
    const stateFile = join(dir, 'two.json');
    const first = await startTestEmulator({ stateFile, limits: false, portals: [{}, { timeZone: 'Asia/Vladivostok', plan: 'ent250' }] });
    const [a, b] = first.portals;
    const lead = (await rawCall(b, 'crm.lead.add', { fields: { TITLE: 'on B' } })).body.result;
    const app = await a.control.installApp({});
    const onB = await b.control.installApp({ clientId: app.clientId });
    b.control.advanceClock(7_200_000);
    const bWebhook = new URL(b.webhookUrl).pathname;
    await first.close();
    const saved = JSON.parse(readFileSync(stateFile, 'utf8')) as { version: number; apps: { clientId: string }[]; portals: { memberId: string }[] };
    expect(saved.version).toBe(2);
    expect(saved.apps.map((x) => x.clientId)).toEqual([app.clientId]);
    expect(saved.portals.map((p) => p.memberId)).toEqual([a.memberId, b.memberId]);

    // Started again without naming the portals: all of them come back.
    const second = await emulator({ stateFile, limits: false });
    const [a2, b2] = second.portals;
    expect(second.portals.map((p) => [p.memberId, p.plan, p.timeZone])).toEqual([
      [a.memberId, 'pro', 'Europe/Moscow'],
      [b.memberId, 'ent250', 'Asia/Vladivostok'],
    ]);
    expect(new URL(b2.webhookUrl).pathname).toBe(bWebhook);
    expect((await rawCall(b2, 'crm.lead.get', { id: lead })).body.result).toMatchObject({ TITLE: 'on B' });
    expect((await rawCall(a2, 'crm.lead.list')).body.total).toBe(0);
    expect(b2.control.now() - a2.control.now()).toBeGreaterThanOrEqual(7_190_000);
    // Two hours on B's clock: its access token has expired, the refresh token has not.
    expect((await appCall(b2, onB.accessToken, 'app.info')).body).toMatchObject({ error: 'expired_token' });
    const refreshed = await fetch(`${second.oauthUrl}/oauth/token/?${new URLSearchParams({ grant_type: 'refresh_token', client_id: app.clientId, client_secret: app.clientSecret, refresh_token: onB.refreshToken })}`);
    expect(await refreshed.json()).toMatchObject({ member_id: b.memberId });
    // A third portal installs the same registered application.
    const c = await second.addPortal({ timeZone: 'Europe/Kaliningrad' });
    expect((await c.control.installApp({ clientId: app.clientId })).clientSecret).toBe(app.clientSecret);
  });

  test('an old one-portal state file (version 1) loads as portal 1, and more portals can join it', async () => {
    const stateFile = join(dir, 'old.json');
    const old = await startTestEmulator({ stateFile, limits: false });
    const lead = (await rawCall(old, 'crm.lead.add', { fields: { TITLE: 'from before' } })).body.result;
    const app = await old.control.installApp({ code: 'autosalon' });
    await old.close();
    const v1 = JSON.parse(readFileSync(stateFile, 'utf8')) as { version: number; memberId: string };
    expect(v1).toMatchObject({ format: 'autosalon-bitrix24-emulator', version: 1, memberId: old.memberId });

    const emu = await emulator({ stateFile, limits: false, portals: 2 });
    expect(emu.memberId).toBe(old.memberId);
    expect((await rawCall(emu, 'crm.lead.get', { id: lead })).body.result).toMatchObject({ TITLE: 'from before' });
    // The registry is rebuilt from the old portal's applications.
    const onNew = await emu.portals[1].control.installApp({ clientId: app.clientId });
    expect(onNew.clientSecret).toBe(app.clientSecret);
    expect(JSON.parse(readFileSync(stateFile, 'utf8'))).toMatchObject({ version: 2, apps: [{ clientId: app.clientId, code: 'autosalon' }] });
  });

  test('a broken portal in a version-2 file is a clear error naming it', async () => {
    const broken = join(dir, 'broken-v2.json');
    writeFileSync(broken, JSON.stringify({ format: 'autosalon-bitrix24-emulator', version: 2, apps: [], portals: [{ format: 'autosalon-bitrix24-emulator', version: 1 }] }));
    await expect(startTestEmulator({ stateFile: broken })).rejects.toThrow(/broken-v2\.json is not an emulator portal \(portals\.0\.memberId: .*fix the file, or move it away/);
  });
});
