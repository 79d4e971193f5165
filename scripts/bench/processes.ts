// The service beyond one machine: N `autosalon serve` processes on one PostgreSQL database (started for the run the way
// the tests start theirs: Debian's server in a temporary directory, on 127.0.0.1), against one process on SQLite.
//  - ingestion: Bitrix24 events per second the processes accept together and their answer latency (p50, p99; worker
//    off, so it is the answer path alone: parse, check the token, queue durably, answer), 1, 2 and 4 processes;
//  - processing: a burst of new leads on ten portals behind a load balancer (events reach every process), the time until
//    every lead's effects exist, 1, 2 and 4 processes;
//  - the shared REST budget: 4 processes, 20 portals on plan pro (a burst of 50, then 2 requests/s each) with the
//    emulator's limits on and batching off (one request per call, so every portal spends far beyond its burst), each
//    process serving 2 portals at a time so that portals move between processes: the highest level each portal's bucket
//    reached and the 503s (must be 0).
// Every server listens on 127.0.0.1; every load is bounded in time or in events.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import qs from 'qs';
import { startEmulator, type EmulatedPortal } from '../../src/emulator/index.js';
import { planRateLimit } from '../../src/emulator/limits.js';
import { defaultSettings } from '../../src/service/settings.js';
import { PostgresStore } from '../../src/service/store/postgres.js';
import { SqliteStore } from '../../src/service/store/sqlite.js';
import type { PortalRecord, ServiceStore } from '../../src/service/store/types.js';
import { startBalancer } from '../../test/helpers/balancer.js';
import { BIN } from '../../test/helpers/cli.js';
import { createTestDatabase, startTestPostgres, type TestPostgres } from '../../test/helpers/postgres.js';
import { sleep, until } from './wait.js';
import { autocannon } from './autocannon.js';

export type Backend = 'sqlite' | 'postgres';
const KEY = Buffer.alloc(32, 7);
const MANAGER = 3;
const DIRECTOR = 1;

interface Served { child: ChildProcess; url: string; dir: string }

/** A place for the service's state: a new PostgreSQL database on the run's server, or an SQLite file. */
async function statePlace(backend: Backend, server: TestPostgres | undefined, dir: string): Promise<{ env: Record<string, string>; open: () => Promise<ServiceStore> }> {
  if (backend === 'postgres') {
    const url = await createTestDatabase(server!.url);
    return { env: { AUTOSALON_DATABASE_URL: url }, open: () => PostgresStore.open(url, { keys: { current: KEY, previous: [] } }) };
  }
  const file = join(dir, 'service.sqlite');
  return { env: { AUTOSALON_DB: file }, open: () => SqliteStore.open(file, { keys: { current: KEY, previous: [] } }) };
}

