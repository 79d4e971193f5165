// The PostgreSQL store: the service's state in one database that any number of service processes share.
//
// The job queue is pg-boss's: every job is a row of its job table, in a queue of its own portal (a partition of the
// table: `portal-<member_id>`), queued by pg-boss's send() in the same transaction as what goes with it. Its 'short'
// policy is the coalescing of work on one item (one waiting job per singleton key). What the worker needs beyond
// pg-boss's fetch is done on the same rows in the same way (FOR UPDATE SKIP LOCKED over its fetch index), because
// pg-boss takes jobs by the database server's clock and from one named queue, while the worker (1) runs by its own
// injectable clock — the 1 h / 2 h rules are tested by moving it — and (2) chooses the portal to serve by the shared
// rotation of schedule.ts. The worker's backoff decides retries (a retried job waits again as 'created', so a newer
// event for the item still merges into it); 'failed' is the dead-letter state, which `portals` and /health show.
//
// Between processes: a portal is served by one process at a time, the one holding the portal's advisory lock (a
// session lock of this store's lock connection, so it goes when the process dies); a process that takes a portal's
// lock requeues the jobs the portal has running, since nobody runs them any more. The sweep and the template install
// take advisory locks of their own (exclusive()), and each portal's REST budget is a row every process draws on
// before each request (requestGate()).
import { createHash, randomUUID } from 'node:crypto';
import pg from 'pg';
import PgBoss from 'pg-boss';
import type { RequestBudget, RequestGate } from '../../portal/client.js';
import type { Lang } from '../../template/schema.js';
import { ConfigError } from '../config.js';
import { describeDatabase } from './describe.js';
import { nextDueAt, pickLane } from '../schedule.js';
import { defaultSettings, type PortalSettings } from '../settings.js';
import { LOCK_SPACE, migratePostgres, NewerDatabaseError, PG_SCHEMA, postgresMigrationStatus, QUEUE_SCHEMA } from './migrate.js';
import type { StoreRows, TableCounts } from './rows.js';
import { setUpCipher, type SecretKeys, type TokenCipher } from './secrets.js';
import type {
  ActionState, ClaimScope, ExclusiveWork, Job, JobKind, JobStatus, NewEpisode, NewJob, NewRequirement, Observation, PortalActivity, PortalInfo,
  PortalPatch, PortalRecord, QueueLane, QueueStats, RecallEpisode, RecallQuery, Requirement, ServiceStore, TokenUpdate,
} from './types.js';

/** The channel of LISTEN/NOTIFY on which a process says that it queued jobs. */
const QUEUED_CHANNEL = 'autosalon_jobs_queued';
/** How often a process looks for portals whose jobs were left running by a process that is gone (ms). */
const ORPHAN_CHECK_MS = 2_000;
// pg-boss's schema version this code was written against (node_modules/pg-boss/version.json).
export const QUEUE_SCHEMA_VERSION = 24;

export interface PostgresStoreOptions {
  keys?: SecretKeys;
  settingsDefaults?: PortalSettings;
  /** Run pending migrations when opening (default true); false: a database with pending migrations is refused. */
  migrate?: boolean;
  /** Connections of the pool (default 10). */
  poolSize?: number;
  /** Told when the connection holding this process's locks was lost: its portals may be served elsewhere meanwhile. */
  onLockLost?: (error: Error) => void;
  /** Where the URL was given, for messages (default AUTOSALON_DATABASE_URL). */
  setting?: string;
}

const S = PG_SCHEMA;
const J = `${QUEUE_SCHEMA}.job`;
const TOKEN_COLUMNS = ['access_token', 'refresh_token', 'application_token'] as const;
type TokenColumn = (typeof TOKEN_COLUMNS)[number];
const tokenContext = (memberId: string, column: TokenColumn) => `${memberId}|${column}`;

/** ms since the epoch as a timestamptz (bind $n as a number). */
const ts = (param: string) => `to_timestamp(${param}::float8 / 1000)`;
/** A timestamptz as ms since the epoch. */
const ms = (column: string) => `round(extract(epoch FROM ${column}) * 1000)::float8`;

const QUEUE_PREFIX = 'portal-';
export const queueOf = (memberId: string) => `${QUEUE_PREFIX}${memberId}`;
const memberOf = (queue: string) => queue.slice(QUEUE_PREFIX.length);

/**
 * pg-boss identifies jobs by UUID; the service by number (logs, the application's page). A job's UUID is made from its
 * number — ordered like it, so the ids of a portal's queue sort in the order the jobs were queued.
 */
export const jobUuid = (n: number) => `00000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}`;
const jobNumber = (uuid: string) => Number.parseInt(uuid.slice(-12), 16);

/** The advisory lock of (space, key): two int keys, the second a hash of the text key (a collision only serialises). */
export const lockKey = (key: string) => createHash('sha256').update(key).digest().readInt32BE(0);

/** bigint (ms, ids) as numbers: every value the service keeps in one is far below 2^53. */
const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') => (oid === pg.types.builtins.INT8 ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format as 'text'))) as typeof pg.types.getTypeParser,
};

interface PortalRow {
  member_id: string; domain: string; client_endpoint: string; access_token: string; refresh_token: string; expires: number; scope: string;
  user_id: number; application_token: string; lang: string; tier: string; plan: string; installed_at: number; install_state: string;
  install_error: string | null; last_sweep_at: number | null; settings: Partial<PortalSettings>; last_error: string | null; last_error_at: number | null;
}

interface JobRow {
  id: string; name: string; state: string; retry_count: number; started: boolean; run_at: number; last_error: string | null;
  data: { kind: JobKind; payload: unknown; dedupeKey?: string; coalesceKey?: string; createdAt: number };
}

interface EpisodeRow {
  id: number; member_id: string; deal_id: string; stage_id: string; entered_at: number; recall_date: string; status: string;
  activity_id: number | null; reason: string; deal_title: string; client: string; responsible_id: number;
  responsible_name: string; source: string; created_at: number; closed_at: number | null;
}

interface ObservationRow { item_id: string; stage_id: string; stage_entered_at: number; watched: Record<string, string>; updated_at: number; modified_at: string | null }

/** The columns a Job is made of, of the job table under alias `t` (or unqualified). */
const jobColumns = (t = '') => `${t}id, ${t}name, ${t}state, ${t}retry_count, ${t}started_on IS NOT NULL AS started, ${ms(`${t}start_after`)} AS run_at,
  ${t}output->>'message' AS last_error, ${t}data`;

const STATUS_OF: Record<string, JobStatus> = { created: 'queued', retry: 'queued', active: 'running', completed: 'done', cancelled: 'done', failed: 'failed' };
const STATES_OF: Record<JobStatus, string[]> = { queued: ['created', 'retry'], running: ['active'], done: ['completed', 'cancelled'], failed: ['failed'] };

const toJob = (r: JobRow): Job => ({
  id: jobNumber(r.id),
  memberId: memberOf(r.name),
  kind: r.data.kind,
  payload: r.data.payload,
  runAt: r.run_at,
  dedupeKey: r.data.dedupeKey,
  coalesceKey: r.data.coalesceKey,
  status: STATUS_OF[r.state],
  // pg-boss counts the attempts after the first (retry_count goes up each time a started job is taken again).
  attempts: r.started ? r.retry_count + 1 : 0,
  lastError: r.last_error ?? undefined,
  createdAt: r.data.createdAt,
});

const toEpisode = (r: EpisodeRow): RecallEpisode => ({
  id: r.id, memberId: r.member_id, dealId: r.deal_id, stageId: r.stage_id, enteredAt: r.entered_at, recallDate: r.recall_date,
  status: r.status as RecallEpisode['status'], activityId: r.activity_id ?? undefined, reason: r.reason, dealTitle: r.deal_title, client: r.client,
  responsibleId: r.responsible_id, responsibleName: r.responsible_name, source: r.source as RecallEpisode['source'], createdAt: r.created_at,
  closedAt: r.closed_at ?? undefined,
});

