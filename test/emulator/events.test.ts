// event.bind/unbind/get and the delivery of events, install and uninstall events to app handlers
// (docs api-reference/events/*, api-reference/common/events/on-app-*.md; REST notes §11).
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import type { InstalledApp, RunningEmulator } from '../../src/emulator/index.js';
import { appCall, rawCall, startCaptureServer, startTestEmulator } from '../helpers/emulator.js';

let emu: RunningEmulator;
let hooks: Awaited<ReturnType<typeof startCaptureServer>>;
let app: InstalledApp;
beforeAll(async () => {
  hooks = await startCaptureServer();
  emu = await startTestEmulator({ limits: false });
  app = await emu.control.installApp({ handlerUrl: `${hooks.url}/install` });
});
afterAll(async () => {
  await emu.close();
  await hooks.close();
});
beforeEach(() => {
  hooks.requests.length = 0;
  hooks.status = 200;
  emu.control.setEventFaults({});
});

const call = (method: string, params: Record<string, unknown> = {}) => appCall(emu, app.accessToken, method, params);

describe('installing an app', () => {
  test('ONAPPINSTALL went form-encoded to the handler with tokens, application_token and endpoints', async () => {
    const fresh = await startTestEmulator({ limits: false });
    try {
      const installed = await fresh.control.installApp({ handlerUrl: `${hooks.url}/install-fresh`, scope: 'crm,bizproc' });
      expect(installed.installDelivery).toMatchObject({ status: 'delivered', httpStatus: 200 });
      const [request] = hooks.requests.filter((r) => r.path === '/install-fresh');
      expect(request.contentType).toBe('application/x-www-form-urlencoded');
      expect(request.raw).toContain('auth%5Bapplication_token%5D=');
      expect(request.form).toEqual({
        event: 'ONAPPINSTALL',
        event_handler_id: expect.stringMatching(/^\d+$/),
        data: { VERSION: '1', ACTIVE: 'Y', INSTALLED: 'Y', LANGUAGE_ID: 'ru' },
        ts: expect.stringMatching(/^\d+$/),
        auth: {
          access_token: installed.accessToken,
          expires: String(installed.expires),
          expires_in: '3600',
          scope: 'crm,bizproc',
          domain: new URL(fresh.origin).host,
          server_endpoint: `${fresh.oauthUrl}/rest/`,
          status: 'L',
          client_endpoint: `${fresh.origin}/rest/`,
          member_id: fresh.memberId,
          user_id: '1',
          refresh_token: installed.refreshToken,
          application_token: installed.applicationToken,
        },
      });
    } finally {
      await fresh.close();
    }
  });
});

describe('event.bind / get / unbind', () => {
  test('bind, list, refuse duplicates and bad handlers, unbind', async () => {
    expect((await call('event.bind', { event: 'onCrmLeadAdd', handler: `${hooks.url}/events` })).body.result).toBe(true);
    expect((await call('event.bind', { event: 'ONCRMLEADADD', handler: `${hooks.url}/events` })).body).toEqual({
      error: 'ERROR_CORE',
      error_description: 'Unable to set event handler: Handler already binded',
    });
    expect((await call('event.bind', { event: 'ONCRMLEADADD', handler: 'http://localhost:9/events' })).body).toEqual({ error: 'ERROR_WRONG_HANDLER_URL', error_description: 'Wrong handler URL' });
    expect((await call('event.bind', { event: 'ONCRMLEADADD', handler: 'ftp://example.com/events' })).body.error).toBe('ERROR_UNSUPPORTED_PROTOCOL');
    expect((await call('event.bind', { event: 'ONSOMETHINGELSE', handler: `${hooks.url}/events` })).body).toEqual({ error: 'ERROR_EVENT_NOT_FOUND', error_description: 'Event not found' });
    await call('event.bind', { event: 'ONCRMDEALUPDATE', handler: `${hooks.url}/events`, auth_type: 3 });
    expect((await call('event.get')).body.result).toEqual([
      { event: 'ONCRMLEADADD', handler: `${hooks.url}/events`, auth_type: '0', offline: 0 },
      { event: 'ONCRMDEALUPDATE', handler: `${hooks.url}/events`, auth_type: '3', offline: 0 },
    ]);
    expect((await call('event.unbind', { event: 'ONCRMDEALUPDATE', handler: `${hooks.url}/events` })).body.result).toEqual({ count: 1 });
    expect((await rawCall(emu, 'event.get')).body).toEqual({ error: 'WRONG_AUTH_TYPE', error_description: 'Current authorization type is denied for this method' });
  });
});

