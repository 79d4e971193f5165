// OAuth: app tokens on REST calls, expiry (401 expired_token) and the token endpoint's refresh answer
// (docs settings/oauth/index.md, auto-renewal.md; system errors table).
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { InstalledApp, RunningEmulator } from '../../src/emulator/index.js';
import { startTestEmulator } from '../helpers/emulator.js';

let emu: RunningEmulator;
let app: InstalledApp;
let now = Date.parse('2027-01-15T09:00:00Z');
beforeAll(async () => {
  emu = await startTestEmulator({ limits: false, clock: () => now });
  app = await emu.control.installApp({ scope: 'crm,user,department' });
});
afterAll(() => emu.close());

const call = async (method: string, params: Record<string, unknown>) => {
  const r = await fetch(`${app.clientEndpoint}${method}.json`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(params) });
  return { status: r.status, body: (await r.json()) as Record<string, unknown> };
};
const refresh = async (params: Record<string, string>, method: 'GET' | 'POST' = 'GET') => {
  const query = new URLSearchParams(params).toString();
  const r =
    method === 'GET'
      ? await fetch(`${emu.oauthUrl}/oauth/token/?${query}`)
      : await fetch(`${emu.oauthUrl}/oauth/token/`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: query });
  return { status: r.status, body: (await r.json()) as Record<string, unknown> };
};

describe('OAuth', () => {
  test('installApp gives endpoints the SDK derives its URLs from', () => {
    expect(app.clientEndpoint).toBe(`${emu.origin}/rest/`);
    expect(app.serverEndpoint).toBe(`${emu.oauthUrl}/rest/`);
    expect(app.memberId).toBe(emu.memberId);
    expect(app.expires).toBe(now / 1000 + 3600);
  });

  test('a valid token calls methods of its scopes; app.info answers in app context', async () => {
    expect((await call('crm.lead.list', { auth: app.accessToken })).status).toBe(200);
    const info = await call('app.info', { auth: app.accessToken });
    expect(info.body.result).toMatchObject({ INSTALLED: true, LICENSE: 'ru_pro', LICENSE_TYPE: 'pro', LICENSE_FAMILY: 'pro', STATUS: 'L' });
    const crmOnly = await emu.control.installApp({ scope: ['crm'] });
    expect(await call('user.get', { auth: crmOnly.accessToken })).toEqual({
      status: 401,
      body: { error: 'insufficient_scope', error_description: 'The request requires higher privileges than provided by the access token' },
    });
    expect((await call('crm.lead.list', { auth: 'not-a-token' })).body).toEqual({ error: 'NO_AUTH_FOUND', error_description: 'Wrong authorization data' });
  });

  test('after an hour the token is expired; a refresh gives a new pair and spends the old refresh token', async () => {
    now += 3600_000;
    expect(await call('crm.lead.list', { auth: app.accessToken })).toEqual({
      status: 401,
      body: { error: 'expired_token', error_description: 'The access token provided has expired' },
    });
    const refreshed = await refresh({ grant_type: 'refresh_token', client_id: app.clientId, client_secret: app.clientSecret, refresh_token: app.refreshToken });
    expect(refreshed.status).toBe(200);
    expect(refreshed.body).toEqual({
      access_token: expect.any(String),
      client_endpoint: app.clientEndpoint,
      domain: new URL(emu.oauthUrl).host,
      expires: now / 1000 + 3600,
      expires_in: 3600,
      member_id: emu.memberId,
      refresh_token: expect.any(String),
      scope: 'crm,user,department',
      server_endpoint: app.serverEndpoint,
      status: 'L',
      user_id: 1,
    });
    expect(refreshed.body.refresh_token).not.toBe(app.refreshToken);
    expect((await call('crm.lead.list', { auth: refreshed.body.access_token })).status).toBe(200);
    const again = await refresh({ grant_type: 'refresh_token', client_id: app.clientId, client_secret: app.clientSecret, refresh_token: app.refreshToken }, 'POST');
    expect(again).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
    const badClient = await refresh({ grant_type: 'refresh_token', client_id: app.clientId, client_secret: 'wrong', refresh_token: String(refreshed.body.refresh_token) });
    expect(badClient).toMatchObject({ status: 401, body: { error: 'invalid_client' } });
  });

  test('a non-admin token is refused admin-only operations', async () => {
    const manager = emu.control.issueToken(app.clientId, 3);
    const r = await call('crm.status.add', { auth: manager.accessToken, fields: { ENTITY_ID: 'STATUS', STATUS_ID: 'X1', NAME: 'x' } });
    expect(r.body).toEqual({ error: '', error_description: 'Access denied.' });
    expect((await call('profile', { auth: manager.accessToken })).body.result).toMatchObject({ ID: '3', ADMIN: false });
  });
});