const toObservation = (memberId: string, entity: 'lead' | 'deal', row: ObservationRow): Observation => ({
  memberId, entity, itemId: row.item_id, stageId: row.stage_id, stageEnteredAt: row.stage_entered_at, watched: row.watched, updatedAt: row.updated_at,
  ...(row.modified_at !== null ? { modifiedAt: row.modified_at } : {}),
});

function statsOf(rows: { state: string; n: number; due: number }[]): QueueStats {
  const stats: QueueStats = { queued: 0, due: 0, running: 0, failed: 0, done: 0 };
  for (const row of rows) {
    const status = STATUS_OF[row.state];
    if (!status) continue;
    stats[status] += row.n;
    if (status === 'queued') stats.due += row.due;
  }
  return stats;
}

/** pg-boss's database access, through whatever connection the store gives it (the migration's, then the pool). */
interface BossDb { executeSql(text: string, values?: unknown[]): Promise<{ rows: unknown[] }> }

export class PostgresStore implements ServiceStore {
  private cipher?: TokenCipher;
  private readonly settingsDefaults: PortalSettings;
  /** Each portal's queue, known to exist or being made (pg-boss's queue of a portal is made on its first job). */
  private readonly queues = new Map<string, Promise<void>>();
  /** Jobs this process has taken and not finished, by number → portal. */
  private readonly leased = new Map<number, string>();
  /** Portals whose serve lock this process holds. */
  private readonly serving = new Set<string>();
  /** Claims of a portal in flight in this process. */
  private readonly claiming = new Map<string, number>();
  /** Locks of exclusive() held by this process (session locks are re-entrant: the process keeps its own count). */
  private readonly heldLocks = new Set<string>();
  /** Portals found served by another process at the last claim: not due for this one. */
  private readonly servedElsewhere = new Set<string>();
  private lockClient?: Promise<pg.Client>;
  private lockTurn: Promise<unknown> = Promise.resolve();
  private readonly gates = new Map<string, SharedBudget>();
  /** Who this store is in the notifications it sends (its own are not news to it). */
  private readonly instance = randomUUID();
  private readonly queuedListeners: (() => void)[] = [];
  /** Date.now() of the last look for portals whose running jobs' process is gone. */
  private orphansCheckedAt = 0;
  private closed = false;

  private constructor(
    private readonly url: string,
    private readonly pool: pg.Pool,
    private readonly boss: PgBoss,
    private readonly options: PostgresStoreOptions,
    /** The migrations this open ran: the service's, then pg-boss's schema (as "job queue schema N") when it made or moved it. */
    readonly migrated: string[] = [],
  ) {
    this.settingsDefaults = options.settingsDefaults ?? defaultSettings();
  }

  /** Where the store is, for messages (no password). */
  get where(): string {
    return describeDatabase(this.url);
  }

  /**
   * Connects, brings the schema up to date (the service's migrations and pg-boss's own, under the migration lock, so
   * processes starting together migrate once) and sets up the tokens' cipher. A database migrated by a newer version
   * of Autosalon, or (with migrate false) one with migrations pending, is refused with a message saying what to do.
   */
  static async open(url: string, options: PostgresStoreOptions = {}): Promise<PostgresStore> {
    const where = describeDatabase(url);
    const pool = new pg.Pool({ connectionString: url, max: options.poolSize ?? 10, application_name: 'autosalon', types, keepAlive: true });
    // An idle connection the server closed is dropped by the pool; it must not crash the process.
    pool.on('error', () => undefined);
    let via: pg.ClientBase | pg.Pool = pool;
    const bossDb: BossDb = { executeSql: (text, values) => via.query(text, values as unknown[]) };
    const boss = new PgBoss({ db: bossDb as PgBoss.Db, schema: QUEUE_SCHEMA, supervise: false, schedule: false, migrate: options.migrate !== false });
    boss.on('error', () => undefined);
    let client: pg.PoolClient;
    try {
      client = await pool.connect();
    } catch (error) {
      await pool.end();
      throw new ConfigError(`cannot connect to ${where} (${(error as Error).message}): check ${options.setting ?? 'AUTOSALON_DATABASE_URL'} and that the server accepts connections`);
    }
    const migrated: string[] = [];
    try {
      via = client;
      if (options.migrate === false) {
        const { pending } = await postgresMigrationStatus(client, where);
        if (pending.length) throw new ConfigError(`${where} has migrations pending (${pending.join(', ')}): run "autosalon db migrate" first`);
        await boss.start().catch((error: Error) => {
          throw new ConfigError(`the job queue in ${where} is not ready (${error.message}): run "autosalon db migrate" first`);
        });
      } else {
        migrated.push(...await migratePostgres(client, where));
        await client.query('SELECT pg_advisory_lock($1, 1)', [LOCK_SPACE.migrate]);
        try {
          const before = (await boss.isInstalled()) ? Number(await boss.schemaVersion()) : undefined;
          await boss.start();
          const after = Number(await boss.schemaVersion());
          if (before !== after) migrated.push(`job queue schema ${after}`);
        } catch (error) {
          await client.query('ROLLBACK').catch(() => undefined);
          throw error;
        } finally {
          await client.query('SELECT pg_advisory_unlock($1, 1)', [LOCK_SPACE.migrate]);
        }
      }
      const version = Number(await boss.schemaVersion());
      if (version > QUEUE_SCHEMA_VERSION) throw new NewerDatabaseError(`${where} (job queue)`, version);
      via = pool;
      const store = new PostgresStore(url, pool, boss, options, migrated);
      if (options.keys) await store.setUpTokens(client, options.keys);
      client.release();
      return store;
    } catch (error) {
      client.release();
      await boss.stop({ graceful: false, close: false }).catch(() => undefined);
      await pool.end();
      throw error;
    }
  }

  tokensRotated = false;

  /** As SqliteStore's: a database without encrypted tokens takes the key given; a rotation re-encrypts in one transaction. */
  private async setUpTokens(client: pg.PoolClient, keys: SecretKeys): Promise<void> {
    await client.query('BEGIN');
    try {
      // Processes starting together with a new key rotate once.
      await client.query('SELECT pg_advisory_xact_lock($1, 2)', [LOCK_SPACE.migrate]);
      const stored = (await client.query<{ value: string }>(`SELECT value FROM ${S}.meta WHERE key = 'key_check'`)).rows[0]?.value;
      // Every process needs the same key: one generated by one of them would be unknown to the others.
      const setup = setUpCipher(stored, { ...keys, generate: undefined }, this.where);
      this.cipher = setup.cipher;
      if (setup.rewrite) {
        this.tokensRotated = stored !== undefined;
        const previous = stored === undefined ? undefined : setup.cipher;
        const rows = (await client.query<Pick<PortalRow, 'member_id' | TokenColumn>>(`SELECT member_id, ${TOKEN_COLUMNS.join(', ')} FROM ${S}.portals FOR UPDATE`)).rows;
        for (const row of rows) {
          const values = TOKEN_COLUMNS.map((column) => {
            const context = tokenContext(row.member_id, column);
            return setup.cipher.encrypt(previous ? previous.decrypt(row[column], context) : row[column], context);
          });
          await client.query(`UPDATE ${S}.portals SET access_token = $2, refresh_token = $3, application_token = $4 WHERE member_id = $1`, [row.member_id, ...values]);
        }
        await client.query(`INSERT INTO ${S}.meta (key, value) VALUES ('key_check', $1) ON CONFLICT (key) DO UPDATE SET value = excluded.value`, [setup.check]);
      }
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    }
  }

  private tokens(): TokenCipher {
    if (!this.cipher) throw new ConfigError(`${this.where} was opened without the secret key, so its tokens cannot be read`);
    return this.cipher;
  }

  private seal(memberId: string, column: TokenColumn, plain: string): string {
    return this.tokens().encrypt(plain, tokenContext(memberId, column));
  }