describe('event delivery', () => {
  test('a REST change, even by the app itself, is delivered after the answer with data[FIELDS][ID] and tokens of the user', async () => {
    const id = (await call('crm.lead.add', { fields: { TITLE: 'by the app' } })).body.result;
    await emu.control.waitForDeliveries();
    const events = hooks.requests.filter((r) => r.path === '/events');
    expect(events).toHaveLength(1);
    const form = events[0].form as { event: string; event_handler_id: string; data: unknown; ts: string; auth: Record<string, string> };
    expect(form.event).toBe('ONCRMLEADADD');
    expect(form.event_handler_id).toMatch(/^\d+$/);
    expect(form.data).toEqual({ FIELDS: { ID: String(id) } });
    expect(form.auth).toMatchObject({
      domain: new URL(emu.origin).host,
      client_endpoint: `${emu.origin}/rest/`,
      server_endpoint: `${emu.oauthUrl}/rest/`,
      member_id: emu.memberId,
      application_token: app.applicationToken,
      expires_in: '3600',
      scope: expect.stringContaining('crm'),
      status: 'L',
    });
    expect(form.auth).not.toHaveProperty('refresh_token');
    // The token in the event is a working token of the acting user.
    expect((await appCall(emu, form.auth.access_token, 'profile')).body.result).toMatchObject({ ID: '1' });
  });

  test('a webhook change and a UI change carry tokens; automation (no user) carries none', async () => {
    await rawCall(emu, 'crm.lead.add', { fields: { TITLE: 'by the webhook' } });
    emu.control.addRecord('lead', { TITLE: 'by a manager in the UI' }, { userId: 3 });
    emu.control.addRecord('lead', { TITLE: 'by a robot' }, { userId: null });
    await emu.control.waitForDeliveries();
    const auths = hooks.requests.map((r) => (r.form as { auth: Record<string, string> }).auth);
    expect(auths.map((a) => a.user_id)).toEqual(['1', '3', undefined]);
    expect(auths[2]).not.toHaveProperty('access_token');
    expect(auths[2]).toMatchObject({ application_token: app.applicationToken, member_id: emu.memberId });
  });

  test('drop and duplicate the next N deliveries; a failed delivery is not retried', async () => {
    emu.control.setEventFaults({ dropNext: 1, duplicateNext: 1 });
    const ids = [];
    for (const title of ['dropped', 'twice', 'once']) ids.push((await call('crm.lead.add', { fields: { TITLE: title } })).body.result);
    await emu.control.waitForDeliveries();
    const delivered = hooks.requests.map((r) => (r.form as { data: { FIELDS: { ID: string } } }).data.FIELDS.ID);
    expect(delivered).toEqual([String(ids[1]), String(ids[1]), String(ids[2])]);
    const log = emu.control.deliveries({ event: 'ONCRMLEADADD' }).slice(-3);
    expect(log.map((d) => [d.status, d.sent])).toEqual([['dropped', 0], ['delivered', 2], ['delivered', 1]]);

    hooks.requests.length = 0;
    hooks.status = 500;
    await call('crm.lead.add', { fields: { TITLE: 'handler down' } });
    await emu.control.waitForDeliveries();
    expect(hooks.requests).toHaveLength(1);
    expect(emu.control.deliveries({ event: 'ONCRMLEADADD' }).at(-1)).toMatchObject({ status: 'failed', httpStatus: 500, sent: 1 });
  });

  test('a seeded drop rate is repeatable', async () => {
    const pattern = async () => {
      emu.control.setEventFaults({ dropRate: 0.5, seed: 42 });
      hooks.requests.length = 0;
      const ids = [];
      for (let i = 0; i < 12; i++) ids.push((await call('crm.lead.add', { fields: { TITLE: `rate ${i}` } })).body.result);
      await emu.control.waitForDeliveries();
      const got = new Set(hooks.requests.map((r) => Number((r.form as { data: { FIELDS: { ID: string } } }).data.FIELDS.ID)));
      return ids.map((id) => got.has(id as number));
    };
    const first = await pattern();
    const second = await pattern();
    expect(first).toEqual(second);
    expect(first.filter(Boolean).length).toBeGreaterThan(0);
    expect(first.filter((x) => !x).length).toBeGreaterThan(0);
  });

  test('moving a deal to another pipeline (UI) fires ONCRMDEALMOVETOCATEGORY with the new pipeline and stage, not UPDATE', async () => {
    await call('event.bind', { event: 'ONCRMDEALMOVETOCATEGORY', handler: `${hooks.url}/events` });
    await call('event.bind', { event: 'ONCRMDEALUPDATE', handler: `${hooks.url}/events` });
    const category = ((await rawCall(emu, 'crm.category.add', { entityTypeId: 2, fields: { name: 'Магазин' } })).body.result as { category: { id: number } }).category.id;
    const deal = (await rawCall(emu, 'crm.deal.add', { fields: { TITLE: 'moving' } })).body.result as number;
    await emu.control.waitForDeliveries();
    hooks.requests.length = 0;
    emu.control.moveDeal(deal, category, { userId: 3 });
    await emu.control.waitForDeliveries();
    expect(hooks.requests.map((r) => (r.form as { event: string; data: unknown }).event)).toEqual(['ONCRMDEALMOVETOCATEGORY']);
    expect(hooks.requests[0].form.data).toEqual({ FIELDS: { ID: String(deal), CATEGORY_ID: String(category), STAGE_ID: `C${category}:NEW` } });
    expect((await rawCall(emu, 'crm.deal.get', { id: deal })).body.result).toMatchObject({ CATEGORY_ID: String(category), STAGE_ID: `C${category}:NEW`, MOVED_BY_ID: '3' });
  });

  test('ONAPPUNINSTALL goes to its bound handler with only the portal identity; then the app is locked out', async () => {
    const other = await emu.control.installApp({});
    await appCall(emu, other.accessToken, 'event.bind', { event: 'ONAPPUNINSTALL', handler: `${hooks.url}/uninstall` });
    await emu.control.uninstallApp(other.clientId, { clean: true });
    const [request] = hooks.requests.filter((r) => r.path === '/uninstall');
    expect(request.form).toEqual({
      event: 'ONAPPUNINSTALL',
      event_handler_id: expect.stringMatching(/^\d+$/),
      data: { LANGUAGE_ID: 'ru', CLEAN: '1' },
      ts: expect.any(String),
      auth: { domain: new URL(emu.origin).host, server_endpoint: `${emu.oauthUrl}/rest/`, client_endpoint: `${emu.origin}/rest/`, member_id: emu.memberId, application_token: other.applicationToken },
    });
    expect((await appCall(emu, other.accessToken, 'profile')).status).toBe(401);
  });
});
