// The ServiceStore contract, run against both backends (SQLite and a real PostgreSQL server), then what is particular
// to each: SQLite's file, WAL and the adoption of its earlier schema versions; PostgreSQL's migrations, several
// processes on one database (the portal served by one of them, jobs of a dead one taken over, the shared REST budget).
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LOCK_SPACE } from '../../src/service/store/migrate.js';
import { PostgresStore } from '../../src/service/store/postgres.js';
import { SqliteStore } from '../../src/service/store/sqlite.js';
import type { NewEpisode, PortalRecord, ServiceStore } from '../../src/service/store/types.js';
import { defaultSettings } from '../../src/service/settings.js';
import { testKeys } from '../helpers/keys.js';
import { createTestDatabase } from '../helpers/postgres.js';
import { BACKENDS, storePlace, type StorePlace } from '../helpers/stores.js';

const portal = (over: Partial<PortalRecord> = {}): PortalRecord => ({
  memberId: 'm1', domain: 'a.bitrix24.ru', clientEndpoint: 'https://a.bitrix24.ru/rest/', accessToken: 'at', refreshToken: 'rt',
  expires: 100, scope: 'crm', userId: 1, applicationToken: 'app-token', lang: 'ru', tier: 'crm_plus', plan: 'pro',
  installedAt: 1000, installState: 'installing', settings: defaultSettings(), ...over,
});

const episode = (over: Partial<NewEpisode> = {}): NewEpisode => ({
  memberId: 'm1', dealId: '5', stageId: 'C3:LOSE', enteredAt: 1000, recallDate: '2027-02-01', reason: '', dealTitle: 'Ремонт',
  client: 'Иван', responsibleId: 3, responsibleName: 'Анна', source: 'event', createdAt: 1000, ...over,
});

