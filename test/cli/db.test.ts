// The service's database from the command line: `autosalon db migrate` on both backends, and `autosalon db copy`
// carrying an embedded install (SQLite) to PostgreSQL — portals and tokens, settings, the schedule, re-calls — checked
// by counts, by a dry run that writes nothing, and by a PostgreSQL store that then runs on the copy as on the original.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSession } from '../../src/install/session.js';
import { defaultSettings } from '../../src/service/settings.js';
import { PostgresStore } from '../../src/service/store/postgres.js';
import { SQLITE_MIGRATIONS } from '../../src/service/store/schema.js';
import { SqliteStore } from '../../src/service/store/sqlite.js';
import type { PortalRecord } from '../../src/service/store/types.js';
import { BIN, runCli } from '../helpers/cli.js';
import { testKeys } from '../helpers/keys.js';
import { createTestDatabase } from '../helpers/postgres.js';

let dir: string;
let file: string;
const portal = (over: Partial<PortalRecord>): PortalRecord => ({
  memberId: 'm1', domain: 'autoservice.bitrix24.ru', clientEndpoint: 'https://autoservice.bitrix24.ru/rest/', accessToken: 'secret-at',
  refreshToken: 'secret-rt', expires: 1_900_000_000, scope: 'crm', userId: 1, applicationToken: 'secret-app', lang: 'ru', tier: 'crm_plus', plan: 'pro',
  installedAt: 1000, installState: 'installed', settings: defaultSettings({ timeZone: 'Asia/Omsk' }), ...over,
});

