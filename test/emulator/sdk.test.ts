// The official SDK works against the emulator unchanged: B24Hook from the webhook URL and B24OAuth with token
// refresh through the emulator's OAuth server. TLS is trusted only through NODE_EXTRA_CA_CERTS (set by the global
// setup before this worker started) — no agent or rejectUnauthorized tricks.
import { B24Hook, B24OAuth } from '@bitrix24/b24jssdk';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { RunningEmulator } from '../../src/emulator/index.js';
import { TEST_CERT_DIR, startTestEmulator } from '../helpers/emulator.js';

let emu: RunningEmulator;
beforeAll(async () => {
  emu = await startTestEmulator({ limits: false });
});
afterAll(() => emu.close());

test('the worker trusts the emulator CA through NODE_EXTRA_CA_CERTS', () => {
  expect(process.env.NODE_EXTRA_CA_CERTS).toBe(emu.caCertPath);
  expect(emu.caCertPath.startsWith(TEST_CERT_DIR)).toBe(true);
});

describe('B24Hook.fromWebhookUrl', () => {
  test('call, batch and callList (the >ID export with start=-1)', async () => {
    const b24 = B24Hook.fromWebhookUrl(emu.webhookUrl);
    b24.offClientSideWarning();
    const statuses = await b24.actions.v2.call.make({ method: 'crm.status.list', params: { filter: { ENTITY_ID: 'STATUS' } } });
    expect(statuses.isSuccess).toBe(true);
    expect((statuses.getData()!.result as { STATUS_ID: string }[]).map((s) => s.STATUS_ID)).toContain('CONVERTED');

    const batch = await b24.actions.v2.batch.make({
      calls: { cat: { method: 'crm.category.add', params: { entityTypeId: 2, fields: { name: 'SDK' } } }, time: { method: 'server.time' } },
      options: { isHaltOnError: true },
    });
    expect(batch.isSuccess).toBe(true);

    for (let chunk = 0; chunk < 3; chunk++) {
      const calls = Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`l${i}`, { method: 'crm.lead.add', params: { fields: { TITLE: `SDK ${chunk}-${i}` } } }]));
      await b24.actions.v2.batch.make({ calls, options: { isHaltOnError: true } });
    }
    const all = await b24.actions.v2.callList.make({ method: 'crm.lead.list', params: { select: ['ID', 'TITLE'] } });
    expect(all.isSuccess).toBe(true);
    expect((all.getData() as unknown[]).length).toBe(120);
  });

  test('a CRM error reaches the SDK with the portal text', async () => {
    const b24 = B24Hook.fromWebhookUrl(emu.webhookUrl);
    b24.offClientSideWarning();
    const error = await b24.actions.v2.call.make({ method: 'crm.status.add', params: { fields: { ENTITY_ID: 'STATUS', STATUS_ID: 'NEW', NAME: 'x' } } }).then(
      (r) => (r.isSuccess ? undefined : r.getErrorMessages().join(' ')),
      (e: Error) => e.message,
    );
    expect(error).toContain('The specified status ID already exists.');
  });
});

describe('B24OAuth', () => {
  test('an expired token is refreshed through the OAuth server and the call succeeds', async () => {
    const app = await emu.control.installApp({});
    const refreshed: string[] = [];
    const b24 = new B24OAuth(
      {
        applicationToken: app.applicationToken,
        userId: app.userId,
        memberId: app.memberId,
        accessToken: app.accessToken,
        refreshToken: app.refreshToken,
        expires: app.expires,
        expiresIn: app.expiresIn,
        scope: app.scope,
        domain: app.domain,
        clientEndpoint: app.clientEndpoint,
        serverEndpoint: app.serverEndpoint,
        status: 'L' as never,
      },
      { clientId: app.clientId, clientSecret: app.clientSecret },
    );
    b24.offClientSideWarning();
    b24.setCallbackRefreshAuth(async ({ b24OAuthParams }) => {
      refreshed.push(b24OAuthParams.refreshToken);
    });
    const before = await b24.actions.v2.call.make({ method: 'app.info' });
    expect(before.getData()!.result).toMatchObject({ INSTALLED: true, LICENSE_TYPE: 'pro' });

    expect(emu.control.expireAccessTokens(app.clientId)).toBeGreaterThan(0);
    const after = await b24.actions.v2.call.make({ method: 'crm.lead.list', params: { select: ['ID'] } });
    expect(after.isSuccess).toBe(true);
    expect(refreshed).toHaveLength(1);
    expect(refreshed[0]).not.toBe(app.refreshToken);
    expect(emu.control.stats().calls['crm.lead.list']).toBeGreaterThanOrEqual(1);
  });
});
