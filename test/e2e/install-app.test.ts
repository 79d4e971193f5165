// App mode: the installer with the OAuth tokens of an installed application registers what a webhook cannot —
// robots, the trigger, the CRM event bindings, the refusal business process — and reads the tier from app.info.
import { afterEach, describe, expect, it } from 'vitest';
import { decodeBpt, robotActivityType, walkActivities } from '../../src/bpt/index.js';
import type { InstalledApp, RunningEmulator } from '../../src/emulator/index.js';
import { runInstall, type InstallOptions } from '../../src/install/apply.js';
import { openSession } from '../../src/install/session.js';
import { PortalState } from '../../src/install/state.js';
import { installForService } from '../../src/service/installer.js';
import { SqliteStore } from '../../src/service/store/sqlite.js';
import { uninstall } from '../../src/install/uninstall.js';
import { verifyPortal } from '../../src/install/verify.js';
import { LostResponseError, PortalClient, PortalError } from '../../src/portal/client.js';
import { asUserError } from '../../src/cli/session.js';
import { loadTemplate } from '../../src/template/loader.js';
import { startTestEmulator } from '../helpers/emulator.js';
import { join } from 'node:path';
import { categories, duplicates, tempStateDir } from '../install/portal-checks.js';
import { defaultSettings } from '../../src/service/settings.js';
import { TEST_KEY } from '../helpers/keys.js';

const template = loadTemplate();
const PUBLIC_URL = 'https://127.0.0.1:9443/autosalon';
const running: RunningEmulator[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((e) => e.close()));
});

async function appPortal(plan = 'pro') {
  const emulator = await startTestEmulator({ plan });
  running.push(emulator);
  const app: InstalledApp = await emulator.control.installApp();
  const stateDir = tempStateDir();
  const client = () => PortalClient.fromOAuth(
    {
      accessToken: app.accessToken, refreshToken: app.refreshToken, expires: app.expires, domain: app.domain,
      clientEndpoint: app.clientEndpoint, serverEndpoint: app.serverEndpoint, memberId: app.memberId,
      applicationToken: app.applicationToken, scope: app.scope, userId: app.userId,
    },
    { clientId: app.clientId, clientSecret: app.clientSecret },
    () => undefined,
  );
  const install = (o: InstallOptions = {}) => runInstall(client(), { stateDir, template, app: { publicUrl: PUBLIC_URL, clientId: app.clientId }, ...o });
  return { emulator, app, stateDir, client, install };
}

async function appObjects(client: PortalClient, appId?: string) {
  const r = await client.batch({
    robots: { method: 'bizproc.robot.list' },
    triggers: { method: 'crm.automation.trigger.list' },
    events: { method: 'event.get' },
    info: { method: 'app.info' },
  });
  const info = r.result.info as { ID: string };
  const templates = await client.call<{ ID: string; NAME: string; SYSTEM_CODE: string; TEMPLATE: unknown }[]>('bizproc.workflow.template.list', {
    select: ['ID', 'NAME', 'SYSTEM_CODE', 'AUTO_EXECUTE', 'TEMPLATE'], filter: { SYSTEM_CODE: `rest_app_${appId ?? info.ID}` },
  });
  return {
    robots: r.result.robots as string[],
    triggers: (r.result.triggers as { CODE: string }[]).map((t) => t.CODE),
    events: (r.result.events as { event: string; handler: string }[]).map((e) => `${e.event} ${e.handler}`),
    templates: templates.result,
  };
}