const tables = async (url: string): Promise<string[]> => {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<{ t: string }>(`SELECT table_schema || '.' || table_name AS t FROM information_schema.tables WHERE table_schema LIKE 'autosalon%' ORDER BY 1`)).rows.map((r) => r.t);
  } finally {
    await client.end();
  }
};

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'autosalon-db-cli-'));
  file = join(dir, 'service.sqlite');
  // An embedded install with a little of everything.
  const store = await SqliteStore.open(file, { keys: testKeys() });
  await store.savePortal(portal({}));
  await store.savePortal(portal({ memberId: 'm2', domain: 'wash.bitrix24.ru', refreshToken: 'secret-rt-2', settings: defaultSettings({ timeZone: 'Asia/Vladivostok' }) }));
  await store.enqueue({ memberId: 'm1', kind: 'event', payload: { entity: 'deal', id: '1' }, runAt: 2000 });
  const done = await store.claimDue(2000, 60_000);
  await store.complete(done!.id, 2100);
  await store.enqueue({ memberId: 'm1', kind: 'event', payload: { entity: 'deal', id: '2' }, runAt: 3000 });
  const failed = await store.claimDue(3000, 60_000);
  await store.fail(failed!.id, 'the portal refused it for good', 3100);
  await store.enqueue({ memberId: 'm1', kind: 'event', payload: { entity: 'lead', id: '9' }, runAt: 4000, coalesceKey: 'item|m1|lead|9' });
  await store.enqueue({ memberId: 'm2', kind: 'event', payload: { entity: 'deal', id: '5' }, runAt: 4000 });
  await store.claimDueBatch(4000, 60_000, 50, { memberId: 'm2' });
  await store.enqueue({ memberId: 'm1', kind: 'delayed', payload: { entity: 'lead', id: '9', ruleId: 'r', occurrence: 'o' }, runAt: 3_600_000, dedupeKey: 'check|m1|lead|9|r|o' });
  await store.saveObservation({ memberId: 'm1', entity: 'lead', itemId: '9', stageId: 'NEW', stageEnteredAt: 1, watched: { SOURCE_ID: 'WEB' }, updatedAt: 5, modifiedAt: '2027-01-15T09:00:00+03:00' });
  await store.beginAction('m1|lead|9|notify', 'm1', 10);
  await store.finishAction('m1|lead|9|notify', { ok: true }, 11);
  await store.beginAction('m1|lead|9|task', 'm1', 12);
  await store.openEpisode({
    memberId: 'm1', dealId: '5', stageId: 'C3:LOSE', enteredAt: 1000, recallDate: '2027-02-01', reason: 'дорого', dealTitle: 'Ремонт', client: 'Иван',
    responsibleId: 3, responsibleName: 'Анна', source: 'event', createdAt: 1000,
  });
  await store.addRequirement({ memberId: 'm1', entity: 'deal', itemId: '5', activityId: 40, fields: ['UF_CRM_AS_REFUSAL'], createdAt: 1 });
  await store.close();
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('autosalon db copy', () => {
  it('a dry run counts what would be copied and writes nothing, not even the schema', async () => {
    const url = await createTestDatabase();
    const r = runCli(['db', 'copy', '--from', `sqlite:${file}`, '--to', url, '--dry-run']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/portals\s+2\s+0/);
    expect(r.stdout).toMatch(/jobs waiting \(running ones wait again\)\s+3\s+0/);
    expect(r.stdout).toContain('Dry run: nothing was written to');
    expect(r.stdout).toContain('(its schema would be made first)');
    expect(await tables(url)).toEqual([]);
  });

  it('copies everything, verified by counts; the PostgreSQL service then runs on the copy as it did on the file', async () => {
    const url = await createTestDatabase();
    const r = runCli(['db', 'copy', '--from', `sqlite:${file}`, '--to', url, '--json']);
    expect(r.status).toBe(0);
    const report = JSON.parse(r.stdout) as { verified: boolean; tokens: string; counts: { table: string; source: number; target: number }[] };
    expect(report).toMatchObject({ verified: true, tokens: 'copied encrypted' });
    expect(Object.fromEntries(report.counts.map((c) => [c.table, [c.source, c.target]]))).toEqual({
      portals: [2, 2], jobsQueued: [3, 3], jobsDone: [1, 1], jobsFailed: [1, 1], dedupeKeys: [1, 1], observations: [1, 1], actions: [2, 2], episodes: [1, 1],
      requirements: [1, 1],
    });

    // Opened with the key the embedded install used: the same tokens, settings and work.
    const store = await PostgresStore.open(url, { keys: testKeys() });
    try {
      expect(await store.getPortal('m1')).toMatchObject({ accessToken: 'secret-at', refreshToken: 'secret-rt', applicationToken: 'secret-app', settings: { timeZone: 'Asia/Omsk' } });
      expect(await store.getPortal('m2')).toMatchObject({ refreshToken: 'secret-rt-2', settings: { timeZone: 'Asia/Vladivostok' } });
      expect((await store.listJobs({ status: 'failed' }))).toMatchObject([{ memberId: 'm1', lastError: 'the portal refused it for good', attempts: 1 }]);
      expect(await store.getAction('m1|lead|9|notify')).toEqual({ state: 'done', result: { ok: true } });
      expect(await store.getAction('m1|lead|9|task')).toEqual({ state: 'started', startedAt: 12 });
      expect(await store.getObservation('m1', 'lead', '9')).toMatchObject({ stageId: 'NEW', watched: { SOURCE_ID: 'WEB' }, modifiedAt: '2027-01-15T09:00:00+03:00' });
      expect(await store.listRecalls({ date: '2027-02-01' })).toMatchObject([{ dealId: '5', reason: 'дорого', responsibleName: 'Анна', status: 'open' }]);
      expect(await store.openRequirements('m1', 'deal', '5')).toMatchObject([{ activityId: 40, fields: ['UF_CRM_AS_REFUSAL'] }]);
      // The schedule: a dedupe key still holds, an item's waiting job still takes the item's next event, the job that
      // was running waits again (its attempt counted), the delayed check falls due at its time.
      expect((await store.enqueue({ memberId: 'm1', kind: 'delayed', payload: {}, runAt: 1, dedupeKey: 'check|m1|lead|9|r|o' })).created).toBe(false);
      expect((await store.enqueue({ memberId: 'm1', kind: 'event', payload: {}, runAt: 1, coalesceKey: 'item|m1|lead|9' })).created).toBe(false);
      expect((await store.claimDueBatch(5000, 60_000, 50, { memberId: 'm2' })).map((j) => [j.payload, j.attempts])).toEqual([[{ entity: 'deal', id: '5' }, 2]]);
      const taken = await store.claimDueBatch(5000, 60_000, 50, { memberId: 'm1' });
      expect(taken.map((j) => j.payload)).toEqual([{ entity: 'lead', id: '9' }]);
      await store.complete(taken[0].id, 5001);
      expect((await store.listJobs({ status: 'queued', memberId: 'm1' })).map((j) => [j.kind, j.runAt])).toEqual([['delayed', 3_600_000]]);
      expect(await store.claimDueBatch(3_599_999, 60_000, 50, { memberId: 'm1' })).toEqual([]);
      expect((await store.claimDueBatch(3_600_000, 60_000, 50, { memberId: 'm1' })).map((j) => j.kind)).toEqual(['delayed']);
      // New jobs and episodes are numbered after the copied ones.
      const next = await store.enqueue({ memberId: 'm1', kind: 'event', payload: {}, runAt: 1 });
      expect(next.id).toBeGreaterThan(5);
    } finally {
      await store.close();
    }

    // A second copy into the same database is refused, unless told.
    const again = runCli(['db', 'copy', '--from', `sqlite:${file}`, '--to', url]);
    expect(again.status).toBe(1);
    expect(again.stderr).toMatch(/already holds service state \(portals: 2, jobs waiting \(running ones wait again\): 3, .*\): copy into an empty database, or add --force/);
    // What a forced copy would replace is said before it is done.
    const looking = runCli(['db', 'copy', '--from', `sqlite:${file}`, '--to', url, '--force', '--dry-run']);
    expect(looking.stdout).toContain('Would replace the target\'s 2 portals that the file has too, with their settings and tokens as the file has them: autoservice.bitrix24.ru, wash.bitrix24.ru.');
    const forced = runCli(['db', 'copy', '--from', `sqlite:${file}`, '--to', url, '--force']);
    expect(forced.status).toBe(0);
    expect(forced.stdout).toContain('Replaced the target\'s 2 portals');
    expect(forced.stdout).toContain('the counts of every kind of row match');
  });

  it('re-encrypts the tokens under AUTOSALON_SECRET_KEY when that is not the file\'s key, and says what is missing without the file\'s key', async () => {
    const serviceKey = Buffer.alloc(32, 9);
    const env = { AUTOSALON_SECRET_KEY: serviceKey.toString('base64') };
    const url = await createTestDatabase();
    const refused = runCli(['db', 'copy', '--from', `sqlite:${file}`, '--to', url], env);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toContain(`the tokens in ${file} are under another key than AUTOSALON_SECRET_KEY: to re-encrypt them under AUTOSALON_SECRET_KEY, give the file's key too, in AUTOSALON_SECRET_KEY_PREVIOUS`);
    const r = runCli(['db', 'copy', '--from', `sqlite:${file}`, '--to', url], { ...env, AUTOSALON_SECRET_KEY_PREVIOUS: testKeys().current!.toString('base64') });
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain('The tokens were re-encrypted under the key in AUTOSALON_SECRET_KEY');
    const store = await PostgresStore.open(url, { keys: { current: serviceKey, previous: [] } });
    try {
      expect(await store.getPortal('m1')).toMatchObject({ accessToken: 'secret-at', refreshToken: 'secret-rt', applicationToken: 'secret-app' });
    } finally {
      await store.close();
    }
  });

  it('says what --from and --to take', () => {
    const from = runCli(['db', 'copy', '--from', file, '--to', 'postgres://x@127.0.0.1/db']);
    expect(from.status).toBe(1);
    expect(from.stderr).toContain('--from takes sqlite:FILE');
    const to = runCli(['db', 'copy', '--from', `sqlite:${file}`, '--to', 'mysql://x']);
    expect(to.status).toBe(1);
    expect(to.stderr).toContain('--to takes a PostgreSQL URL such as postgres://');
    const missing = runCli(['db', 'copy', '--from', `sqlite:${join(dir, 'none.sqlite')}`, '--to', 'postgres://x@127.0.0.1/db']);
    expect(missing.stderr).toContain('no database at');
    const folder = runCli(['db', 'copy', '--from', `sqlite:${dir}`, '--to', 'postgres://x@127.0.0.1/db']);
    expect(folder.stderr).toContain(`${dir} is a directory: --from takes the database file, e.g. sqlite:${dir}/service.sqlite`);
    const notSqlite = runCli(['db', 'copy', '--from', `sqlite:${BIN}`, '--to', 'postgres://x@127.0.0.1/db']);
    expect(notSqlite.stderr).toContain('not an SQLite file at all): point --from at the file');
    // A password is never repeated, however malformed the URL around it.
    const typo = runCli(['db', 'copy', '--from', `sqlite:${file}`, '--to', 'postgre://autosalon:s3cret@127.0.0.1/db']);
    expect(typo.stderr).toContain('(got "postgre://autosalon:***@127.0.0.1/db")');
    const oneSlash = runCli(['db', 'copy', '--from', `sqlite:${file}`, '--to', 'postgres:/autosalon:s3cret@127.0.0.1/db']);
    expect(oneSlash.stderr).toContain('--to takes a PostgreSQL URL');
    for (const r of [typo, oneSlash]) expect(r.stderr).not.toContain('s3cret');
    // Without --to: AUTOSALON_DATABASE_URL, so the password stays off the command line.
    const none = runCli(['db', 'copy', '--from', `sqlite:${file}`], { AUTOSALON_DATABASE_URL: undefined });
    expect(none.stderr).toContain('say where to copy to: --to postgres://… or AUTOSALON_DATABASE_URL');
  });
});

