// Crash safety of the automation service. A real `autosalon serve` process answers an event and is killed before
// its worker ran: after a restart on the same database the action happens exactly once. And a side effect done
// just before a crash (its key left "started") is looked up on the retry, not repeated.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { InstalledApp, RunningEmulator } from '../../src/emulator/index.js';
import { PortalClient } from '../../src/portal/client.js';
import { SqliteStore } from '../../src/service/store/sqlite.js';
import { BIN } from '../helpers/cli.js';
import { startTestEmulator } from '../helpers/emulator.js';
import { startStack } from '../service/harness.js';

const MANAGER = 3;

describe('autosalon serve killed right after answering an event', () => {
  let emulator: RunningEmulator;
  let registered: InstalledApp;
  let dir: string;
  /** The service's port: the event bindings registered at install point at it. */
  let servicePort = 0;
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    emulator = await startTestEmulator({ limits: false });
    registered = await emulator.control.installApp({});
    dir = mkdtempSync(join(tmpdir(), 'autosalon-serve-crash-'));
  });

  afterAll(async () => {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
    await emulator.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function serve(port: number, workerDelayMs: number): Promise<{ child: ChildProcess; url: string }> {
    const child = spawn(process.execPath, [BIN, 'serve', '--port', String(port), '--db', join(dir, 'service.sqlite')], {
      env: {
        ...process.env,
        B24_APP_CLIENT_ID: registered.clientId, B24_APP_CLIENT_SECRET: registered.clientSecret, B24_OAUTH_URL: emulator.oauthUrl,
        AUTOSALON_STATE_DIR: dir, AUTOSALON_SWEEP_INTERVAL_SECONDS: '0', AUTOSALON_LOG_LEVEL: process.env.AUTOSALON_TEST_LOG ? 'debug' : 'error',
        AUTOSALON_WORKER_START_DELAY_MS: String(workerDelayMs), AUTOSALON_WORKER_POLL_MS: '50', AUTOSALON_SUPERVISOR_USER_ID: '1',
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    children.push(child);
    const first = await new Promise<string>((resolve, reject) => {
      createInterface({ input: child.stdout! }).once('line', resolve);
      child.once('exit', (code) => reject(new Error(`autosalon serve exited with ${code} before it listened`)));
    });
    return { child, url: (JSON.parse(first) as { url: string }).url };
  }

  async function until<T>(what: string, read: () => T | undefined | Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = await read();
      if (value) return value;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  const storeState = async () => {
    const store = await SqliteStore.open(join(dir, 'service.sqlite'), { readonly: true });
    try {
      const [portal] = await store.listPortals();
      return { portal, queue: await store.queueStats(Date.now()) };
    } finally {
      await store.close();
    }
  };

  const exited = (child: ChildProcess) => new Promise((resolve) => (child.exitCode !== null ? resolve(child.exitCode) : child.once('exit', resolve)));

  async function stop(running: { child: ChildProcess }): Promise<void> {
    running.child.kill('SIGTERM');
    await exited(running.child);
  }

  it('does the action exactly once after the restart', async () => {
    const first = await serve(0, 0);
    servicePort = Number(new URL(first.url).port);
    await emulator.control.installApp({ clientId: registered.clientId, handlerUrl: `${first.url}/install` });
    await until('the template install', async () => {
      const { portal, queue } = await storeState();
      return portal?.installState === 'installed' && queue.due === 0 && queue.running === 0;
    }, 60_000);
    first.child.kill('SIGTERM');
    await exited(first.child);

    // This one answers and queues, but its worker would start only in ten minutes.
    const doomed = await serve(servicePort, 600_000);
    const user = PortalClient.fromWebhook(emulator.webhookUrl);
    const { result: leadId } = await user.call<number>('crm.lead.add', { fields: { TITLE: 'Заявка перед сбоем', SOURCE_ID: 'WEB', ASSIGNED_BY_ID: MANAGER } });
    await emulator.control.waitForDeliveries();
    const delivery = emulator.control.deliveries({ event: 'ONCRMLEADADD' }).at(-1);
    expect(delivery).toMatchObject({ status: 'delivered', httpStatus: 200 });
    expect((await storeState()).queue.due).toBe(1);
    doomed.child.kill('SIGKILL');
    await exited(doomed.child);
    const notes = () => emulator.control.collection('notifications').filter((n) => n.message === 'Новый лид: Заявка перед сбоем');
    expect(notes()).toHaveLength(0);

    const again = await serve(servicePort, 0);
    await until('the queued event to be processed', async () => {
      const { queue } = await storeState();
      return queue.due === 0 && queue.running === 0 && notes().length > 0;
    });
    // The lead's move to the first status comes back as an event; it must change nothing more.
    await emulator.control.waitForDeliveries();
    await until('the follow-up events to be processed', async () => (await storeState()).queue.due === 0);
    expect(notes().map((n) => n.userId)).toEqual([MANAGER]);
    expect((await user.call<{ STATUS_ID: string }>('crm.lead.get', { id: leadId })).result.STATUS_ID).toBe('NEW');
    await stop(again);
  }, 120_000);

  it('killed in the middle of a batch (the portal ran it, its answer not back yet): every effect exactly once after the restart', async () => {
    const repair = emulator.control.collection('dealCategories').find((c) => c.name === 'Ремонт авто')!.id;
    // The worker starts once every event is queued, so the twelve jobs run together and share their requests.
    const doomed = await serve(servicePort, 1_500);
    const titles = Array.from({ length: 12 }, (_, i) => `Импорт перед сбоем ${i}`);
    const ids = titles.map((title) => emulator.control.addRecord('deal', { TITLE: title, CATEGORY_ID: repair, ASSIGNED_BY_ID: MANAGER }));
    await emulator.control.waitForDeliveries();
    // Every answer comes back 1.5 s after the portal did the work: the kill lands between the two.
    emulator.control.setFaults({ latencySpikeRate: 1, latencySpikeMs: 1_500 });
    const tasksOf = (id: number) => emulator.control.collection('tasks').filter((t) => (t.fields.UF_CRM_TASK as string[] | undefined)?.includes(`D_${id}`)).length;
    const notesOf = (title: string) => emulator.control.collection('notifications').filter((n) => n.message === `По сделке «${title}» поставлена задача «Получить полную информацию».`).length;
    await until('the batch of tasks to run on the portal', () => (ids.some((id) => tasksOf(id) > 0) ? true : undefined), 30_000);
    doomed.child.kill('SIGKILL');
    await exited(doomed.child);
    emulator.control.setFaults({});
    const atKill = { tasks: ids.filter((id) => tasksOf(id) > 0).length, notes: titles.filter((t) => notesOf(t) > 0).length };
    // One batch carried the tasks, and the service heard nothing back before it died.
    expect(atKill).toEqual({ tasks: 12, notes: 0 });

    const restarted = await serve(servicePort, 0);
    await until('every notification after the restart', () => (titles.every((t) => notesOf(t) > 0) ? true : undefined), 30_000);
    await until('an idle queue', async () => {
      const { queue } = await storeState();
      return queue.due === 0 && queue.running === 0 ? true : undefined;
    });
    expect(ids.map(tasksOf)).toEqual(ids.map(() => 1));
    expect(titles.map(notesOf)).toEqual(titles.map(() => 1));
    await stop(restarted);
  }, 120_000);
});

describe('a side effect done just before a crash', () => {
  it('is looked up on the retry: no second task, to-do or re-call', async () => {
    const s = await startStack();
    try {
      const [list] = [(await s.user.call<{ categories: { id: number; name: string }[] }>('crm.category.list', { entityTypeId: 2 })).result.categories];
      const repair = list.find((c) => c.name === 'Ремонт авто')!.id;
      const { result: dealId } = await s.user.call<number>('crm.deal.add', { fields: { TITLE: 'Сбой после задачи', CATEGORY_ID: repair, ASSIGNED_BY_ID: MANAGER } });
      await s.settle();
      await s.user.call('crm.deal.update', { id: dealId, fields: { STAGE_ID: `C${repair}:LOSE` } });
      await s.settle();
      const count = () => ({
        tasks: s.emulator.control.collection('tasks').filter((t) => (t.fields.UF_CRM_TASK as string[]).includes(`D_${dealId}`)).length,
        todos: s.emulator.control.collection('activities').filter((a) => a.OWNER_TYPE_ID === 2 && a.OWNER_ID === Number(dealId)).length,
        // A notification has no look-up: its TAG makes the repeat replace the first one.
        asked: s.emulator.control.collection('notifications').filter((n) => n.message.includes('«Сбой после задачи» на стадии')).length,
        workflows: s.emulator.control.collection('workflows').filter((w) => w.documentId[2] === `DEAL_${dealId}`).length,
      });
      const before = count();
      // The refusal business process asks for the reason; the re-call is the one to-do.
      expect(before).toEqual({ tasks: 1, todos: 1, asked: 0, workflows: 1 });

      // As if the process died after each REST call and before recording it: every key back to "started",
      // the item never observed, the re-call's activity not recorded.
      const crashAfterEffects = async () => {
        await s.service.close();
        const db = new Database(join(s.dir, 'service.sqlite'));
        db.prepare(`UPDATE actions SET status = 'started', result = NULL WHERE key LIKE ?`).run(`%|deal|${dealId}|%`);
        db.prepare('DELETE FROM observations WHERE item_id = ?').run(String(dealId));
        db.prepare('UPDATE episodes SET activity_id = NULL WHERE deal_id = ?').run(String(dealId));
        db.close();
        await s.restart();
        await s.service.store.enqueue({ memberId: s.emulator.memberId, kind: 'check', runAt: s.now(), payload: { entity: 'deal', id: String(dealId) } });
        await s.settle();
      };
      await crashAfterEffects();
      // The process start is looked up among the running workflows (bizproc.workflow.instances), not repeated.
      expect(count()).toEqual(before);
      const [episode] = (await s.service.store.listRecalls({})).filter((e) => e.dealId === String(dealId));
      expect(episode.activityId).toBeGreaterThan(0);

      // A portal whose list of running workflows cannot be read: still no second start; the reason is asked the plain way.
      const instances = s.emulator.portal.registry.get('bizproc.workflow.instances')!;
      s.emulator.portal.registry.delete('bizproc.workflow.instances');
      try {
        await crashAfterEffects();
      } finally {
        s.emulator.portal.registry.set('bizproc.workflow.instances', instances);
      }
      expect(count()).toEqual({ tasks: 1, todos: 2, asked: 1, workflows: 1 });
    } finally {
      await s.close();
    }
  }, 120_000);

  it('a conversion repeated after a crash finds the contact and deal it made (by LEAD_ID) and makes none again', async () => {
    const s = await startStack();
    try {
      const { result: leadId } = await s.user.call<number>('crm.lead.add', {
        fields: { TITLE: 'Конверсия и сбой', NAME: 'Олег', PHONE: [{ VALUE: '+79000000001', VALUE_TYPE: 'WORK' }], ASSIGNED_BY_ID: MANAGER },
      });
      await s.settle();
      await s.user.call('crm.lead.update', { id: leadId, fields: { STATUS_ID: 'CONVERTED' } });
      await s.settle();
      const linked = async () => ({
        deals: (await s.user.call<unknown[]>('crm.deal.list', { filter: { LEAD_ID: leadId } })).result.length,
        contacts: (await s.user.call<unknown[]>('crm.contact.list', { filter: { LEAD_ID: leadId } })).result.length,
      });
      expect(await linked()).toEqual({ deals: 1, contacts: 1 });
      await s.service.close();
      const db = new Database(join(s.dir, 'service.sqlite'));
      db.prepare(`UPDATE actions SET status = 'started', result = NULL WHERE key LIKE ?`).run(`%|lead|${leadId}|%`);
      db.prepare('DELETE FROM observations WHERE item_id = ?').run(String(leadId));
      db.close();
      await s.restart();
      await s.service.store.enqueue({ memberId: s.emulator.memberId, kind: 'check', runAt: s.now(), payload: { entity: 'lead', id: String(leadId) } });
      await s.settle();
      expect(await linked()).toEqual({ deals: 1, contacts: 1 });
    } finally {
      await s.close();
    }
  }, 120_000);
});