  private toInfo(r: PortalRow): PortalInfo {
    return {
      memberId: r.member_id, domain: r.domain, clientEndpoint: r.client_endpoint, scope: r.scope, userId: r.user_id, lang: r.lang as Lang,
      tier: r.tier, plan: r.plan, installedAt: r.installed_at, installState: r.install_state as PortalInfo['installState'],
      installError: r.install_error ?? undefined, lastSweepAt: r.last_sweep_at ?? undefined, settings: { ...this.settingsDefaults, ...r.settings },
      lastError: r.last_error ?? undefined, lastErrorAt: r.last_error_at ?? undefined,
    };
  }

  private async transaction<T>(work: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    const c = await this.pool.connect();
    try {
      await c.query('BEGIN');
      const out = await work(c);
      await c.query('COMMIT');
      return out;
    } catch (error) {
      await c.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      c.release();
    }
  }

  /** A statement; a named one is prepared once per connection (the hot ones: every event reads its portal). */
  private query<R extends pg.QueryResultRow>(text: string, values: unknown[] = [], name?: string): Promise<pg.QueryResult<R>> {
    return this.pool.query<R>(name ? { name, text, values } : { text, values });
  }

  // ---- portals

  async savePortal(p: PortalRecord): Promise<void> {
    await this.query(`INSERT INTO ${S}.portals (member_id, domain, client_endpoint, access_token, refresh_token, expires, scope, user_id,
        application_token, lang, tier, plan, installed_at, install_state, install_error, last_sweep_at, settings, last_error, last_error_at)
      VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)
      ON CONFLICT (member_id) DO UPDATE SET domain = excluded.domain, client_endpoint = excluded.client_endpoint, access_token = excluded.access_token,
        refresh_token = excluded.refresh_token, expires = excluded.expires, scope = excluded.scope, user_id = excluded.user_id,
        application_token = excluded.application_token, lang = excluded.lang, tier = excluded.tier, plan = excluded.plan,
        installed_at = excluded.installed_at, install_state = excluded.install_state, install_error = excluded.install_error,
        last_sweep_at = excluded.last_sweep_at, settings = excluded.settings, last_error = excluded.last_error, last_error_at = excluded.last_error_at`, [
      p.memberId, p.domain, p.clientEndpoint, this.seal(p.memberId, 'access_token', p.accessToken), this.seal(p.memberId, 'refresh_token', p.refreshToken),
      p.expires, p.scope, p.userId, this.seal(p.memberId, 'application_token', p.applicationToken), p.lang, p.tier, p.plan, p.installedAt,
      p.installState, p.installError ?? null, p.lastSweepAt ?? null, JSON.stringify(p.settings), p.lastError ?? null, p.lastErrorAt ?? null,
    ]);
  }

  async getPortal(memberId: string): Promise<PortalRecord | undefined> {
    const row = (await this.query<PortalRow>(`SELECT * FROM ${S}.portals WHERE member_id = $1`, [memberId], 'get-portal')).rows[0];
    if (!row) return undefined;
    const cipher = this.tokens();
    const plain = (column: TokenColumn) => cipher.decrypt(row[column], tokenContext(row.member_id, column));
    return { ...this.toInfo(row), accessToken: plain('access_token'), refreshToken: plain('refresh_token'), expires: row.expires, applicationToken: plain('application_token') };
  }

  async listPortals(): Promise<PortalInfo[]> {
    return (await this.query<PortalRow>(`SELECT * FROM ${S}.portals ORDER BY installed_at, member_id COLLATE "C"`)).rows.map((r) => this.toInfo(r));
  }

  async updateTokens(memberId: string, t: TokenUpdate): Promise<void> {
    await this.query(`UPDATE ${S}.portals SET access_token = $2, refresh_token = $3, expires = $4, client_endpoint = $5, scope = $6 WHERE member_id = $1`, [
      memberId, this.seal(memberId, 'access_token', t.accessToken), this.seal(memberId, 'refresh_token', t.refreshToken), t.expires, t.clientEndpoint, t.scope,
    ]);
  }

  async updatePortal(memberId: string, patch: PortalPatch): Promise<void> {
    await this.patch('portals', 'member_id', memberId, patch, {
      tier: 'tier', plan: 'plan', installState: 'install_state', installError: 'install_error', installedAt: 'installed_at', lastSweepAt: 'last_sweep_at',
      lastError: 'last_error', lastErrorAt: 'last_error_at',
    });
  }

  async saveSettings(memberId: string, settings: PortalSettings): Promise<void> {
    await this.query(`UPDATE ${S}.portals SET settings = $2 WHERE member_id = $1`, [memberId, JSON.stringify(settings)]);
  }

  /** Sets the columns of one row for the keys the patch has (undefined clears a column); other columns stay. */
  private async patch(table: string, keyColumn: string, key: string | number, patch: object, columns: Record<string, string>): Promise<void> {
    const given = Object.entries(columns).filter(([name]) => name in patch);
    if (given.length === 0) return;
    const values = given.map(([name]) => (patch as Record<string, unknown>)[name] ?? null);
    await this.query(`UPDATE ${S}.${table} SET ${given.map(([, column], i) => `${column} = $${i + 2}`).join(', ')} WHERE ${keyColumn} = $1`, [key, ...values]);
  }

  async markUninstalled(memberId: string, now: number): Promise<void> {
    await this.transaction(async (c) => {
      await c.query(`UPDATE ${S}.portals SET access_token = '', refresh_token = '', expires = 0, application_token = '', install_state = 'uninstalled'
        WHERE member_id = $1`, [memberId]);
      await c.query(`UPDATE ${J} SET state = 'cancelled', completed_on = ${ts('$2')}, output = jsonb_build_object('message', 'the application was uninstalled')
        WHERE name = $1 AND state < 'completed'`, [queueOf(memberId), now]);
      await this.recomputeLane(c, memberId);
    });
  }

  // ---- the queue

  /**
   * The portal's pg-boss queue, made on its first job ('short': one waiting job per singleton key; no retries of
   * pg-boss's own). pg-boss's create_queue can deadlock with itself when two creators meet, so creators take turns.
   */
  private ensureQueue(memberId: string): Promise<void> {
    const name = queueOf(memberId);
    let made = this.queues.get(name);
    if (!made) {
      made = (async () => {
        if (await this.boss.getQueue(name)) return;
        await this.transaction(async (c) => {
          await c.query('SELECT pg_advisory_xact_lock($1, 3)', [LOCK_SPACE.migrate]);
          await this.boss.createQueue(name, { name, policy: 'short', retryLimit: 0 });
        });
      })();
      made.catch(() => this.queues.delete(name));
      this.queues.set(name, made);
    }
    return made;
  }

  private pendingJobs: { job: NewJob; resolve: (value: { id: number; created: boolean }) => void; reject: (error: unknown) => void }[] = [];

  /**
   * Jobs queued while the event loop is busy (events arriving together, the checks of a sweep) are written in one
   * transaction, in the order they were queued, their lanes updated once per portal (in one order, so that concurrent
   * groups never wait on each other in a circle). Should the group fail, each of its jobs is written alone: one that
   * cannot be stored is refused alone.
   */
  enqueue(job: NewJob): Promise<{ id: number; created: boolean }> {
    return new Promise((resolve, reject) => {
      this.pendingJobs.push({ job, resolve, reject });
      this.scheduleFlush();
    });
  }

  private flushing = false;
  private flushScheduled = false;