describe('autosalon db migrate', () => {
  it('brings a PostgreSQL database up to date once, and says so when there is nothing to do', async () => {
    const url = await createTestDatabase();
    const first = runCli(['db', 'migrate'], { AUTOSALON_DATABASE_URL: url });
    expect(first.stderr).toBe('');
    expect(first.stdout).toMatch(/: ran 2 migrations: 0001-service-tables, job queue schema 24\./);
    const second = runCli(['db', 'migrate', '--lang', 'ru'], { AUTOSALON_DATABASE_URL: url });
    expect(second.stdout).toMatch(/в актуальном состоянии \(выполнены 2 миграции; делать нечего\)/);
  });

  it('takes over an SQLite file of an earlier version, and refuses one written by a newer version', () => {
    // A database of the first schema version, as the hand-rolled migrations before umzug left it.
    const old = join(dir, 'old.sqlite');
    const db = new Database(old);
    db.exec(SQLITE_MIGRATIONS[0].sql);
    db.pragma('user_version = 1');
    db.close();
    const r = runCli(['db', 'migrate', '--db', old], { AUTOSALON_DATABASE_URL: undefined });
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain(`${old}: ran 3 migrations: 0002-requirements, 0003-portal-settings-meta-queue-lanes, 0004-job-coalescing-observed-modification.`);

    const newer = new Database(old);
    newer.pragma('user_version = 7');
    newer.close();
    const refused = runCli(['db', 'migrate', '--db', old], { AUTOSALON_DATABASE_URL: undefined });
    expect(refused.status).toBe(1);
    expect(refused.stderr).toContain(`${old} was written by a newer version of Autosalon (schema 7); upgrade the service to use it`);
  });
});

