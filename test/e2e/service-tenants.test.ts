// The service as a Market application serving portals it must not let anyone else steer: only an administrator
// installs, a forged or partial install changes nothing, the robot acts only on what really happened, each portal
// keeps its own settings, a portal that cannot work is marked (not retried forever), and the state at rest is
// private. Against the emulator, with the whole service.
import { readFileSync, statSync } from 'node:fs';
import { connect } from 'node:net';
import { dirname } from 'node:path';
import pg from 'pg';
import qs from 'qs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runInstall } from '../../src/install/apply.js';
import { PortalClient } from '../../src/portal/client.js';
import { secretKeyFile } from '../../src/service/secret-key.js';
import { loadTemplate } from '../../src/template/index.js';
import { categories, duplicates } from '../install/portal-checks.js';
import { BACKENDS } from '../helpers/stores.js';
import { startStack, START, type Stack } from '../service/harness.js';

const MANAGER = 3; // not an administrator
const template = loadTemplate();
type Row = Record<string, unknown>;

const notifications = (s: Stack, text: string) => s.emulator.control.collection('notifications').filter((n) => n.message.includes(text));

async function post(s: Stack, path: string, form: Row): Promise<{ status: number; body: string; type: string }> {
  const r = await fetch(`${s.service.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: qs.stringify(form) });
  return { status: r.status, body: await r.text(), type: r.headers.get('content-type') ?? '' };
}

// On both backends of the service's state.
describe.each(BACKENDS)('the service as a Market application on %s', (backend) => {
  describe('who may install', () => {
    let s: Stack;
    beforeAll(async () => {
      s = await startStack({ backend, emulator: { portals: 2 } });
    }, 120_000);
    afterAll(() => s?.close());

    it('an ordinary user\'s frame tokens with an application token of their choosing: 403, nothing stored, Bitrix24\'s events still accepted', async () => {
      const before = await s.portal();
      const other = await s.service.store.getPortal(s.portals[1].portal.memberId);
      const mine = s.emulator.control.issueToken(s.app.clientId, MANAGER);
      const page = await post(s, `/install?DOMAIN=${encodeURIComponent(s.app.domain)}&PROTOCOL=1&LANG=ru`, {
        AUTH_ID: mine.accessToken, AUTH_EXPIRES: '3600', REFRESH_ID: mine.refreshToken, APPLICATION_TOKEN: 'chosen-by-the-user', member_id: s.app.memberId,
      });
      expect(page.status).toBe(403);
      expect(page.type).toMatch(/text\/html/);
      expect(page.body).toContain('администратор');
      const after = await s.portal();
      expect(after).toMatchObject({ applicationToken: before.applicationToken, accessToken: before.accessToken, refreshToken: before.refreshToken, installState: 'installed' });
      expect(await s.service.store.getPortal(s.portals[1].portal.memberId)).toEqual(other);
      // The forged token opens nothing; the real one still does.
      const forged = await post(s, '/events', { event: 'ONCRMLEADADD', data: { FIELDS: { ID: '1' } }, auth: { member_id: s.app.memberId, application_token: 'chosen-by-the-user' } });
      expect(forged.status).toBe(401);
      await s.user.call('crm.lead.add', { fields: { TITLE: 'После попытки захвата', SOURCE_ID: 'WEB', ASSIGNED_BY_ID: MANAGER } });
      await s.settle();
      expect(notifications(s, 'Новый лид: После попытки захвата')).toHaveLength(1);
    });

    it('the same install event replayed is refused (its refresh token is spent), and an administrator\'s reinstall works', async () => {
      const replay = s.emulator.control.deliveries({ kind: 'install' }).at(-1);
      expect(replay).toBeDefined();
      const again = await post(s, '/install', replay!.payload as Row);
      expect(again.status).toBe(401);
      const reinstalled = await s.emulator.control.installApp({ clientId: s.app.clientId, handlerUrl: `${s.service.url}/install` });
      expect(reinstalled.installDelivery?.httpStatus).toBe(200);
      await s.settle();
      expect(await s.portal()).toMatchObject({ applicationToken: reinstalled.applicationToken, installState: 'installed' });
      await s.user.call('crm.lead.add', { fields: { TITLE: 'После переустановки', SOURCE_ID: 'WEB', ASSIGNED_BY_ID: MANAGER } });
      await s.settle();
      expect(notifications(s, 'Новый лид: После переустановки')).toHaveLength(1);
    });

    it('the refusal robot schedules no re-call for a deal that was never refused', async () => {
      const { categories } = (await s.user.call<{ categories: Row[] }>('crm.category.list', { entityTypeId: 2 })).result;
      const repair = Number(categories.find((c) => c.name === 'Ремонт авто')?.id);
      const id = Number((await s.user.call('crm.deal.add', { fields: { TITLE: 'Не отказ', CATEGORY_ID: repair, ASSIGNED_BY_ID: MANAGER } })).result);
      await s.settle();
      const run = s.emulator.control.runRobot({ code: 'autosalon_refusal', documentId: `DEAL_${id}`, properties: { reason: 'подделка' } });
      await s.settle();
      expect((await s.service.store.listRecalls({})).filter((e) => e.dealId === String(id))).toEqual([]);
      expect(s.emulator.control.robotRun(run.workflowId)?.completed).toMatchObject({ returnValues: {}, logMessage: expect.stringMatching(/not in a failure stage/) });
    });

    it('the state directory, the database, its WAL and the key file are the owner\'s only; no token is stored in plain text', async () => {
      const mode = (path: string) => statSync(path).mode & 0o777;
      const portal = await s.portal();
      const secrets = [portal.accessToken, portal.refreshToken, portal.applicationToken];
      expect(mode(s.config.stateDir)).toBe(0o700);
      if (backend === 'PostgreSQL') {
        // The server's files are the server's; in the database the token columns hold ciphertext.
        const client = new pg.Client({ connectionString: s.config.databaseUrl });
        await client.connect();
        const [row] = (await client.query<Record<string, string>>('SELECT access_token, refresh_token, application_token FROM autosalon.portals')).rows;
        await client.end();
        expect(Object.values(row).every((value) => value.startsWith('v1.'))).toBe(true);
        for (const secret of secrets) expect(Object.values(row).some((value) => value.includes(secret))).toBe(false);
        return;
      }
      expect(mode(dirname(s.config.dbFile))).toBe(0o700);
      for (const file of [s.config.dbFile, `${s.config.dbFile}-wal`, secretKeyFile(s.config.stateDir)]) expect(mode(file)).toBe(0o600);
      for (const file of [s.config.dbFile, `${s.config.dbFile}-wal`]) {
        const bytes = readFileSync(file);
        for (const secret of secrets) expect(bytes.includes(secret)).toBe(false);
      }
    });
  });

  describe('a portal\'s own settings', () => {
    let s: Stack;
    beforeAll(async () => {
      s = await startStack({ backend, config: { automation: { leadManagerIds: [1] } } });
    }, 120_000);
    afterAll(() => s?.close());

    it('start from the service\'s defaults and the portal\'s zone; a change applies from the next event on, to that portal', async () => {
      const portal = await s.portal();
      expect(portal.settings).toMatchObject({ timeZone: 'Europe/Moscow', recallHour: 10, leadManagerIds: [1], disabledRules: [] });
      await s.user.call('crm.lead.add', { fields: { TITLE: 'Лид 1', SOURCE_ID: 'WEB', ASSIGNED_BY_ID: MANAGER } });
      await s.settle();
      expect(notifications(s, 'Новый лид: Лид 1').map((n) => n.userId).sort()).toEqual([1, MANAGER]);

      await s.service.store.saveSettings(portal.memberId, { ...portal.settings, leadManagerIds: [2] });
      await s.user.call('crm.lead.add', { fields: { TITLE: 'Лид 2', SOURCE_ID: 'WEB', ASSIGNED_BY_ID: MANAGER } });
      await s.settle();
      expect(notifications(s, 'Новый лид: Лид 2').map((n) => n.userId).sort()).toEqual([2, MANAGER]);

      await s.service.store.saveSettings(portal.memberId, { ...portal.settings, disabledRules: ['lead.created.notify'] });
      await s.user.call('crm.lead.add', { fields: { TITLE: 'Лид 3', SOURCE_ID: 'WEB', ASSIGNED_BY_ID: MANAGER } });
      await s.settle();
      expect(notifications(s, 'Новый лид: Лид 3')).toEqual([]);
    });
  });

  describe('one portal, two ways in', () => {
    it('a webhook install from the CLI and the service\'s app-mode install share the portal\'s lock: never at once, one set of pipelines', async () => {
      const s = await startStack({ backend, install: false });
      try {
        const webhook = PortalClient.fromWebhook(s.emulator.webhookUrl, { rateLimit: { burstLimit: 100_000, drainRate: 10_000 } });
        // The CLI takes the lock as it starts (and keeps its first batch's answer until the service has tried); the
        // service's install job, run meanwhile, finds it taken and waits.
        let serviceTried!: () => void;
        const tried = new Promise<void>((resolve) => (serviceTried = resolve));
        const cli = runInstall(webhook, { tier: 'crm_plus', stateDir: s.config.stateDir, template, onBatchSent: () => tried });
        await s.settle();
        serviceTried();
        expect((await cli).converged).toBe(true);
        const [job] = await s.service.store.listJobs({ memberId: s.emulator.memberId });
        // Said in the portal's language, as the portal's administrator reads the install's errors.
        expect(job).toMatchObject({ kind: 'install', status: 'queued', lastError: expect.stringMatching(/с этим порталом уже работает другой запуск \(install/) });
        await s.advance(10 * 60_000);
        await s.settle();
        expect(await s.portal()).toMatchObject({ installState: 'installed' });
        expect(await duplicates(s.emulator)).toEqual([]);
        expect((await categories(s.emulator)).map((c) => c.name).sort()).toEqual(['Магазин', 'Мойка', 'Ремонт авто']);
      } finally {
        await s.close();
      }
    }, 120_000);
  });

  describe('a lead made in the second of the install', () => {
    it('gets its automation although the install time has milliseconds and DATE_CREATE has not', async () => {
      const s = await startStack({ backend, start: START + 700 });
      try {
        expect((await s.portal()).installedAt % 1000).toBe(700);
        await s.user.call('crm.lead.add', { fields: { TITLE: 'В ту же секунду', SOURCE_ID: 'WEB', ASSIGNED_BY_ID: MANAGER } });
        await s.settle();
        expect(notifications(s, 'Новый лид: В ту же секунду')).toHaveLength(1);
      } finally {
        await s.close();
      }
    }, 120_000);
  });

  describe('a portal that cannot work', () => {
    it('installed without the crm scope: the install fails at once with the reason, in /health and the portal record', async () => {
      const s = await startStack({ backend, appScope: ['bizproc', 'im', 'task', 'user', 'department', 'placement', 'basic'] });
      try {
        const portal = await s.portal();
        expect(portal.installState).toBe('failed');
        expect(portal.installError).toMatch(/without the "crm" permission .* install it again/);
        const jobs = await s.service.store.listJobs({ memberId: portal.memberId });
        expect(jobs.filter((j) => j.kind === 'install')).toMatchObject([{ status: 'failed', attempts: 1 }]);
        const health = await (await fetch(`${s.service.url}/health`)).json() as Row;
        expect(health).toMatchObject({ status: 'degraded', failing: [{ memberId: portal.memberId, installState: 'failed', problem: expect.stringMatching(/"crm" permission/) }] });
      } finally {
        await s.close();
      }
    }, 120_000);
  });

  describe('slow clients', () => {
    it('a connection that trickles its request is closed once the request timeout passes', async () => {
      const s = await startStack({ backend, config: { requestTimeoutMs: 300 }, install: false });
      try {
        const { port } = new URL(s.service.url);
        const socket = connect(Number(port), '127.0.0.1');
        const closed = new Promise<number>((resolve) => socket.on('close', () => resolve(Date.now())));
        socket.on('error', () => undefined); // writes after the server closed it
        await new Promise((resolve) => socket.on('connect', resolve));
        const started = Date.now();
        const trickle = setInterval(() => socket.write('X'), 50);
        socket.write('POST /events HTTP/1.1\r\nHost: x\r\n');
        const at = await Promise.race([closed, new Promise<number>((resolve) => setTimeout(() => resolve(-1), 5000))]);
        clearInterval(trickle);
        socket.destroy();
        expect(at).toBeGreaterThan(0);
        expect(at - started).toBeLessThan(3000);
      } finally {
        await s.close();
      }
    }, 60_000);
  });

  describe('two portals in different time zones', () => {
    // 14:30 UTC: 16:30 of the 15th in Kaliningrad (first half → re-call on the 1st), 00:30 of the 16th in Vladivostok
    // (second half → re-call on the 15th).
    const REFUSED_AT = Date.parse('2027-01-15T14:30:00Z');
    let s: Stack;
    beforeAll(async () => {
      s = await startStack({ backend, start: REFUSED_AT, emulator: { portals: [{ timeZone: 'Europe/Kaliningrad' }, { timeZone: 'Asia/Vladivostok' }] } });
    }, 120_000);
    afterAll(() => s?.close());

    async function refuse(i: number, title: string): Promise<{ recallDate: string; due: number }> {
      const { user, portal } = s.portals[i];
      const { categories } = (await user.call<{ categories: Row[] }>('crm.category.list', { entityTypeId: 2 })).result;
      const repair = Number(categories.find((c) => c.name === 'Ремонт авто')?.id);
      const id = Number((await user.call('crm.deal.add', { fields: { TITLE: title, CATEGORY_ID: repair, ASSIGNED_BY_ID: MANAGER, UF_CRM_AS_REFUSAL: 'Дорого' } })).result);
      await user.call('crm.deal.update', { id, fields: { STAGE_ID: `C${repair}:LOSE` } });
      await s.settle();
      const [episode] = (await s.service.store.listRecalls({ memberId: portal.memberId })).filter((e) => e.dealId === String(id));
      const todo = portal.control.collection('activities').find((a) => a.OWNER_ID === id && a.SUBJECT === 'Повторный звонок клиенту');
      return { recallDate: episode.recallDate, due: Number(todo?.DEADLINE) };
    }

    it('each portal\'s settings start in its own zone, read from the portal', async () => {
      const zones = await Promise.all(s.portals.map(async ({ portal }) => (await s.service.store.getPortal(portal.memberId))?.settings.timeZone));
      expect(zones).toEqual(['Europe/Kaliningrad', 'Asia/Vladivostok']);
    });

    it('a deal refused at the same instant on both gets each portal\'s own re-call date, due 10:00 local', async () => {
      expect(await refuse(0, 'Отказ в Калининграде')).toEqual({ recallDate: '2027-02-01', due: Date.parse('2027-02-01T10:00:00+02:00') });
      expect(await refuse(1, 'Отказ во Владивостоке')).toEqual({ recallDate: '2027-02-15', due: Date.parse('2027-02-15T10:00:00+10:00') });
    });

    it('changing one portal\'s re-call hour changes only that portal', async () => {
      const vladivostok = s.portals[1].portal.memberId;
      const stored = await s.service.store.getPortal(vladivostok);
      await s.service.store.saveSettings(vladivostok, { ...stored!.settings, recallHour: 9 });
      expect((await refuse(0, 'Калининград, после смены часа')).due).toBe(Date.parse('2027-02-01T10:00:00+02:00'));
      expect((await refuse(1, 'Владивосток, после смены часа')).due).toBe(Date.parse('2027-02-15T09:00:00+10:00'));
    });
  });
});