describe.each(BACKENDS)('the %s store (the ServiceStore contract)', (backend) => {
  let place: StorePlace;
  let store: ServiceStore;

  beforeEach(async () => {
    place = await storePlace(backend);
    store = await place.open();
  });

  afterEach(async () => {
    await store.close();
    place.cleanup();
  });

  it('keeps portals and token updates across a reopen', async () => {
    await store.savePortal(portal());
    await store.updateTokens('m1', { accessToken: 'at2', refreshToken: 'rt2', expires: 200, clientEndpoint: 'https://a.bitrix24.ru/rest/', scope: 'crm,im' });
    await store.updatePortal('m1', { installState: 'installed', lastSweepAt: 5 });
    await store.close();
    store = await place.open();
    expect(await store.getPortal('m1')).toMatchObject({ accessToken: 'at2', refreshToken: 'rt2', expires: 200, scope: 'crm,im', installState: 'installed', lastSweepAt: 5 });
  });

  it('an uninstall forgets the tokens and drops the pending jobs', async () => {
    await store.savePortal(portal());
    await store.enqueue({ memberId: 'm1', kind: 'event', payload: {}, runAt: 0 });
    await store.markUninstalled('m1', 10);
    expect(await store.getPortal('m1')).toMatchObject({ accessToken: '', refreshToken: '', applicationToken: '', installState: 'uninstalled' });
    expect(await store.claimDue(100, 1000)).toBeUndefined();
  });

  it('gives due jobs in run_at order and holds back future ones', async () => {
    await store.enqueue({ memberId: 'm1', kind: 'delayed', payload: { n: 'later' }, runAt: 500 });
    await store.enqueue({ memberId: 'm1', kind: 'event', payload: { n: 'first' }, runAt: 10 });
    await store.enqueue({ memberId: 'm1', kind: 'event', payload: { n: 'second' }, runAt: 20 });
    const first = await store.claimDue(100, 1000);
    const second = await store.claimDue(100, 1000);
    expect([first?.payload, second?.payload]).toEqual([{ n: 'first' }, { n: 'second' }]);
    expect(await store.claimDue(100, 1000)).toBeUndefined();
    expect(await store.nextRunAt()).toBe(500);
    expect((await store.claimDue(500, 1000))?.payload).toEqual({ n: 'later' });
  });

  it('a dedupe key queues a job once', async () => {
    const a = await store.enqueue({ memberId: 'm1', kind: 'delayed', payload: {}, runAt: 10, dedupeKey: 'k' });
    const b = await store.enqueue({ memberId: 'm1', kind: 'delayed', payload: {}, runAt: 10, dedupeKey: 'k' });
    expect(a.created).toBe(true);
    expect(b).toEqual({ id: a.id, created: false });
  });

  it('jobs queued together commit together, dedupe inside the group included, and survive a reopen', async () => {
    const results = await Promise.all([
      store.enqueue({ memberId: 'm1', kind: 'event', payload: 1, runAt: 0 }),
      store.enqueue({ memberId: 'm1', kind: 'delayed', payload: 2, runAt: 0, dedupeKey: 'same' }),
      store.enqueue({ memberId: 'm1', kind: 'delayed', payload: 3, runAt: 0, dedupeKey: 'same' }),
    ]);
    expect(results.map((r) => r.created)).toEqual([true, true, false]);
    expect(results[2].id).toBe(results[1].id);
    await store.close();
    store = await place.open();
    expect((await store.listJobs()).map((j) => j.payload)).toEqual([1, 2]);
  });

  it('a job that cannot be stored is refused alone; the others queued with it are kept', async () => {
    const results = await Promise.allSettled([
      store.enqueue({ memberId: 'm1', kind: 'event', payload: 1, runAt: 0 }),
      store.enqueue({ memberId: 'm1', kind: 'event', payload: { n: 10n }, runAt: 0 }),
      store.enqueue({ memberId: 'm1', kind: 'event', payload: 3, runAt: 0 }),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((await store.listJobs()).map((j) => j.payload)).toEqual([1, 3]);
  });

  it('a batch claim takes the due jobs of one portal (earliest first, up to the limit), then the next portal\'s', async () => {
    for (let n = 0; n < 5; n++) await store.enqueue({ memberId: 'A', kind: 'event', payload: { n }, runAt: 10 + n });
    await store.enqueue({ memberId: 'A', kind: 'delayed', payload: { n: 'later' }, runAt: 500 });
    await store.enqueue({ memberId: 'B', kind: 'event', payload: { n: 'b' }, runAt: 12 });
    const first = await store.claimDueBatch(100, 1000, 3);
    expect(first.map((j) => [j.memberId, j.payload, j.status, j.attempts])).toEqual([
      ['A', { n: 0 }, 'running', 1], ['A', { n: 1 }, 'running', 1], ['A', { n: 2 }, 'running', 1],
    ]);
    // A was just served, and A is busy: B's turn.
    expect((await store.claimDueBatch(100, 1000, 3, { busy: new Set(['A']) })).map((j) => j.payload)).toEqual([{ n: 'b' }]);
    expect((await store.claimDueBatch(100, 1000, 50)).map((j) => j.payload)).toEqual([{ n: 3 }, { n: 4 }]);
    expect(await store.claimDueBatch(100, 1000, 50)).toEqual([]);
    // A runner taking more of its own portal's due work.
    await store.enqueue({ memberId: 'B', kind: 'event', payload: { n: 'b2' }, runAt: 90 });
    expect(await store.claimDueBatch(100, 1000, 50, { memberId: 'A' })).toEqual([]);
    expect((await store.claimDueBatch(100, 1000, 50, { memberId: 'B', busy: new Set(['B']) })).map((j) => j.payload)).toEqual([{ n: 'b2' }]);
  });

  it('work on one item waits as one job: a second event queued before the first is taken adds nothing', async () => {
    const key = 'item|A|deal|5';
    const a = await store.enqueue({ memberId: 'A', kind: 'event', payload: { id: '5' }, runAt: 10, coalesceKey: key });
    const b = await store.enqueue({ memberId: 'A', kind: 'check', payload: { id: '5' }, runAt: 20, coalesceKey: key });
    expect(b).toEqual({ id: a.id, created: false });
    const [taken] = await store.claimDueBatch(100, 1000, 50);
    expect(taken.id).toBe(a.id);
    // Taken: the item may change after it is read, so the next event is a job of its own.
    const c = await store.enqueue({ memberId: 'A', kind: 'event', payload: { id: '5' }, runAt: 150, coalesceKey: key });
    expect(c.created).toBe(true);
    // The first fails and goes back for a retry in a while: the newer one is merged into it, due at the earlier time.
    await store.retry(a.id, 5000, 'HTTP 500');
    const jobs = await store.listJobs();
    expect(jobs.map((j) => [j.id, j.status, j.runAt])).toEqual([[a.id, 'queued', 150], [c.id, 'done', 150]]);
    expect(jobs[1].lastError).toBe(`merged into job ${a.id} (the same item)`);
    const [again] = await store.claimDueBatch(150, 1000, 50);
    expect(again).toMatchObject({ id: a.id, attempts: 2 });
    // The same after a crash: a restart requeues the running job, merging one queued meanwhile.
    const d = await store.enqueue({ memberId: 'A', kind: 'event', payload: { id: '5' }, runAt: 160, coalesceKey: key });
    expect(await store.requeueRunning()).toBe(1);
    expect((await store.listJobs({ status: 'queued' })).map((j) => j.id)).toEqual([a.id]);
    expect((await store.listJobs()).find((j) => j.id === d.id)?.status).toBe('done');
  });

  it('remembers the DATE_MODIFY at which each item was observed, and gives many observations at once', async () => {
    const base = { memberId: 'm1', entity: 'deal' as const, stageId: 'C1:NEW', stageEnteredAt: 1, watched: { UF_CRM_AS_VIN: 'X' } };
    await store.saveObservation({ ...base, itemId: '5', updatedAt: 100, modifiedAt: '2027-01-15T09:00:00+03:00' });
    await store.saveObservation({ ...base, itemId: '6', updatedAt: 200 });
    const seen = await store.getObservations('m1', 'deal', ['5', '6', '7']);
    expect([...seen.keys()].sort()).toEqual(['5', '6']);
    expect(seen.get('5')).toEqual({ ...base, itemId: '5', updatedAt: 100, modifiedAt: '2027-01-15T09:00:00+03:00' });
    expect(seen.get('6')).toEqual({ ...base, itemId: '6', updatedAt: 200 });
    expect(await store.getObservation('m1', 'deal', '5')).toEqual(seen.get('5'));
    expect((await store.getObservations('m1', 'lead', ['5'])).size).toBe(0);
  });

  it('a job whose lease ran out is taken again, and a restart requeues running jobs', async () => {
    await store.enqueue({ memberId: 'm1', kind: 'event', payload: {}, runAt: 0 });
    const job = await store.claimDue(0, 100);
    expect(await store.claimDue(50, 100)).toBeUndefined();
    expect((await store.claimDue(101, 100))?.id).toBe(job?.id);
    expect(await store.requeueRunning()).toBe(1);
    const again = await store.claimDue(0, 100);
    expect(again).toMatchObject({ id: job?.id, attempts: 3 });
  });

  it('retry puts a job back for later; fail parks it with its error; stats count them', async () => {
    const { id } = await store.enqueue({ memberId: 'm1', kind: 'event', payload: {}, runAt: 0 });
    await store.claimDue(0, 100);
    await store.retry(id, 1000, 'HTTP 503');
    expect(await store.claimDue(999, 100)).toBeUndefined();
    await store.claimDue(1000, 100);
    await store.fail(id, 'gave up', 1001);
    const [failed] = await store.listJobs({ status: 'failed' });
    expect(failed).toMatchObject({ id, lastError: 'gave up', attempts: 2 });
    expect(await store.queueStats(0)).toMatchObject({ queued: 0, failed: 1 });
  });

  it('pruning removes finished jobs older than the cut-off and keeps failed and pending ones', async () => {
    const old = await store.enqueue({ memberId: 'm1', kind: 'event', payload: 'old', runAt: 0 });
    const recent = await store.enqueue({ memberId: 'm1', kind: 'event', payload: 'recent', runAt: 0 });
    const broken = await store.enqueue({ memberId: 'm1', kind: 'event', payload: 'broken', runAt: 0 });
    await store.enqueue({ memberId: 'm1', kind: 'delayed', payload: 'pending', runAt: 10_000 });
    await store.complete(old.id, 100);
    await store.complete(recent.id, 900);
    await store.fail(broken.id, 'x', 100);
    expect(await store.pruneJobs(500)).toBe(1);
    expect((await store.listJobs()).map((j) => j.payload)).toEqual(['recent', 'broken', 'pending']);
  });

  it('an action key is new once, then started, then done with its result', async () => {
    expect(await store.beginAction('k', 'm1', 1)).toEqual({ state: 'new' });
    expect(await store.beginAction('k', 'm1', 2)).toEqual({ state: 'started', startedAt: 1 });
    await store.finishAction('k', { taskId: 9 }, 3);
    expect(await store.beginAction('k', 'm1', 4)).toEqual({ state: 'done', result: { taskId: 9 } });
  });

  it('a deal has at most one open refusal episode; a closed one lets a new one open', async () => {
    const first = await store.openEpisode(episode());
    const second = await store.openEpisode(episode({ stageId: 'C3:OTHER', recallDate: '2027-02-15', source: 'robot' }));
    expect(first.created).toBe(true);
    expect(second).toMatchObject({ created: false, episode: { id: first.episode.id, recallDate: '2027-02-01', source: 'event' } });
    await store.updateEpisode(first.episode.id, { activityId: 77, reason: 'дорого' });
    await store.closeEpisode('m1', '5', 2000);
    expect(await store.getOpenEpisode('m1', '5')).toBeUndefined();
    const third = await store.openEpisode(episode({ recallDate: '2027-03-01' }));
    expect(third.created).toBe(true);
    const feb = await store.listRecalls({ date: '2027-02-01' });
    expect(feb).toMatchObject([{ dealId: '5', status: 'closed', activityId: 77, reason: 'дорого' }]);
    expect(await store.listRecalls({ date: '2027-03-01', memberId: 'm1' })).toHaveLength(1);
  });

  it('a to-do asking for fields is remembered once per to-do, listed per item while open, and not after it is closed', async () => {
    const requirement = { memberId: 'm1', entity: 'deal' as const, itemId: '5', activityId: 40, fields: ['UF_CRM_AS_WASHER', 'UF_CRM_AS_WASH_AT'], createdAt: 1 };
    await store.addRequirement(requirement);
    await store.addRequirement({ ...requirement, fields: ['UF_CRM_AS_WASHER'], createdAt: 2 });
    await store.addRequirement({ ...requirement, activityId: 41, fields: ['UF_CRM_AS_REFUSAL'] });
    await store.addRequirement({ ...requirement, entity: 'lead', activityId: 42 });
    const open = await store.openRequirements('m1', 'deal', '5');
    expect(open.map((r) => [r.activityId, r.fields])).toEqual([[40, ['UF_CRM_AS_WASHER', 'UF_CRM_AS_WASH_AT']], [41, ['UF_CRM_AS_REFUSAL']]]);
    await store.closeRequirement(open[0].id, 'completed', 3);
    expect((await store.openRequirements('m1', 'deal', '5')).map((r) => r.activityId)).toEqual([41]);
    expect((await store.openRequirements('m1', 'lead', '5')).map((r) => r.activityId)).toEqual([42]);
  });
});

describe('the SQLite store', () => {
  let place: StorePlace;
  let store: SqliteStore;
  let file: string;

  beforeEach(async () => {
    place = await storePlace('SQLite');
    file = place.target;
    store = await SqliteStore.open(file, { keys: testKeys() });
  });

  afterEach(async () => {
    await store.close();
    place.cleanup();
  });

  it('runs in WAL mode with full sync, in a directory it creates', () => {
    const db = new Database(file, { readonly: true });
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    db.close();
  });

  it('a database of the first schema gets the later tables when opened, its data kept and its plain tokens encrypted', async () => {
    await store.savePortal(portal());
    await store.close();
    const db = new Database(file);
    // Back to the first schema, with the tokens in plain text as that version kept them.
    db.exec(`DROP TABLE requirements; DROP TABLE meta; DROP TABLE queue_lanes; DROP INDEX jobs_portal_due; DROP INDEX jobs_leased;
      DROP INDEX jobs_coalesce; ALTER TABLE jobs DROP COLUMN coalesce_key; ALTER TABLE observations DROP COLUMN modified_at;
      ALTER TABLE portals DROP COLUMN settings; ALTER TABLE portals DROP COLUMN last_error; ALTER TABLE portals DROP COLUMN last_error_at;
      UPDATE portals SET access_token = 'at', refresh_token = 'rt', application_token = 'app-token'`);
    db.pragma('user_version = 1');
    db.close();
    store = await SqliteStore.open(file, { keys: testKeys(), settingsDefaults: defaultSettings({ timeZone: 'Asia/Omsk' }) });
    expect(await store.getPortal('m1')).toMatchObject({ domain: 'a.bitrix24.ru', accessToken: 'at', applicationToken: 'app-token', settings: { timeZone: 'Asia/Omsk' } });
    await store.addRequirement({ memberId: 'm1', entity: 'lead', itemId: '1', activityId: 1, fields: ['UF_CRM_AS_DIRECTION'], createdAt: 1 });
    expect(await store.openRequirements('m1', 'lead', '1')).toHaveLength(1);
    expect(readFileSync(file).includes('app-token')).toBe(false);
  });

  it('a read-only open refuses a file that is not a service database', async () => {
    const other = join(dirname(file), 'other.sqlite');
    new Database(other).close();
    await expect(SqliteStore.open(other, { readonly: true })).rejects.toThrow(/not an Autosalon service database/);
  });

  it('a read-only open names a file that is not SQLite at all as not a service database', async () => {
    const text = join(dirname(file), 'notes.txt');
    writeFileSync(text, 'some notes, not a database\n'.repeat(20));
    await expect(SqliteStore.open(text, { readonly: true })).rejects.toThrow(`${text} is not an Autosalon service database`);
  });

  it('a database written by a newer version (a later schema) is refused with what to do', async () => {
    await store.close();
    const db = new Database(file);
    db.pragma('user_version = 99');
    db.close();
    await expect(SqliteStore.open(file, { keys: testKeys() })).rejects.toThrow(`${file} was written by a newer version of Autosalon (schema 99); upgrade the service`);
    store = await SqliteStore.open(file, { readonly: true });
  });
});

describe('the PostgreSQL store: migrations and several processes on one database', () => {
  let url: string;
  const opened: ServiceStore[] = [];
  const open = async (options: Parameters<typeof PostgresStore.open>[1] = {}) => {
    const store = await PostgresStore.open(url, { keys: testKeys(), ...options });
    opened.push(store);
    return store;
  };
  const sql = async <R extends pg.QueryResultRow>(text: string, values: unknown[] = []): Promise<R[]> => {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      return (await client.query<R>(text, values)).rows;
    } finally {
      await client.end();
    }
  };

  beforeEach(async () => {
    url = await createTestDatabase();
  });

  afterEach(async () => {
    for (const store of opened.splice(0)) await store.close();
  });

  it('processes opening a new database together migrate it once; the migrations and the queue\'s schema are recorded', async () => {
    await Promise.all([open(), open(), open()]);
    expect(await sql('SELECT name FROM autosalon.migrations')).toEqual([{ name: '0001-service-tables' }]);
    expect(await sql('SELECT version FROM autosalon_queue.version')).toEqual([{ version: 24 }]);
  });

  it('a database migrated by a newer version is refused, and a tool that does not migrate refuses one with migrations pending', async () => {
    await (await PostgresStore.open(url, { keys: testKeys() })).close();
    await sql(`INSERT INTO autosalon.migrations (name) VALUES ('0099-from-the-future')`);
    await expect(PostgresStore.open(url, { keys: testKeys() })).rejects.toThrow(/was migrated by a newer version of Autosalon \(migrations 0099-from-the-future are unknown to this one\); upgrade the service/);
    const fresh = await createTestDatabase();
    await expect(PostgresStore.open(fresh, { migrate: false })).rejects.toThrow(/has migrations pending \(0001-service-tables\): run "autosalon db migrate" first/);
  });

  it('processes need the same secret key: none given for a new database is an error naming the setting; another key is refused', async () => {
    await expect(PostgresStore.open(url, { keys: { previous: [] } })).rejects.toThrow(/no secret key for the tokens in .*: set AUTOSALON_SECRET_KEY/);
    const store = await open();
    await store.savePortal(portal());
    await expect(PostgresStore.open(url, { keys: { current: Buffer.alloc(32, 9), previous: [] } })).rejects.toThrow(/AUTOSALON_SECRET_KEY is not the key/);
    // At rest the tokens are ciphertext.
    const [row] = await sql<{ access_token: string }>('SELECT access_token FROM autosalon.portals');
    expect(row.access_token).toMatch(/^v1\./);
    // A rotation: the new key with the old one as previous re-encrypts once, and says so.
    const rotating = await open({ keys: { current: Buffer.alloc(32, 9), previous: [testKeys().current!] } });
    expect(rotating.tokensRotated).toBe(true);
    expect(await rotating.getPortal(portal().memberId)).toMatchObject({ accessToken: portal().accessToken });
    expect((await open({ keys: { current: Buffer.alloc(32, 9), previous: [] } })).tokensRotated).toBe(false);
  });

  it('a portal is served by one process at a time; another process takes its running jobs over at once when that one dies', async () => {
    const a = await open();
    const lost: string[] = [];
    const b = await open({ onLockLost: (e) => lost.push(e.message) });
    for (let n = 0; n < 3; n++) await a.enqueue({ memberId: 'P', kind: 'event', payload: { n }, runAt: 10 });
    await b.enqueue({ memberId: 'Q', kind: 'event', payload: { n: 'q' }, runAt: 20 });
    const takenByA = await a.claimDueBatch(100, 600_000, 50);
    expect(takenByA.map((j) => [j.memberId, j.payload])).toEqual([['P', { n: 0 }], ['P', { n: 1 }], ['P', { n: 2 }]]);
    await a.enqueue({ memberId: 'P', kind: 'event', payload: { n: 3 }, runAt: 30 });
    // P has a job due, but A serves P: B takes Q's, then nothing; for B, the next thing due is not P's job (at 30)
    // but the end of the lease of its own running job of Q.
    expect((await b.claimDueBatch(100, 600_000, 50)).map((j) => j.payload)).toEqual([{ n: 'q' }]);
    expect(await b.claimDueBatch(100, 600_000, 50)).toEqual([]);
    expect(await b.nextRunAt()).toBe(600_100);
    // B's finished job lets go of Q; requeueRunning leaves P alone, whose process lives.
    await b.complete((await b.listJobs({ memberId: 'Q' }))[0].id, 110);
    expect(await b.requeueRunning()).toBe(0);
    // A dies: its session, and with it the portal's lock, ends.
    await sql(`SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND classid = $1 AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`, [LOCK_SPACE.serve]);
    const takenByB = await b.claimDueBatch(200, 600_000, 50);
    expect(takenByB.map((j) => [j.payload, j.attempts])).toEqual([[{ n: 0 }, 2], [{ n: 1 }, 2], [{ n: 2 }, 2], [{ n: 3 }, 1]]);
    expect(await b.queueStats(200)).toMatchObject({ queued: 0, running: 4, done: 1 });
    expect(lost).toEqual([]);
  });

  it('requeueRunning at start takes back the running jobs of portals nobody serves', async () => {
    const a = await open();
    await a.enqueue({ memberId: 'P', kind: 'event', payload: 1, runAt: 0 });
    await a.claimDueBatch(0, 600_000, 50);
    await a.close();
    const b = await open();
    expect(await b.requeueRunning()).toBe(1);
    expect(await b.claimDueBatch(0, 600_000, 50)).toMatchObject([{ payload: 1, attempts: 2 }]);
  });

  it('a portal\'s REST budget is one for every process: what one spends, the others cannot', async () => {
    const [a, b] = [await open(), await open()];
    const limit = { burstLimit: 4, drainRate: 2 };
    const [gateA, gateB] = [a.requestGate('P', limit), b.requestGate('P', limit)];
    if (!gateA || !gateB) throw new Error('PostgreSQL stores share a request gate');
    expect(await Promise.all([gateA.take(), gateB.take(), gateA.take(), gateB.take()])).toEqual([0, 0, 0, 0]);
    const waitA = await gateA.take();
    const waitB = await gateB.take();
    // Full: the next request may go once one has drained (at 2 per second, about half a second).
    expect(waitA).toBeGreaterThan(300);
    expect(waitA).toBeLessThanOrEqual(500);
    expect(waitB).toBeGreaterThan(300);
    expect(gateB.budget()).toMatchObject({ burst: 4, intervalMs: 500 });
    expect(gateB.budget().available).toBeLessThan(1);
    // Another portal's budget is its own.
    expect(await a.requestGate('Q', limit)?.take()).toBe(0);
    // SQLite has no gate: one process spends the budget, and its client's own limiter counts it.
    const place = await storePlace('SQLite');
    const sqlite = await place.open();
    expect(sqlite.requestGate('P', limit)).toBeUndefined();
    await sqlite.close();
    place.cleanup();
  });

  it('exclusive work (the sweep, the install) runs in one process at a time per portal', async () => {
    const [a, b] = [await open(), await open()];
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const first = a.exclusive('sweep', 'P', async () => {
      await held;
      return 'a swept';
    });
    await new Promise((r) => setTimeout(r, 50));
    expect(await b.exclusive('sweep', 'P', async () => 'b swept')).toEqual({ ran: false });
    // The same process does not run it twice at once either; another portal, or another kind of work, is free.
    expect(await a.exclusive('sweep', 'P', async () => 'again')).toEqual({ ran: false });
    expect(await b.exclusive('sweep', 'Q', async () => 'q swept')).toEqual({ ran: true, value: 'q swept' });
    expect(await b.exclusive('install', 'P', async () => 'installed')).toEqual({ ran: true, value: 'installed' });
    const waiting = b.exclusive('sweep', 'P', async () => 'b swept after a', { waitMs: 5_000 });
    release();
    expect(await first).toEqual({ ran: true, value: 'a swept' });
    expect(await waiting).toEqual({ ran: true, value: 'b swept after a' });
  });
});
