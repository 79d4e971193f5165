// Two `autosalon serve` processes on one PostgreSQL database behind a load balancer, as the service is deployed
// beyond one machine: each has its own state directory (no shared disk), events of two portals arrive at both, and
// one process is killed (kill -9) in the middle of its jobs. The other takes them over: every lead gets its effects,
// none twice.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { InstalledApp, RunningEmulator } from '../../src/emulator/index.js';
import { LOCK_SPACE } from '../../src/service/store/migrate.js';
import { lockKey, PostgresStore } from '../../src/service/store/postgres.js';
import { startBalancer, type Balancer } from '../helpers/balancer.js';
import { BIN } from '../helpers/cli.js';
import { startTestEmulator } from '../helpers/emulator.js';
import { TEST_KEY, testKeys } from '../helpers/keys.js';
import { createTestDatabase } from '../helpers/postgres.js';

const MANAGER = 3;
const DIRECTOR = 1;
const LEADS_PER_PORTAL = 15;

interface Serving { child: ChildProcess; url: string; dir: string }

describe('two service processes on one PostgreSQL database', () => {
  let emulator: RunningEmulator;
  let registered: InstalledApp;
  let balancer: Balancer;
  let databaseUrl: string;
  let store: PostgresStore;
  const processes: Serving[] = [];

  beforeAll(async () => {
    emulator = await startTestEmulator({ portals: 2, limits: false });
    registered = await emulator.control.installApp({});
    balancer = await startBalancer();
    databaseUrl = await createTestDatabase();
  });

  afterAll(async () => {
    for (const p of processes) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
    await store?.close();
    await balancer.close();
    await emulator.close();
    for (const p of processes) rmSync(p.dir, { recursive: true, force: true });
  });

  async function serve(): Promise<Serving> {
    const dir = mkdtempSync(join(tmpdir(), 'autosalon-process-'));
    const child = spawn(process.execPath, [BIN, 'serve', '--port', '0'], {
      env: {
        ...process.env,
        B24_APP_CLIENT_ID: registered.clientId, B24_APP_CLIENT_SECRET: registered.clientSecret, B24_OAUTH_URL: emulator.oauthUrl,
        AUTOSALON_DATABASE_URL: databaseUrl, AUTOSALON_SECRET_KEY: TEST_KEY.toString('base64'), AUTOSALON_PUBLIC_URL: balancer.url,
        AUTOSALON_STATE_DIR: dir, AUTOSALON_SWEEP_INTERVAL_SECONDS: '0', AUTOSALON_WORKER_POLL_MS: '50',
        AUTOSALON_SUPERVISOR_USER_ID: String(DIRECTOR), AUTOSALON_LEAD_MANAGER_IDS: String(DIRECTOR),
        AUTOSALON_LOG_LEVEL: process.env.AUTOSALON_TEST_LOG ? 'debug' : 'error',
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const first = await new Promise<string>((resolve, reject) => {
      createInterface({ input: child.stdout! }).once('line', resolve);
      child.once('exit', (code) => reject(new Error(`autosalon serve exited with ${code} before it listened`)));
    });
    const serving = { child, url: (JSON.parse(first) as { url: string }).url, dir };
    processes.push(serving);
    return serving;
  }

  async function until<T>(what: string, read: () => T | undefined | Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = await read();
      if (value) return value;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Which process serves which portal now: the pid in the name of the connection holding the portal's lock. */
  async function servers(memberIds: string[]): Promise<Map<string, number>> {
    const client = new pg.Client({ connectionString: databaseUrl });
    await client.connect();
    try {
      const { rows } = await client.query<{ name: string; key: number }>(`SELECT a.application_name AS name, l.objid::bigint AS key FROM pg_locks l
        JOIN pg_stat_activity a ON a.pid = l.pid WHERE l.locktype = 'advisory' AND l.classid = $1 AND l.granted`, [LOCK_SPACE.serve]);
      const out = new Map<string, number>();
      for (const memberId of memberIds) {
        const row = rows.find((r) => Number(r.key) === lockKey(memberId) >>> 0);
        const pid = Number(/autosalon-locks (\d+)/.exec(row?.name ?? '')?.[1]);
        if (pid > 0) out.set(memberId, pid);
      }
      return out;
    } finally {
      await client.end();
    }
  }

  it('kill -9 of one in the middle of its jobs: the other finishes them, nothing lost or done twice', async () => {
    const [a, b] = [await serve(), await serve()];
    balancer.targets.push(a.url, b.url);
    store = await PostgresStore.open(databaseUrl, { keys: testKeys(), migrate: false });
    for (const p of emulator.portals) {
      await p.control.installApp({ clientId: registered.clientId, handlerUrl: `${balancer.url}/install` });
    }
    await until('both template installs', async () => {
      const portals = await store.listPortals();
      return portals.length === 2 && portals.every((p) => p.installState === 'installed') ? true : undefined;
    });

    // Every answer of the portals takes a while: the jobs are still running when one process dies.
    for (const p of emulator.portals) p.control.setFaults({ latencySpikeRate: 1, latencySpikeMs: 250 });
    const titles = emulator.portals.map((p, i) => Array.from({ length: LEADS_PER_PORTAL }, (_, n) => {
      const title = `Портал ${i + 1} заявка ${n}`;
      p.control.addRecord('lead', { TITLE: title, SOURCE_ID: 'WEB', ASSIGNED_BY_ID: MANAGER });
      return title;
    }));
    for (const p of emulator.portals) await p.control.waitForDeliveries();
    // The events arrived at both processes.
    expect(balancer.served.get(a.url)).toBeGreaterThan(2);
    expect(balancer.served.get(b.url)).toBeGreaterThan(2);

    const notes = (p: number, user: number, title: string) =>
      emulator.portals[p].control.collection('notifications').filter((n) => n.userId === user && n.message === `Новый лид: ${title}`).length;
    const fired = (p: number) => emulator.portals[p].control.collection('triggersFired').filter((t) => t.code === 'autosalon_inbound').length;
    /** Each lead's three effects: its manager and the lead manager notified, the inbound trigger executed. */
    const effects = () => titles.reduce((sum, list, p) => sum + fired(p) + list.filter((t) => notes(p, MANAGER, t) > 0).length + list.filter((t) => notes(p, DIRECTOR, t) > 0).length, 0);
    const all = 3 * 2 * LEADS_PER_PORTAL;
    const memberIds = emulator.portals.map((p) => p.memberId);
    // Mid-job: some effects exist, and a process serves a portal whose jobs are running.
    const { victimPid, orphaned } = await until('a process in the middle of its jobs', async () => {
      const done = effects();
      if (done === 0 || done === all) return undefined;
      const running = await store.listJobs({ status: 'running' });
      for (const [memberId, pid] of await servers(memberIds)) {
        const mine = running.filter((j) => j.memberId === memberId);
        if (mine.length) return { victimPid: pid, orphaned: mine };
      }
      return undefined;
    });
    const victim = [a, b].find((p) => p.child.pid === victimPid);
    if (!victim) throw new Error(`the process serving a portal (pid ${victimPid}) is not one this test started`);
    const survivor = victim === a ? b : a;
    victim.child.kill('SIGKILL');
    await new Promise((resolve) => victim.child.once('exit', resolve));
    for (const p of emulator.portals) p.control.setFaults({});

    await until('every lead\'s effects', () => (effects() === all ? true : undefined), 90_000);
    await until('an idle queue', async () => {
      const stats = await store.queueStats(Date.now());
      return stats.due === 0 && stats.running === 0 ? true : undefined;
    }, 60_000);
    // Each lead notified its manager and the lead manager once, and executed the inbound trigger once.
    for (const [p, list] of titles.entries()) {
      expect(list.map((t) => [notes(p, MANAGER, t), notes(p, DIRECTOR, t)])).toEqual(list.map(() => [1, 1]));
      expect(fired(p)).toBe(LEADS_PER_PORTAL);
    }
    expect(await store.listJobs({ status: 'failed' })).toEqual([]);
    // The jobs the killed process was running were taken over and finished by the other one.
    const after = await store.listJobs();
    for (const job of orphaned) expect(after.find((j) => j.id === job.id)).toMatchObject({ status: 'done', attempts: 2 });
    expect(survivor.child.exitCode).toBeNull();
  }, 180_000);
});