describe('installing as the application', () => {
  it('takes the tier from app.info and registers robots, the trigger, the events and the refusal process', async () => {
    const { emulator, app, install, client, stateDir } = await appPortal('pro');
    const report = await install();
    expect(report.tierSource).toBe('the portal\'s plan pro, from app.info');
    expect(report.tier).toBe('crm_plus');
    expect(report.failed).toEqual([]);
    expect(report.skipped).toEqual([]);
    expect(report.converged).toBe(true);
    expect(report.httpRequests).toBeLessThanOrEqual(8);

    const objects = await appObjects(client());
    expect(objects.robots.sort()).toEqual(['autosalon_refusal', 'autosalon_stage_actions']);
    expect(objects.triggers).toEqual(['autosalon_inbound']);
    expect(objects.events.sort()).toEqual(template.app.events.map((e) => `${e} ${PUBLIC_URL}/events`).sort());
    expect(objects.templates.map((t) => t.NAME)).toEqual(['Автосалон: отказ клиента']);
    // The uploaded process calls the app's own refusal robot.
    const types = [...walkActivities(objects.templates[0].TEMPLATE as never)].map((a) => a.Type);
    expect(types).toContain(robotActivityType(app.clientId, 'autosalon_refusal'));
    expect(emulator.control.stats().calls['bizproc.robot.add']).toBe(2);

    const again = await install();
    expect([again.created, again.updated, again.deleted]).toEqual([0, 0, 0]);
    expect(again.httpRequests).toBeLessThanOrEqual(2);
    const verify = await verifyPortal(client(), { stateDir, template, app: { publicUrl: PUBLIC_URL, clientId: app.clientId } });
    expect(verify.drift).toEqual([]);
    expect(verify.notVerified).toEqual([]);
  });

  it('a portal on a base plan gets Repair only and no automation objects', async () => {
    const { emulator, install } = await appPortal('basic');
    const report = await install();
    expect(report.tier).toBe('base');
    expect(report.converged).toBe(true);
    expect((await categories(emulator)).map((c) => c.name)).toEqual(['Ремонт авто']);
    const writes = Object.keys(emulator.control.stats().calls).filter((m) => /^(bizproc\.|event\.bind|crm\.automation\.trigger\.add)/.test(m) && !m.endsWith('.list'));
    expect(writes).toEqual([]);
  });

  it('verify and a re-run without the public URL use the address the last install recorded', async () => {
    const { app, install, client, stateDir } = await appPortal();
    await install();
    expect(new PortalState(stateDir, client().portalKey).loadLedger({ key: '', origin: '', mode: 'app' }).publicUrl).toBe(PUBLIC_URL);
    const verify = await verifyPortal(client(), { stateDir, template, app: { clientId: app.clientId } });
    expect(verify.drift).toEqual([]);
    expect(verify.ok).toBe(true);
    expect(verify.publicUrl).toBe(PUBLIC_URL);
    const again = await install({ app: { clientId: app.clientId } });
    expect([again.created, again.updated, again.deleted, again.skipped]).toEqual([0, 0, 0, []]);
  });

  it('a moved service re-binds its events to the new address and drops the old ones', async () => {
    const { app, install, client } = await appPortal();
    await install();
    const moved = await install({ app: { publicUrl: 'https://192.0.2.10/svc', clientId: app.clientId } });
    expect(moved.failed).toEqual([]);
    const events = (await appObjects(client())).events;
    expect(events.every((e) => e.endsWith('https://192.0.2.10/svc/events'))).toBe(true);
    expect(events).toHaveLength(template.app.events.length);
  });

  it('the service\'s install also binds ONAPPUNINSTALL, on a base plan too, and moves it with the service', async () => {
    for (const plan of ['pro', 'basic']) {
      const { app, stateDir, client } = await appPortal(plan);
      const uninstallBindings = async () => (await client().call<{ event: string; handler: string }[]>('event.get')).result
        .filter((b) => b.event === 'ONAPPUNINSTALL').map((b) => `${b.event} ${b.handler}`);
      const tier = plan === 'pro' ? 'crm_plus' : 'base';
      await installForService(client(), { tier, lang: 'ru', stateDir, app: { publicUrl: PUBLIC_URL, clientId: app.clientId } });
      expect(await uninstallBindings()).toEqual([`ONAPPUNINSTALL ${PUBLIC_URL}/events`]);
      await installForService(client(), { tier, lang: 'ru', stateDir, app: { publicUrl: 'https://192.0.2.10/svc', clientId: app.clientId } });
      expect(await uninstallBindings()).toEqual(['ONAPPUNINSTALL https://192.0.2.10/svc/events']);
    }
  });

  it('killed after each batch in turn, a re-run converges without duplicates, robots and events included', async () => {
    class Killed extends Error {}
    let covered = 0;
    for (let killAt = 1; killAt <= 20; killAt++) {
      const { emulator, install, client } = await appPortal();
      let sent = 0;
      const died = await install({ maxBatch: 20, onBatchSent: () => { if (++sent === killAt) throw new Killed(); } })
        .then(() => false, (error) => { if (error instanceof Killed) return true; throw error; });
      if (!died) break;
      covered++;
      const report = await install({ maxBatch: 20 });
      expect(report.failed).toEqual([]);
      expect(report.converged).toBe(true);
      expect(await duplicates(emulator)).toEqual([]);
      const objects = await appObjects(client());
      expect(objects.templates).toHaveLength(1);
      expect(objects.events).toHaveLength(template.app.events.length);
      await emulator.close();
    }
    expect(covered).toBeGreaterThanOrEqual(4);
  }, 120_000);

  it('uninstall as the application removes its robots, trigger, event bindings and process too', async () => {
    const { emulator, install, client, stateDir } = await appPortal();
    await install();
    const report = await uninstall(client(), { stateDir, template });
    expect(report.failed).toEqual([]);
    const objects = await appObjects(client());
    expect([objects.robots, objects.triggers, objects.events, objects.templates]).toEqual([[], [], [], []]);
    expect(await categories(emulator)).toEqual([]);
    const ledger = new PortalState(stateDir, client().portalKey).loadLedger({ key: '', origin: '', mode: 'app' });
    expect(Object.keys(ledger.objects)).toEqual([]);
  });
});