  /**
   * One group in flight at a time: jobs queued meanwhile wait for it and go together in the next (a group commit).
   * Groups of one portal serialise on its lane row anyway, so parallel small groups would only queue up there.
   */
  private scheduleFlush(): void {
    if (this.flushing || this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      void this.flushJobs();
    });
  }

  private async flushJobs(): Promise<void> {
    const group = this.pendingJobs;
    this.pendingJobs = [];
    if (!group.length) return;
    this.flushing = true;
    try {
      const outcomes = await this.insertJobs(group.map((p) => p.job));
      group.forEach((p, i) => p.resolve(outcomes[i]));
    } catch (error) {
      if (group.length === 1) group[0].reject(error);
      else for (const p of group) await this.insertJobs([p.job]).then((out) => p.resolve(out[0]), p.reject);
    } finally {
      this.flushing = false;
      if (this.pendingJobs.length) this.scheduleFlush();
    }
  }

  /**
   * Writes jobs with what goes with each, in a few statements whatever their number: their dedupe keys (a key queued
   * once already, earlier in the group too, leaves its job out), the jobs themselves by pg-boss's insert (a job whose
   * item has a waiting job already is left out by the queue's 'short' policy: that job does the work), their lanes.
   */
  private async insertJobs(jobs: NewJob[]): Promise<{ id: number; created: boolean }[]> {
    for (const memberId of new Set(jobs.map((j) => j.memberId))) await this.ensureQueue(memberId);
    return this.transaction(async (c) => {
      const numbers = (await c.query<{ n: number }>(`SELECT nextval('${S}.job_numbers') AS n FROM generate_series(1, $1)`, [jobs.length])).rows.map((r) => r.n);
      const keyed = jobs.map((job, i) => ({ job, n: numbers[i] })).filter(({ job }) => job.dedupeKey !== undefined);
      const keyHolders = new Map<string, number>();
      if (keyed.length) {
        await c.query(`INSERT INTO ${S}.job_dedupe (key, job_id, member_id) SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[]) ON CONFLICT DO NOTHING`,
          [keyed.map(({ job }) => job.dedupeKey), keyed.map(({ n }) => n), keyed.map(({ job }) => job.memberId)]);
        const held = await c.query<{ key: string; job_id: number }>(`SELECT key, job_id FROM ${S}.job_dedupe WHERE key = ANY($1::text[])`, [keyed.map(({ job }) => job.dedupeKey)]);
        for (const row of held.rows) keyHolders.set(row.key, row.job_id);
      }
      const fresh = jobs.map((job, i) => ({ job, n: numbers[i] })).filter(({ job, n }) => job.dedupeKey === undefined || keyHolders.get(job.dedupeKey) === n);
      const db = { executeSql: (text: string, values: unknown[]) => c.query(text, values) };
      if (fresh.length) {
        await this.boss.insert(fresh.map(({ job, n }) => ({
          id: jobUuid(n), name: queueOf(job.memberId), startAfter: new Date(job.runAt).toISOString(), retryLimit: 0,
          // Every job has a singleton key: under the 'short' policy, two waiting jobs without one would collide.
          singletonKey: job.coalesceKey ?? `job:${n}`,
          data: {
            kind: job.kind, payload: job.payload ?? null, createdAt: Date.now(),
            ...(job.dedupeKey !== undefined ? { dedupeKey: job.dedupeKey } : {}), ...(job.coalesceKey !== undefined ? { coalesceKey: job.coalesceKey } : {}),
          },
        })), { db });
      }
      const inserted = new Set((await c.query<{ id: string }>(`SELECT id FROM ${J} WHERE name = ANY($1::text[]) AND id = ANY($2::uuid[])`,
        [[...new Set(fresh.map(({ job }) => queueOf(job.memberId)))], fresh.map(({ n }) => jobUuid(n))])).rows.map((r) => jobNumber(r.id)));
      const outcomes: { id: number; created: boolean }[] = [];
      const due = new Map<string, number>();
      for (const [i, job] of jobs.entries()) {
        const n = numbers[i];
        if (inserted.has(n)) {
          outcomes.push({ id: n, created: true });
          due.set(job.memberId, Math.min(due.get(job.memberId) ?? Infinity, job.runAt));
        } else if (job.dedupeKey !== undefined && keyHolders.get(job.dedupeKey) !== n) {
          outcomes.push({ id: keyHolders.get(job.dedupeKey) ?? 0, created: false });
        } else {
          // The item's work waits already: that job does it (and a dedupe key written for this one is not its own).
          if (job.dedupeKey !== undefined) await c.query(`DELETE FROM ${S}.job_dedupe WHERE key = $1 AND job_id = $2`, [job.dedupeKey, n]);
          const waiting = (await c.query<{ id: string }>(`SELECT id FROM ${J} WHERE name = $1 AND singleton_key = $2 AND state = 'created'`,
            [queueOf(job.memberId), job.coalesceKey])).rows[0];
          outcomes.push({ id: waiting ? jobNumber(waiting.id) : 0, created: false });
        }
      }
      for (const [memberId, runAt] of [...due].sort(([x], [y]) => (x < y ? -1 : 1))) {
        await c.query(`INSERT INTO ${S}.queue_lanes (member_id, due_at) VALUES ($1, $2)
          ON CONFLICT (member_id) DO UPDATE SET due_at = least(queue_lanes.due_at, excluded.due_at)`, [memberId, runAt]);
      }
      // The other processes' workers look at once (delivered when this commits; the payload says who queued).
      if (due.size) await c.query(`SELECT pg_notify('${QUEUED_CHANNEL}', $1)`, [this.instance]);
      return outcomes;
    });
  }

  private async lanes(): Promise<(QueueLane & { running: boolean })[]> {
    const rows = (await this.query<{ member_id: string; due_at: number | null; lease_until: number | null; served_seq: number }>(
      `SELECT member_id, due_at, lease_until, served_seq FROM ${S}.queue_lanes`)).rows;
    // A portal is due when its earliest job is, or when the lease of its running jobs ends (they are then taken again).
    return rows.map((r) => {
      const due = [r.due_at, r.lease_until].filter((v): v is number => v !== null);
      return { memberId: r.member_id, dueAt: due.length ? Math.min(...due) : undefined, servedSeq: r.served_seq, running: r.lease_until !== null };
    });
  }

  /** The lane as the portal's jobs are now: its earliest waiting job, the end of its running jobs' lease. */
  private async recomputeLane(c: pg.ClientBase, memberId: string): Promise<void> {
    await c.query(`UPDATE ${S}.queue_lanes SET
        due_at = (SELECT ${ms('min(start_after)')} FROM ${J} WHERE name = $2 AND state < 'active'),
        lease_until = (SELECT ${ms('max(started_on + expire_in)')} FROM ${J} WHERE name = $2 AND state = 'active')
      WHERE member_id = $1`, [memberId, queueOf(memberId)]);
  }

  async claimDue(now: number, leaseMs: number, busy: ReadonlySet<string> = new Set()): Promise<Job | undefined> {
    return (await this.claimDueBatch(now, leaseMs, 1, { busy }))[0];
  }

  async claimDueBatch(now: number, leaseMs: number, limit: number, scope: ClaimScope = {}): Promise<Job[]> {
    if (scope.memberId !== undefined) {
      const jobs = await this.claimPortal(scope.memberId, now, leaseMs, limit);
      return jobs === 'served elsewhere' ? [] : jobs;
    }
    this.servedElsewhere.clear();
    const passed = new Set(scope.busy ?? []);
    const lanes = await this.lanes();
    // Every few seconds, the portals with jobs running in another process are looked at too: whoever can take such a
    // portal's lock finds its process gone, and takes the jobs over (see claimPortal) without waiting for their lease.
    if (Date.now() - this.orphansCheckedAt >= ORPHAN_CHECK_MS) {
      this.orphansCheckedAt = Date.now();
      for (const lane of lanes) if (lane.running && !this.serving.has(lane.memberId)) lane.dueAt = Math.min(lane.dueAt ?? now, now);
    }
    for (;;) {
      const memberId = pickLane(lanes, now, passed);
      if (memberId === undefined) return [];
      passed.add(memberId);
      const jobs = await this.claimPortal(memberId, now, leaseMs, limit);
      if (jobs === 'served elsewhere') this.servedElsewhere.add(memberId);
      else if (jobs.length) return jobs;
    }
  }

  /**
   * Up to `limit` due jobs of the portal, leased until now + leaseMs, under the portal's serve lock (taken now unless
   * this process holds it): a process that takes the lock requeues the portal's running jobs first, since the process
   * that ran them is gone (a live one would hold the lock); one that holds it requeues those whose lease ran out.
   */
  private async claimPortal(memberId: string, now: number, leaseMs: number, limit: number): Promise<Job[] | 'served elsewhere'> {
    // A claim in flight keeps the lock: a job of the portal finishing meanwhile must not let go of it.
    this.claiming.set(memberId, (this.claiming.get(memberId) ?? 0) + 1);
    const queue = queueOf(memberId);
    try {
      const taking = !this.serving.has(memberId);
      if (taking) {
        if (!(await this.tryLock(LOCK_SPACE.serve, memberId))) return 'served elsewhere';
        this.serving.add(memberId);
      }
      const rows = await this.transaction(async (c) => {
        // Serialises with enqueues of the portal: a job queued meanwhile is either seen below or lowers due_at after.
        await c.query(`SELECT 1 FROM ${S}.queue_lanes WHERE member_id = $1 FOR UPDATE`, [memberId]);
        const abandoned = (await c.query<{ id: string; run_at: number }>(`SELECT id, ${ms('start_after')} AS run_at FROM ${J}
          WHERE name = $1 AND state = 'active' ${taking ? '' : `AND started_on + expire_in <= ${ts('$2')}`} ORDER BY id`,
        taking ? [queue] : [queue, now])).rows;
        for (const job of abandoned) {
          this.leased.delete(jobNumber(job.id));
          await this.requeue(c, queue, job.id, job.run_at, null, now);
        }
        const taken = (await c.query<JobRow>(`WITH next AS (
            SELECT id FROM ${J} WHERE name = $1 AND state < 'active' AND start_after <= ${ts('$2')}
            ORDER BY start_after, id LIMIT $3 FOR UPDATE SKIP LOCKED)
          UPDATE ${J} j SET state = 'active', started_on = ${ts('$2')}, expire_in = $4::float8 * interval '1 millisecond',
            retry_count = CASE WHEN j.started_on IS NOT NULL THEN j.retry_count + 1 ELSE j.retry_count END
          FROM next WHERE j.name = $1 AND j.id = next.id
          RETURNING ${jobColumns('j.')}`,
        [queue, now, Math.max(1, limit), leaseMs])).rows;
        if (taken.length) await c.query(`UPDATE ${S}.queue_lanes SET served_seq = nextval('${S}.lane_turns') WHERE member_id = $1`, [memberId]);
        await this.recomputeLane(c, memberId);
        return taken;
      });
      const jobs = rows.map(toJob).sort((a, b) => a.runAt - b.runAt || a.id - b.id);
      for (const job of jobs) this.leased.set(job.id, memberId);
      return jobs;
    } finally {
      const left = (this.claiming.get(memberId) ?? 1) - 1;
      if (left > 0) this.claiming.set(memberId, left);
      else this.claiming.delete(memberId);
      await this.releaseIfIdle(memberId);
    }
  }

  /** The portal's serve lock goes once this process has none of its jobs running. */
  private async releaseIfIdle(memberId: string): Promise<void> {
    if (!this.serving.has(memberId) || this.claiming.has(memberId)) return;
    for (const portal of this.leased.values()) if (portal === memberId) return;
    this.serving.delete(memberId);
    await this.unlock(LOCK_SPACE.serve, memberId);
  }

  /**
   * Puts a taken job back to wait at runAt. A job for the same item queued meanwhile (a newer event) is merged into it:
   * one job does the item's work, keeping the attempts made so far, at the earlier of the two times.
   */
  private async requeue(c: pg.ClientBase, queue: string, uuid: string, runAt: number, error: string | null, now: number): Promise<void> {
    const sibling = (await c.query<{ run_at: number }>(`UPDATE ${J} s SET state = 'cancelled', completed_on = ${ts('$4')}, output = jsonb_build_object('message', $3::text)
      FROM ${J} me WHERE me.name = $1 AND me.id = $2 AND s.name = $1 AND s.singleton_key = me.singleton_key AND s.state = 'created' AND s.id <> $2
      RETURNING ${ms('s.start_after')} AS run_at`, [queue, uuid, `merged into job ${jobNumber(uuid)} (the same item)`, now])).rows[0];
    const at = sibling ? Math.min(runAt, sibling.run_at) : runAt;
    await c.query(`UPDATE ${J} SET state = 'created', start_after = ${ts('$3')}, output = CASE WHEN $4::text IS NULL THEN NULL ELSE jsonb_build_object('message', $4::text) END
      WHERE name = $1 AND id = $2`, [queue, uuid, at, error]);
    await c.query(`INSERT INTO ${S}.queue_lanes (member_id, due_at) VALUES ($1, $2)
      ON CONFLICT (member_id) DO UPDATE SET due_at = least(queue_lanes.due_at, excluded.due_at)`, [memberOf(queue), at]);
  }

  /** The queue of a job: known for jobs this process took; otherwise looked up (every queue's index is searched). */
  private async queueOfJob(jobId: number): Promise<string | undefined> {
    const memberId = this.leased.get(jobId);
    if (memberId !== undefined) return queueOf(memberId);
    return (await this.query<{ name: string }>(`SELECT name FROM ${J} WHERE id = $1`, [jobUuid(jobId)])).rows[0]?.name;
  }

  /** Records a job's outcome and lets go of the portal when it was this process's last running job of it. */
  private async finish(jobId: number, write: (c: pg.ClientBase, queue: string) => Promise<void>): Promise<void> {
    const queue = await this.queueOfJob(jobId);
    if (queue === undefined) return;
    await this.transaction(async (c) => write(c, queue));
    const memberId = memberOf(queue);
    if (this.leased.delete(jobId)) await this.releaseIfIdle(memberId);
  }

  async complete(jobId: number, now: number): Promise<void> {
    await this.finish(jobId, async (c, queue) => {
      await c.query(`UPDATE ${J} SET state = 'completed', completed_on = ${ts('$3')} WHERE name = $1 AND id = $2`, [queue, jobUuid(jobId), now]);
    });
  }

  async retry(jobId: number, runAt: number, error: string): Promise<void> {
    await this.finish(jobId, (c, queue) => this.requeue(c, queue, jobUuid(jobId), runAt, error, Date.now()));
  }

  /** The dead-letter state: the job stays, failed, with its error, until an operator looks (pruning keeps it). */
  async fail(jobId: number, error: string, now: number): Promise<void> {
    await this.finish(jobId, async (c, queue) => {
      await c.query(`UPDATE ${J} SET state = 'failed', completed_on = ${ts('$3')}, output = jsonb_build_object('message', $4::text) WHERE name = $1 AND id = $2`,
        [queue, jobUuid(jobId), now, error]);
    });
  }

  /** Running jobs of portals no live process serves (nobody holds their serve lock) go back to the queue. */
  async requeueRunning(): Promise<number> {
    const portals = (await this.query<{ name: string }>(`SELECT DISTINCT name FROM ${J} WHERE state = 'active'`)).rows.map((r) => memberOf(r.name));
    let count = 0;
    for (const memberId of portals) {
      const mine = this.serving.has(memberId);
      if (!mine && !(await this.tryLock(LOCK_SPACE.serve, memberId))) continue;
      this.serving.add(memberId);
      try {
        const queue = queueOf(memberId);
        count += await this.transaction(async (c) => {
          const running = (await c.query<{ id: string; run_at: number }>(`SELECT id, ${ms('start_after')} AS run_at FROM ${J} WHERE name = $1 AND state = 'active' ORDER BY id`, [queue])).rows;
          for (const job of running) {
            this.leased.delete(jobNumber(job.id));
            await this.requeue(c, queue, job.id, job.run_at, null, Date.now());
          }
          return running.length;
        });
      } finally {
        await this.releaseIfIdle(memberId);
      }
    }
    return count;
  }

  async queueStats(now: number): Promise<QueueStats> {
    return statsOf((await this.query<{ state: string; n: number; due: number }>(`SELECT state::text, count(*) AS n,
      count(*) FILTER (WHERE start_after <= ${ts('$1')}) AS due FROM ${J} GROUP BY state`, [now])).rows);
  }

  async queueStatsByPortal(now: number): Promise<Map<string, QueueStats>> {
    const rows = (await this.query<{ name: string; state: string; n: number; due: number }>(`SELECT name, state::text, count(*) AS n,
      count(*) FILTER (WHERE start_after <= ${ts('$1')}) AS due FROM ${J} GROUP BY name, state`, [now])).rows;
    const byPortal = new Map<string, typeof rows>();
    for (const row of rows) byPortal.set(memberOf(row.name), [...(byPortal.get(memberOf(row.name)) ?? []), row]);
    return new Map([...byPortal].map(([memberId, portalRows]) => [memberId, statsOf(portalRows)]));
  }

  /** Of portals not in `busy` and not found served by another process at the last claim. */
  async nextRunAt(busy: ReadonlySet<string> = new Set()): Promise<number | undefined> {
    return nextDueAt(await this.lanes(), new Set([...busy, ...this.servedElsewhere]));
  }

  async listJobs(filter: { status?: JobStatus; memberId?: string } = {}): Promise<Job[]> {
    const where: string[] = [];
    const values: unknown[] = [];
    if (filter.status) {
      values.push(STATES_OF[filter.status]);
      where.push(`state::text = ANY($${values.length})`);
    }
    if (filter.memberId) {
      values.push(queueOf(filter.memberId));
      where.push(`name = $${values.length}`);
    }
    const rows = (await this.query<JobRow>(`SELECT ${jobColumns()} FROM ${J} ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id`, values)).rows;
    return rows.map(toJob);
  }

  async portalActivity(memberId: string, failures = 5): Promise<PortalActivity> {
    const queue = queueOf(memberId);
    const last = (await this.query<{ at: number | null }>(`SELECT max((data->>'createdAt')::float8) AS at FROM ${J} WHERE name = $1 AND data->>'kind' IN ('event', 'robot')`, [queue])).rows[0];
    const failed = (await this.query<{ id: string; kind: JobKind; error: string | null; at: number | null; created_at: number }>(
      `SELECT id, data->>'kind' AS kind, output->>'message' AS error, ${ms('completed_on')} AS at, (data->>'createdAt')::float8 AS created_at FROM ${J}
       WHERE name = $1 AND state = 'failed' ORDER BY id DESC LIMIT $2`, [queue, failures])).rows;
    return {
      lastEventAt: last?.at ?? undefined,
      failures: failed.map((r) => ({ id: jobNumber(r.id), kind: r.kind, error: r.error ?? '', at: r.at ?? r.created_at })),
    };
  }

  async pruneJobs(finishedBefore: number): Promise<number> {
    return this.transaction(async (c) => {
      const deleted = (await c.query<{ id: string }>(`DELETE FROM ${J} WHERE state IN ('completed', 'cancelled') AND completed_on < ${ts('$1')} RETURNING id`, [finishedBefore])).rows;
      // As in SQLite, where the key is a column of the job: a key is free again once its job is gone.
      if (deleted.length) await c.query(`DELETE FROM ${S}.job_dedupe WHERE job_id = ANY($1::bigint[])`, [deleted.map((r) => jobNumber(r.id))]);
      return deleted.length;
    });
  }

  // ---- observations

  async getObservation(memberId: string, entity: 'lead' | 'deal', itemId: string): Promise<Observation | undefined> {
    return (await this.getObservations(memberId, entity, [itemId])).get(itemId);
  }

  async saveObservation(o: Observation): Promise<void> {
    await this.query(`INSERT INTO ${S}.observations (member_id, entity, item_id, stage_id, stage_entered_at, watched, updated_at, modified_at)
      VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
      ON CONFLICT (member_id, entity, item_id) DO UPDATE SET stage_id = excluded.stage_id, stage_entered_at = excluded.stage_entered_at,
        watched = excluded.watched, updated_at = excluded.updated_at, modified_at = excluded.modified_at`,
    [o.memberId, o.entity, o.itemId, o.stageId, o.stageEnteredAt, JSON.stringify(o.watched), o.updatedAt, o.modifiedAt ?? null]);
  }

  async countObservedSince(memberId: string, entity: 'lead' | 'deal', since: number): Promise<number> {
    return (await this.query<{ n: number }>(`SELECT count(*) AS n FROM ${S}.observations WHERE member_id = $1 AND entity = $2 AND updated_at >= $3`,
      [memberId, entity, since])).rows[0].n;
  }

  async getObservations(memberId: string, entity: 'lead' | 'deal', itemIds: string[]): Promise<Map<string, Observation>> {
    const out = new Map<string, Observation>();
    if (itemIds.length === 0) return out;
    const rows = (await this.query<ObservationRow>(`SELECT item_id, stage_id, stage_entered_at, watched, updated_at, modified_at FROM ${S}.observations
      WHERE member_id = $1 AND entity = $2 AND item_id = ANY($3::text[])`, [memberId, entity, itemIds])).rows;
    for (const row of rows) out.set(row.item_id, toObservation(memberId, entity, row));
    return out;
  }

  // ---- actions

  async beginAction(key: string, memberId: string, now: number): Promise<ActionState> {
    const inserted = await this.query(`INSERT INTO ${S}.actions (key, member_id, status, started_at) VALUES ($1, $2, 'started', $3) ON CONFLICT (key) DO NOTHING`,
      [key, memberId, now]);
    return inserted.rowCount === 1 ? { state: 'new' } : this.getAction(key);
  }

  async getAction(key: string): Promise<ActionState> {
    const row = (await this.query<{ status: string; result: unknown; started_at: number }>(`SELECT status, result, started_at FROM ${S}.actions WHERE key = $1`, [key])).rows[0];
    if (!row) return { state: 'new' };
    if (row.status === 'done') return { state: 'done', result: row.result };
    return { state: 'started', startedAt: row.started_at };
  }

  async finishAction(key: string, result: unknown, now: number): Promise<void> {
    await this.query(`UPDATE ${S}.actions SET status = 'done', result = $2, finished_at = $3 WHERE key = $1`, [key, JSON.stringify(result ?? null), now]);
  }

  // ---- episodes

  async openEpisode(e: NewEpisode): Promise<{ episode: RecallEpisode; created: boolean }> {
    return this.transaction(async (c) => {
      const inserted = await c.query(`INSERT INTO ${S}.episodes (member_id, deal_id, stage_id, entered_at, recall_date, status, reason, deal_title, client,
          responsible_id, responsible_name, source, created_at)
        VALUES ($1, $2, $3, $4, $5, 'open', $6, $7, $8, $9, $10, $11, $12) ON CONFLICT (member_id, deal_id) WHERE status = 'open' DO NOTHING`,
      [e.memberId, e.dealId, e.stageId, e.enteredAt, e.recallDate, e.reason, e.dealTitle, e.client, e.responsibleId, e.responsibleName, e.source, e.createdAt]);
      const row = (await c.query<EpisodeRow>(`SELECT * FROM ${S}.episodes WHERE member_id = $1 AND deal_id = $2 AND status = 'open'`, [e.memberId, e.dealId])).rows[0];
      return { episode: toEpisode(row), created: inserted.rowCount === 1 };
    });
  }

  async getOpenEpisode(memberId: string, dealId: string): Promise<RecallEpisode | undefined> {
    const row = (await this.query<EpisodeRow>(`SELECT * FROM ${S}.episodes WHERE member_id = $1 AND deal_id = $2 AND status = 'open'`, [memberId, dealId])).rows[0];
    return row ? toEpisode(row) : undefined;
  }

  async updateEpisode(id: number, patch: Partial<Pick<RecallEpisode, 'activityId' | 'reason' | 'client' | 'responsibleName'>>): Promise<void> {
    await this.patch('episodes', 'id', id, patch, { activityId: 'activity_id', reason: 'reason', client: 'client', responsibleName: 'responsible_name' });
  }

  async closeEpisode(memberId: string, dealId: string, now: number): Promise<void> {
    await this.query(`UPDATE ${S}.episodes SET status = 'closed', closed_at = $3 WHERE member_id = $1 AND deal_id = $2 AND status = 'open'`, [memberId, dealId, now]);
  }

  async listRecalls(query: RecallQuery): Promise<RecallEpisode[]> {
    const where: string[] = [];
    const values: unknown[] = [];
    if (query.date) {
      values.push(query.date);
      where.push(`recall_date = $${values.length}`);
    }
    if (query.memberId) {
      values.push(query.memberId);
      where.push(`member_id = $${values.length}`);
    }
    // Byte order, as SQLite sorts text: the same list from either backend.
    const rows = (await this.query<EpisodeRow>(`SELECT * FROM ${S}.episodes ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
      ORDER BY recall_date COLLATE "C", member_id COLLATE "C", responsible_name COLLATE "C", id`, values)).rows;
    return rows.map(toEpisode);
  }

  // ---- requirements

  async addRequirement(r: NewRequirement): Promise<void> {
    await this.query(`INSERT INTO ${S}.requirements (member_id, entity, item_id, activity_id, fields, created_at) VALUES ($1, $2, $3, $4, $5, $6)
      ON CONFLICT (member_id, activity_id) DO NOTHING`, [r.memberId, r.entity, r.itemId, r.activityId, JSON.stringify(r.fields), r.createdAt]);
  }

  async openRequirements(memberId: string, entity: 'lead' | 'deal', itemId: string): Promise<Requirement[]> {
    const rows = (await this.query<{ id: number; activity_id: number; fields: string[]; created_at: number }>(`SELECT id, activity_id, fields, created_at
      FROM ${S}.requirements WHERE member_id = $1 AND entity = $2 AND item_id = $3 AND status = 'open' ORDER BY id`, [memberId, entity, itemId])).rows;
    return rows.map((row) => ({ id: row.id, memberId, entity, itemId, activityId: row.activity_id, fields: row.fields, createdAt: row.created_at }));
  }

  async closeRequirement(id: number, outcome: string, now: number): Promise<void> {
    await this.query(`UPDATE ${S}.requirements SET status = 'closed', outcome = $2, closed_at = $3 WHERE id = $1 AND status = 'open'`, [id, outcome, now]);
  }

  // ---- between processes

  /** The connection whose session holds this process's advisory locks (they go with it when the process dies). */
  private locks(): Promise<pg.Client> {
    if (!this.lockClient) {
      const client = new pg.Client({ connectionString: this.url, application_name: `autosalon-locks ${process.pid}`, keepAlive: true, types });
      // One loss is told once, whichever of the client's error and end events come with it.
      let gone = false;
      const lost = (error: Error) => {
        if (gone) return;
        gone = true;
        if (this.lockClient === connected) this.lockClient = undefined;
        // The server no longer holds them: other processes may take these portals now.
        this.serving.clear();
        this.heldLocks.clear();
        if (!this.closed) this.options.onLockLost?.(error);
      };
      client.on('error', lost);
      client.on('end', () => lost(new Error('the connection was closed')));
      client.on('notification', (message) => {
        if (message.channel === QUEUED_CHANNEL && message.payload !== this.instance) for (const listener of this.queuedListeners) listener();
      });
      const connected = client.connect().then(async () => {
        if (this.queuedListeners.length) await client.query(`LISTEN ${QUEUED_CHANNEL}`);
        return client;
      });
      connected.catch(() => {
        if (this.lockClient === connected) this.lockClient = undefined;
      });
      this.lockClient = connected;
    }
    return this.lockClient;
  }

  /** One statement at a time on the lock connection (a pg client runs one query at a time). */
  private onLockConnection<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
    const run = this.lockTurn.then(async () => work(await this.locks()));
    this.lockTurn = run.catch(() => undefined);
    return run;
  }

  private async tryLock(space: number, key: string): Promise<boolean> {
    return this.onLockConnection(async (client) => (await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1, $2) AS ok', [space, lockKey(key)])).rows[0].ok);
  }

  private async unlock(space: number, key: string): Promise<void> {
    if (!this.lockClient) return;
    await this.onLockConnection((client) => client.query('SELECT pg_advisory_unlock($1, $2)', [space, lockKey(key)])).catch(() => undefined);
  }

  async exclusive<T>(what: ExclusiveWork, key: string, work: () => Promise<T>, options: { waitMs?: number } = {}): Promise<{ ran: true; value: T } | { ran: false }> {
    const space = LOCK_SPACE[what];
    const id = `${what}|${key}`;
    const deadline = Date.now() + (options.waitMs ?? 0);
    for (;;) {
      if (!this.heldLocks.has(id) && (await this.tryLock(space, key))) break;
      if (Date.now() >= deadline) return { ran: false };
      await new Promise((resolve) => setTimeout(resolve, Math.min(250, Math.max(10, deadline - Date.now()))));
    }
    this.heldLocks.add(id);
    try {
      return { ran: true, value: await work() };
    } finally {
      this.heldLocks.delete(id);
      await this.unlock(space, key);
    }
  }

  onQueuedElsewhere(listener: () => void): void {
    this.queuedListeners.push(listener);
    // On the lock connection, which stays open: (re)connecting it listens again.
    if (this.queuedListeners.length === 1) void this.onLockConnection((client) => client.query(`LISTEN ${QUEUED_CHANNEL}`)).catch(() => undefined);
  }

  requestGate(memberId: string, limit: { burstLimit: number; drainRate: number }): RequestGate {
    let gate = this.gates.get(memberId);
    if (!gate || gate.burst !== limit.burstLimit || gate.drainPerSecond !== limit.drainRate) {
      gate = new SharedBudget(this.pool, memberId, limit.burstLimit, limit.drainRate);
      this.gates.set(memberId, gate);
    }
    return gate;
  }

  derivedKey(purpose: string): Buffer {
    return this.tokens().derive(purpose);
  }

  // ---- moving up from SQLite (autosalon db copy)

  async tableCounts(): Promise<TableCounts> {
    const count = async (table: string) => (await this.query<{ n: number }>(`SELECT count(*) AS n FROM ${table}`)).rows[0].n;
    const jobs = await this.queueStats(Number.MAX_SAFE_INTEGER);
    return {
      portals: await count(`${S}.portals`), observations: await count(`${S}.observations`), actions: await count(`${S}.actions`),
      episodes: await count(`${S}.episodes`), requirements: await count(`${S}.requirements`), jobsQueued: jobs.queued + jobs.running,
      jobsDone: jobs.done, jobsFailed: jobs.failed, dedupeKeys: await count(`${S}.job_dedupe`),
    };
  }

  /** The check value of the key the tokens here are encrypted with, if any are. */
  async keyCheck(): Promise<string | undefined> {
    return (await this.query<{ value: string }>(`SELECT value FROM ${S}.meta WHERE key = 'key_check'`)).rows[0]?.value;
  }

  /**
   * Writes the rows of another store (db copy) in one transaction: portals and their tokens as given (encrypted under
   * the key whose check value comes with them), the jobs into their portals' queues with their state (a running job
   * waits again), ids kept. Rows already here stay (a portal is replaced by the copy's).
   */
  async importRows(rows: StoreRows): Promise<void> {
    for (const memberId of new Set(rows.jobs.map((j) => j.member_id))) await this.ensureQueue(memberId);
    await this.transaction(async (c) => {
      const each = async <T>(list: T[], write: (chunk: T[]) => Promise<unknown>) => {
        for (let i = 0; i < list.length; i += 1000) await write(list.slice(i, i + 1000));
      };
      if (rows.keyCheck !== undefined) {
        await c.query(`INSERT INTO ${S}.meta (key, value) VALUES ('key_check', $1) ON CONFLICT (key) DO UPDATE SET value = excluded.value`, [rows.keyCheck]);
      }
      await each(rows.portals, (chunk) => c.query(`INSERT INTO ${S}.portals SELECT * FROM json_populate_recordset(null::${S}.portals, $1)
        ON CONFLICT (member_id) DO UPDATE SET domain = excluded.domain, client_endpoint = excluded.client_endpoint, access_token = excluded.access_token,
          refresh_token = excluded.refresh_token, expires = excluded.expires, scope = excluded.scope, user_id = excluded.user_id,
          application_token = excluded.application_token, lang = excluded.lang, tier = excluded.tier, plan = excluded.plan,
          installed_at = excluded.installed_at, install_state = excluded.install_state, install_error = excluded.install_error,
          last_sweep_at = excluded.last_sweep_at, settings = excluded.settings, last_error = excluded.last_error, last_error_at = excluded.last_error_at`,
      [JSON.stringify(chunk.map((p) => ({ ...p, settings: JSON.parse(p.settings) as unknown })))]));
      await each(rows.observations, (chunk) => c.query(`INSERT INTO ${S}.observations SELECT * FROM json_populate_recordset(null::${S}.observations, $1)
        ON CONFLICT DO NOTHING`, [JSON.stringify(chunk.map((o) => ({ ...o, watched: JSON.parse(o.watched) as unknown })))]));
      await each(rows.actions, (chunk) => c.query(`INSERT INTO ${S}.actions SELECT * FROM json_populate_recordset(null::${S}.actions, $1) ON CONFLICT DO NOTHING`,
        [JSON.stringify(chunk.map((a) => ({ ...a, result: a.result === null ? null : JSON.parse(a.result) as unknown })))]));
      await each(rows.episodes, (chunk) => c.query(`INSERT INTO ${S}.episodes SELECT * FROM json_populate_recordset(null::${S}.episodes, $1) ON CONFLICT DO NOTHING`,
        [JSON.stringify(chunk)]));
      await each(rows.requirements, (chunk) => c.query(`INSERT INTO ${S}.requirements SELECT * FROM json_populate_recordset(null::${S}.requirements, $1)
        ON CONFLICT DO NOTHING`, [JSON.stringify(chunk.map((r) => ({ ...r, fields: JSON.parse(String(r.fields)) as unknown })))]));
      const db = { executeSql: (text: string, values: unknown[]) => c.query(text, values) };
      await each(rows.jobs, async (chunk) => {
        await this.boss.insert(chunk.map((j) => ({
          id: jobUuid(j.id), name: queueOf(j.member_id), startAfter: new Date(j.run_at).toISOString(), singletonKey: j.coalesce_key ?? `job:${j.id}`,
          retryLimit: 0,
          data: {
            kind: j.kind, payload: JSON.parse(j.payload) as unknown, createdAt: j.created_at,
            ...(j.dedupe_key !== null ? { dedupeKey: j.dedupe_key } : {}), ...(j.coalesce_key !== null ? { coalesceKey: j.coalesce_key } : {}),
          },
        })), { db });
        // Their state and attempts as they were: a job taken n times counts n attempts (pg-boss: retry_count n - 1).
        await c.query(`UPDATE ${J} j SET state = (CASE s.status WHEN 'done' THEN 'completed' WHEN 'failed' THEN 'failed' ELSE 'created' END)::${QUEUE_SCHEMA}.job_state,
            retry_count = greatest(s.attempts - 1, 0), started_on = CASE WHEN s.attempts > 0 THEN ${ts('s.created_at')} END,
            completed_on = CASE WHEN s.status IN ('done', 'failed') THEN ${ts('coalesce(s.finished_at, s.created_at)')} END,
            output = CASE WHEN s.last_error IS NULL THEN NULL ELSE jsonb_build_object('message', s.last_error) END
          FROM json_to_recordset($1) AS s (id uuid, name text, status text, attempts int, created_at float8, finished_at float8, last_error text)
          WHERE j.name = s.name AND j.id = s.id`,
        [JSON.stringify(chunk.map((j) => ({ ...j, id: jobUuid(j.id), name: queueOf(j.member_id) })))]);
        const keyed = chunk.filter((j) => j.dedupe_key !== null);
        if (keyed.length) {
          await c.query(`INSERT INTO ${S}.job_dedupe (key, job_id, member_id) SELECT key, job_id, member_id FROM json_to_recordset($1)
            AS d (key text, job_id bigint, member_id text) ON CONFLICT DO NOTHING`, [JSON.stringify(keyed.map((j) => ({ key: j.dedupe_key, job_id: j.id, member_id: j.member_id })))]);
        }
      });
      // Numbers given from here on follow the copied ones.
      for (const [sequence, table] of [['job_numbers', undefined], ['episodes_id_seq', 'episodes'], ['requirements_id_seq', 'requirements']] as const) {
        const max = table
          ? `(SELECT max(id) FROM ${S}.${table})`
          : `(SELECT max(('x' || right(id::text, 12))::bit(48)::bigint) FROM ${J})`;
        await c.query(`SELECT setval('${S}.${sequence}', greatest(coalesce(${max}, 0), (SELECT last_value FROM ${S}.${sequence})))`);
      }
      for (const memberId of new Set(rows.jobs.map((j) => j.member_id))) {
        await c.query(`INSERT INTO ${S}.queue_lanes (member_id) VALUES ($1) ON CONFLICT DO NOTHING`, [memberId]);
        await this.recomputeLane(c, memberId);
      }
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.boss.stop({ graceful: false, close: false }).catch(() => undefined);
    const locks = await this.lockClient?.catch(() => undefined);
    await locks?.end().catch(() => undefined);
    await this.pool.end();
  }
}

/**
 * One portal's request budget in the database: a leaky bucket (level, when it was set) that every process draws on,
 * by the database server's clock so that the processes' clocks do not matter. A request may go when the bucket has
 * room for it; otherwise the answer is how long until it will.
 */
class SharedBudget implements RequestGate {
  private ready?: Promise<unknown>;
  /** The bucket as last seen: its level and when (Date.now()). */
  private seen = { level: 0, at: 0 };

  constructor(
    private readonly pool: pg.Pool,
    private readonly memberId: string,
    readonly burst: number,
    readonly drainPerSecond: number,
  ) {}

  async take(): Promise<number> {
    this.ready ??= this.pool.query(`INSERT INTO ${S}.rest_budgets (member_id, level, at_ms) VALUES ($1, 0, 0) ON CONFLICT DO NOTHING`, [this.memberId]);
    await this.ready;
    const row = (await this.pool.query<{ level: number; taken: boolean }>(`WITH now AS (SELECT extract(epoch FROM clock_timestamp())::float8 * 1000 AS ms),
        cur AS (SELECT b.member_id, greatest(0, b.level - (now.ms - b.at_ms) * $3::float8 / 1000) AS level, now.ms
          FROM ${S}.rest_budgets b, now WHERE b.member_id = $1 FOR UPDATE OF b),
        taken AS (UPDATE ${S}.rest_budgets b SET level = cur.level + 1, at_ms = cur.ms FROM cur
          WHERE b.member_id = cur.member_id AND cur.level + 1 <= $2::float8 RETURNING b.level)
      SELECT cur.level, EXISTS (SELECT 1 FROM taken) AS taken FROM cur`, [this.memberId, this.burst, this.drainPerSecond])).rows[0];
    if (!row) return 1000 / this.drainPerSecond;
    const level = row.taken ? row.level + 1 : row.level;
    this.seen = { level, at: Date.now() };
    return row.taken ? 0 : Math.ceil(((row.level + 1 - this.burst) * 1000) / this.drainPerSecond);
  }

  budget(): RequestBudget {
    const intervalMs = 1000 / this.drainPerSecond;
    const level = Math.max(0, this.seen.level - ((Date.now() - this.seen.at) * this.drainPerSecond) / 1000);
    const available = this.burst - level;
    return { available, burst: this.burst, nextInMs: available >= 1 ? 0 : Math.ceil((1 - available) * intervalMs), intervalMs };
  }
}