async function serve(env: Record<string, string>): Promise<Served> {
  const dir = mkdtempSync(join(tmpdir(), 'autosalon-bench-process-'));
  const child = spawn(process.execPath, [BIN, 'serve', '--port', '0'], {
    env: {
      ...process.env, AUTOSALON_STATE_DIR: dir, AUTOSALON_SECRET_KEY: KEY.toString('base64'), AUTOSALON_LOG_LEVEL: 'error', AUTOSALON_SWEEP_INTERVAL_SECONDS: '0',
      AUTOSALON_WORKER_POLL_MS: '100', B24_APP_CLIENT_ID: 'bench', B24_APP_CLIENT_SECRET: 'bench', ...env,
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const first = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', resolve);
    child.once('exit', (code) => reject(new Error(`autosalon serve exited with ${code} before it listened`)));
  });
  return { child, url: (JSON.parse(first) as { url: string }).url, dir };
}

async function stopAll(processes: Served[]): Promise<void> {
  await Promise.all(processes.map((p) => new Promise<void>((resolve) => {
    if (p.child.exitCode !== null || p.child.signalCode !== null) return resolve();
    p.child.once('exit', () => resolve());
    p.child.kill('SIGTERM');
  })));
  for (const p of processes) rmSync(p.dir, { recursive: true, force: true });
}

// ---- ingestion

export interface IngestionResult {
  backend: Backend;
  processes: number;
  eventsPerSecond: number;
  p50Ms: number;
  /** The highest p99 of the processes' answers. */
  p99Ms: number;
  accepted: number;
  queued: number;
  rejected: number;
}

export async function benchIngestion(backend: Backend, processes: number, server?: TestPostgres, durationSeconds = 10): Promise<IngestionResult> {
  const dir = mkdtempSync(join(tmpdir(), 'autosalon-bench-ingest-'));
  const place = await statePlace(backend, server, dir);
  const applicationToken = 'bench-application-token';
  const portal: PortalRecord = {
    memberId: 'bench-member', domain: 'bench.bitrix24.ru', clientEndpoint: 'https://bench.bitrix24.ru/rest/', accessToken: '', refreshToken: '',
    expires: 0, scope: 'crm', userId: 1, applicationToken, lang: 'ru', tier: 'crm_plus', plan: 'pro', installedAt: Date.now(), installState: 'installed',
    settings: defaultSettings(),
  };
  const seed = await place.open();
  await seed.savePortal(portal);
  await seed.close();
  // The worker waits an hour: the answer path alone is measured.
  const running: Served[] = [];
  try {
    for (let i = 0; i < processes; i++) running.push(await serve({ ...place.env, AUTOSALON_WORKER_START_DELAY_MS: '3600000' }));
    let id = 0;
    const connections = 40;
    const results = await Promise.all(running.map((p) => autocannon({
      url: p.url, connections: Math.ceil(connections / processes), duration: durationSeconds,
      requests: [{
        method: 'POST', path: '/events', headers: { 'content-type': 'application/x-www-form-urlencoded' },
        setupRequest: (req) => ({
          ...req,
          body: qs.stringify({
            event: id % 3 === 0 ? 'ONCRMLEADADD' : 'ONCRMDEALUPDATE', event_handler_id: '11', data: { FIELDS: { ID: String(++id) } }, ts: String(Math.floor(Date.now() / 1000)),
            auth: { domain: portal.domain, member_id: portal.memberId, application_token: applicationToken, client_endpoint: portal.clientEndpoint },
          }),
        }),
      }],
    })));
    const store = await place.open();
    const queued = (await store.queueStats(Date.now())).queued;
    await store.close();
    const total = results.reduce((sum, r) => sum + r.requests.total, 0);
    const duration = Math.max(...results.map((r) => r.duration));
    return {
      backend, processes, eventsPerSecond: Math.round(total / duration), p50Ms: Math.max(...results.map((r) => r.latency.p50)), p99Ms: Math.max(...results.map((r) => r.latency.p99)),
      accepted: results.reduce((sum, r) => sum + r.requests.total - r.non2xx, 0), queued, rejected: results.reduce((sum, r) => sum + r.non2xx + r.errors + r.timeouts, 0),
    };
  } finally {
    await stopAll(running);
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---- processing and the shared budget: processes behind a load balancer, portals of the emulator

export interface FleetResult {
  backend: Backend;
  processes: number;
  portals: number;
  /** Lead adds per portal. */
  leads: number;
  batching: boolean;
  /** ms from the burst to the last effect. */
  ms: number;
  requests: number;
  rejected503: number;
  /** The highest level each portal's request bucket reached (sampled), and its burst. */
  highestBucket: number;
  burst: number;
  /** Effects missing or present more than once (must be 0). */
  notExactlyOnce: number;
  /** Events the load balancer gave each process. */
  eventsPerProcess: number[];
}

export async function benchFleet(options: {
  certDir: string; backend: Backend; processes: number; portals: number; leads: number; limits: boolean; batching: boolean; concurrency?: number; server?: TestPostgres;
}): Promise<FleetResult> {
  const dir = mkdtempSync(join(tmpdir(), 'autosalon-bench-fleet-'));
  const emulator = await startEmulator({ certDir: options.certDir, portals: options.portals, latencyMs: 20, limits: options.limits });
  const registered = await emulator.portals[0].control.installApp({});
  const balancer = await startBalancer();
  const place = await statePlace(options.backend, options.server, dir);
  const running: Served[] = [];
  let sampler: NodeJS.Timeout | undefined;
  const store = { current: undefined as ServiceStore | undefined };
  try {
    for (let i = 0; i < options.processes; i++) {
      running.push(await serve({
        ...place.env, B24_APP_CLIENT_ID: registered.clientId, B24_APP_CLIENT_SECRET: registered.clientSecret, B24_OAUTH_URL: emulator.oauthUrl,
        AUTOSALON_PUBLIC_URL: balancer.url, AUTOSALON_SUPERVISOR_USER_ID: String(DIRECTOR), AUTOSALON_LEAD_MANAGER_IDS: String(DIRECTOR),
        AUTOSALON_REST_BATCHING: options.batching ? 'on' : 'off', ...(options.concurrency ? { AUTOSALON_WORKER_CONCURRENCY: String(options.concurrency) } : {}),
      }));
    }
    balancer.targets.push(...running.map((p) => p.url));
    store.current = await place.open();
    const portals = emulator.portals;
    for (const p of portals) await p.control.installApp({ clientId: registered.clientId, handlerUrl: `${balancer.url}/install` });
    await until('fleet bench: every template install', async () => {
      const states = await store.current!.listPortals();
      return states.length === portals.length && states.every((s) => s.installState === 'installed') ? true : undefined;
    }, 600_000, 200);
    if (options.limits) await until('fleet bench: drained buckets', () => (portals.every((p) => p.portal.bucket.counter === 0) ? true : undefined), 120_000, 200);
    await sleep(1_000);
    for (const p of portals) p.control.resetStats();
    balancer.served.clear();
    let highestBucket = 0;
    sampler = setInterval(() => {
      for (const p of portals) highestBucket = Math.max(highestBucket, p.portal.bucket.counter);
    }, 20);
    const started = Date.now();
    const expectations = portals.map((p, i) => leadBurst(p, options.leads, `П${i + 1}`));
    await until('fleet bench: every lead\'s effects', () => (expectations.every((e) => e().every((n) => n >= 1)) ? true : undefined), 900_000, 50);
    const ms = Date.now() - started;
    await until('fleet bench: an idle queue', async () => {
      const stats = await store.current!.queueStats(Date.now());
      return stats.due + stats.running === 0 ? true : undefined;
    }, 300_000, 100);
    clearInterval(sampler);
    const stats = portals.map((p) => p.control.stats());
    return {
      backend: options.backend, processes: options.processes, portals: portals.length, leads: options.leads, batching: options.batching, ms,
      requests: stats.reduce((sum, s) => sum + s.httpRequests, 0), rejected503: stats.reduce((sum, s) => sum + s.rejected503, 0),
      highestBucket, burst: planRateLimit('pro').burst, notExactlyOnce: expectations.flatMap((e) => e()).filter((n) => n !== 1).length,
      eventsPerProcess: running.map((p) => balancer.served.get(p.url) ?? 0),
    };
  } finally {
    clearInterval(sampler);
    await store.current?.close();
    await stopAll(running);
    await balancer.close();
    await emulator.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** New web leads made in the portal at once: each notifies its manager and the lead manager and fires the inbound trigger. */
function leadBurst(p: EmulatedPortal, count: number, tag: string): () => number[] {
  const leads: { id: number; title: string }[] = [];
  for (let i = 0; i < count; i++) {
    const title = `${tag} заявка ${i}`;
    leads.push({ id: p.control.addRecord('lead', { TITLE: title, SOURCE_ID: 'WEB', ASSIGNED_BY_ID: MANAGER }), title });
  }
  return () => {
    const notes = new Map<string, number>();
    for (const n of p.control.collection('notifications')) notes.set(`${n.userId}|${n.message}`, (notes.get(`${n.userId}|${n.message}`) ?? 0) + 1);
    const fired = new Map<number, number>();
    for (const t of p.control.collection('triggersFired')) if (t.code === 'autosalon_inbound') fired.set(t.ownerId, (fired.get(t.ownerId) ?? 0) + 1);
    return leads.flatMap(({ id, title }) => [notes.get(`${MANAGER}|Новый лид: ${title}`) ?? 0, notes.get(`${DIRECTOR}|Новый лид: ${title}`) ?? 0, fired.get(id) ?? 0]);
  };
}

// ---- the run

export interface ProcessesBenchResult { ingestion: IngestionResult[]; processing: FleetResult[]; budget: FleetResult }

export async function benchProcesses(options: { certDir: string }): Promise<ProcessesBenchResult> {
  const server = await startTestPostgres({ durable: true });
  try {
    const ingestion = [await benchIngestion('sqlite', 1)];
    for (const n of [1, 2, 4]) ingestion.push(await benchIngestion('postgres', n, server));
    const processing = [await benchFleet({ certDir: options.certDir, backend: 'sqlite', processes: 1, portals: 10, leads: 100, limits: true, batching: true })];
    for (const n of [1, 2, 4]) processing.push(await benchFleet({ certDir: options.certDir, backend: 'postgres', processes: n, portals: 10, leads: 100, limits: true, batching: true, server }));
    const budget = await benchFleet({ certDir: options.certDir, backend: 'postgres', processes: 4, portals: 20, leads: 40, limits: true, batching: false, concurrency: 2, server });
    return { ingestion, processing, budget };
  } finally {
    await server.stop();
  }
}

export function processesTargets(r: ProcessesBenchResult): { ok: boolean; text: string }[] {
  const all = [...r.processing, r.budget];
  return [
    { ok: r.ingestion.every((i) => i.queued >= i.accepted), text: 'every event answered 200 is in the durable queue, on each backend and with every number of processes' },
    { ok: all.every((f) => f.notExactlyOnce === 0), text: 'every lead\'s effects exist exactly once in every run' },
    { ok: r.budget.rejected503 === 0 && r.budget.highestBucket <= r.budget.burst + 1,
      text: `4 processes, 20 portals, batching off: no portal above its budget (highest bucket level ${r.budget.highestBucket.toFixed(1)} of ${r.budget.burst}; ${r.budget.rejected503} × 503)` },
    { ok: all.every((f) => f.rejected503 === 0), text: `0 × 503 in every run (${all.map((f) => f.rejected503).join(', ')})` },
  ];
}

export function renderProcessesBench(r: ProcessesBenchResult): string {
  const name = (backend: Backend, n: number) => `${backend === 'postgres' ? 'PostgreSQL' : 'SQLite'}, ${n} process${n > 1 ? 'es' : ''}`.padEnd(24);
  const lines = [
    'Beyond one machine — service processes on one PostgreSQL database (a local server, durable commits), against one process on SQLite:',
    '  event ingestion (autocannon, 40 connections shared by the processes, 10 s, worker off)',
    '    state                      events/s   p50 ms   p99 ms   accepted   queued',
    ...r.ingestion.map((i) => `    ${name(i.backend, i.processes)}  ${String(i.eventsPerSecond).padStart(8)}  ${String(i.p50Ms).padStart(7)}  ${String(i.p99Ms).padStart(7)}  ${String(i.accepted).padStart(9)}  ${String(i.queued).padStart(7)}`),
    `  processing: ${r.processing[0].leads} new leads on each of ${r.processing[0].portals} portals at once (plan pro limits, 20 ms latency), events through a load balancer`,
    '    state                      every effect after   events/s   requests   events per process   503s',
    ...r.processing.map((f) => `    ${name(f.backend, f.processes)}  ${`${(f.ms / 1000).toFixed(1)} s`.padStart(18)}  ${String(Math.round((f.portals * f.leads) / (f.ms / 1000))).padStart(9)}`
      + `  ${String(f.requests).padStart(9)}  ${f.eventsPerProcess.join('/').padStart(19)}  ${String(f.rejected503).padStart(5)}`),
    `  the shared REST budget: ${r.budget.processes} processes serving 2 portals at a time each, ${r.budget.portals} portals on plan pro, ${r.budget.leads} leads each, batching off`,
    `    ${r.budget.requests} requests in ${(r.budget.ms / 1000).toFixed(1)} s (${(r.budget.requests / r.budget.portals).toFixed(0)} per portal, far beyond the burst of ${r.budget.burst});`
      + ` the highest level of a portal's bucket ${r.budget.highestBucket.toFixed(1)} (a portal refuses only while its level is above ${r.budget.burst});`
      + ` ${r.budget.rejected503} × 503; events per process ${r.budget.eventsPerProcess.join('/')}`,
  ];
  for (const t of processesTargets(r)) lines.push(`  [${t.ok ? 'ok' : 'FAIL'}] ${t.text}`);
  return lines.join('\n');
}