describe('the CLI on the service\'s PostgreSQL database', () => {
  it('install --member-id takes the portal\'s install lock in the database: refused while another process installs it', async () => {
    const url = await createTestDatabase();
    const service = await PostgresStore.open(url, { keys: testKeys() });
    await service.savePortal(portal({}));
    const env = { ...process.env, AUTOSALON_DATABASE_URL: url, AUTOSALON_SECRET_KEY: testKeys().current!.toString('base64') };
    const session = await openSession({ memberId: 'm1', stateDir: dir, clientId: 'app', clientSecret: 'secret', oauthUrl: 'https://oauth.example.com' }, {}, env);
    let release!: () => void;
    let entered!: () => void;
    const holding = new Promise<void>((resolve) => (entered = resolve));
    const installing = service.exclusive('install', 'm1', () => {
      entered();
      return new Promise<void>((resolve) => (release = resolve));
    });
    // The lock is taken over the network: the check below starts once the service's install holds it.
    await holding;
    try {
      // The tokens came from the database; its lock is the portal's install lock.
      expect(session.target).toMatchObject({ kind: 'app', tokens: { refreshToken: 'secret-rt' } });
      await expect(session.sharedLock!(async () => 'installed')).rejects.toThrow('another process is installing the template into the portal m1 now');
      release();
      await installing;
      expect(await session.sharedLock!(async () => 'installed')).toBe('installed');
    } finally {
      await session.close();
      await service.close();
    }
  });
});