describe('tokens from the automation service', () => {
  it('--member-id alone installs with the tokens the service stored, and writes renewed tokens back', async () => {
    const { emulator, app } = await appPortal();
    const stateDir = tempStateDir();
    const dbFile = join(stateDir, 'service.sqlite');
    const store = await SqliteStore.open(dbFile, { keys: { current: TEST_KEY, previous: [] } });
    await store.savePortal({
      memberId: app.memberId, domain: app.domain, clientEndpoint: app.clientEndpoint, accessToken: app.accessToken, refreshToken: app.refreshToken,
      expires: app.expires, scope: app.scope, userId: app.userId, applicationToken: app.applicationToken, lang: 'ru', tier: 'crm_plus', plan: 'pro',
      installedAt: Date.now(), installState: 'installed', settings: defaultSettings(),
    });
    await store.close();
    // The stored access token has expired: the client renews it through the OAuth server.
    emulator.control.expireAccessTokens(app.clientId);
    const env = {
      B24_APP_CLIENT_ID: app.clientId, B24_APP_CLIENT_SECRET: app.clientSecret, B24_OAUTH_URL: emulator.oauthUrl, AUTOSALON_SECRET_KEY: TEST_KEY.toString('base64'),
    };
    const session = await openSession({ memberId: app.memberId, stateDir, dbFile, publicUrl: PUBLIC_URL }, {}, env);
    try {
      expect(session.client.mode).toBe('app');
      expect(session.client.portalKey).toBe(app.memberId);
      const report = await runInstall(session.client, { stateDir, template, app: session.app });
      expect(report.failed).toEqual([]);
      expect(report.converged).toBe(true);
      expect(report.skipped).toEqual([]);
    } finally {
      await session.close();
    }
    const after = await SqliteStore.open(dbFile, { keys: { current: TEST_KEY, previous: [] } });
    expect((await after.getPortal(app.memberId))!.accessToken).not.toBe(app.accessToken);
    await after.close();
  });

  it('tokens given on the command line work too; when they had to be renewed, the user is told', async () => {
    const { emulator, app } = await appPortal();
    emulator.control.expireAccessTokens(app.clientId);
    const stateDir = tempStateDir();
    const env = { B24_APP_CLIENT_ID: app.clientId, B24_APP_CLIENT_SECRET: app.clientSecret, B24_OAUTH_URL: emulator.oauthUrl };
    const session = await openSession({ accessToken: app.accessToken, refreshToken: app.refreshToken, domain: app.domain, memberId: app.memberId, stateDir, publicUrl: PUBLIC_URL }, {}, env);
    const report = await runInstall(session.client, { stateDir, template, app: session.app });
    expect(report.converged).toBe(true);
    expect(session.notices()).toEqual([expect.stringMatching(/renewed: the refresh token you passed is no longer valid/)]);
    expect(session.notices().join(' ')).not.toContain(app.refreshToken);
    await session.close();
  });

  it('an expired token the OAuth server refuses to renew stops at once, naming what to check', async () => {
    const { emulator, app } = await appPortal();
    emulator.control.expireAccessTokens(app.clientId);
    const stateDir = tempStateDir();
    const env = { B24_APP_CLIENT_ID: app.clientId, B24_APP_CLIENT_SECRET: 'not-the-client-secret', B24_OAUTH_URL: emulator.oauthUrl };
    const waits: string[] = [];
    const session = await openSession(
      { accessToken: app.accessToken, refreshToken: app.refreshToken, domain: app.domain, memberId: app.memberId, stateDir, publicUrl: PUBLIC_URL },
      { onWait: (w) => waits.push(w.code) }, env,
    );
    try {
      const error = await runInstall(session.client, { stateDir, template, app: session.app }).catch((e: unknown) => e);
      // An answer (the OAuth server's refusal), not a lost one: not asked again, and nothing to look up.
      expect(error).toBeInstanceOf(PortalError);
      expect(error).not.toBeInstanceOf(LostResponseError);
      expect(error).toMatchObject({ code: 'invalid_client' });
      expect(waits).toEqual([]);
      const message = asUserError(error, session).message;
      expect(message).toMatch(/OAuth server refused to renew it.*check B24_APP_CLIENT_ID and B24_APP_CLIENT_SECRET.*if the application was deleted from the portal, install it again/);
      expect(message).not.toMatch(new RegExp(`${app.refreshToken}|${app.accessToken}|not-the-client-secret`));
    } finally {
      await session.close();
    }
  });

  it('says what to do when the service has no tokens for that portal', async () => {
    const stateDir = tempStateDir();
    await expect(openSession({ memberId: 'nope', stateDir }, {}, {})).rejects.toThrow(/no service database at .*service\.sqlite/);
    await (await SqliteStore.open(join(stateDir, 'service.sqlite'), { keys: { current: TEST_KEY, previous: [] } })).close();
    const env = { AUTOSALON_SECRET_KEY: TEST_KEY.toString('base64') };
    await expect(openSession({ memberId: 'nope', stateDir }, {}, env)).rejects.toThrow(/has no tokens for member_id nope: install the application/);
    // Without the key the tokens cannot be read, and the message names the setting.
    await expect(openSession({ memberId: 'nope', stateDir }, {}, {})).rejects.toThrow(/no secret key was given: set AUTOSALON_SECRET_KEY/);
  });
});

describe('the refusal .bpt', () => {
  it('round-trips through the decoder', async () => {
    const { app, install, client } = await appPortal();
    await install();
    const [uploaded] = (await appObjects(client())).templates;
    const { businessProcessData } = await import('../../src/install/desired.js');
    const built = businessProcessData(template, template.app.businessProcesses[0], app.clientId, 'ru');
    if ('reason' in built) throw new Error(built.reason);
    const decoded = decodeBpt(Buffer.from(built.data, 'base64'));
    expect(decoded.VERSION).toBe(2);
    expect(decoded.TEMPLATE).toEqual(uploaded.TEMPLATE);
  });
});
