// The SQLite store: one file, WAL journal, synchronous=FULL by default so an accepted event survives a crash
// or a power cut the moment its insert returns. Statements are prepared once; every method is one statement or
// one transaction, so a killed process leaves either the old or the new state.
import { chmodSync, closeSync, existsSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { ConfigError } from '../config.js';
import { migrateSqlite } from './migrate.js';
import { SQLITE_MIGRATIONS } from './schema.js';
import type { Lang } from '../../template/schema.js';
import { pickLane, nextDueAt } from '../schedule.js';
import { defaultSettings, type PortalSettings } from '../settings.js';
import type { StoreRows, TableCounts } from './rows.js';
import { setUpCipher, type SecretKeys, type TokenCipher } from './secrets.js';
import type {
  ActionState, ClaimScope, ExclusiveWork, Job, JobKind, JobStatus, NewEpisode, NewJob, NewRequirement, Observation, PortalActivity, PortalInfo, PortalPatch, PortalRecord,
  QueueLane, QueueStats, RecallEpisode,
  RecallQuery, Requirement, ServiceStore, TokenUpdate,
} from './types.js';

export interface SqliteStoreOptions {
  /** FULL (default) survives power loss; NORMAL survives a process crash only, and is faster. */
  synchronous?: 'FULL' | 'NORMAL';
  readonly?: boolean;
  /** The keys of the tokens at rest; without them (read-only tools) portals are listed but their tokens not read. */
  keys?: SecretKeys;
  /** What a portal's settings start from (the service's environment): settings it never stored take these. */
  settingsDefaults?: PortalSettings;
  /** Where the file was named, for messages (default: --db or AUTOSALON_DB). */
  setting?: string;
}

/** The token columns, encrypted at rest. */
const TOKEN_COLUMNS = ['access_token', 'refresh_token', 'application_token'] as const;
type TokenColumn = (typeof TOKEN_COLUMNS)[number];
const tokenContext = (memberId: string, column: TokenColumn) => `${memberId}|${column}`;

/**
 * Creates the database file readable by its owner only, in a directory only the owner can enter when it is new;
 * SQLite gives its -wal and -shm files the database file's mode. An existing file is narrowed to 0600 too.
 */
function privateFile(file: string): void {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  if (!existsSync(file)) closeSync(openSync(file, 'wx', 0o600));
  for (const path of [file, `${file}-wal`, `${file}-shm`]) if (existsSync(path)) chmodSync(path, 0o600);
}

/** The schema version, or -1 for a file SQLite cannot read (it is not a database at all). */
function readableVersion(db: Database.Database): number {
  try {
    return Number(db.pragma('user_version', { simple: true }));
  } catch {
    return -1;
  }
}

interface PortalRow {
  member_id: string; domain: string; client_endpoint: string; access_token: string; refresh_token: string;
  expires: number; scope: string; user_id: number; application_token: string; lang: string; tier: string; plan: string;
  installed_at: number; install_state: string; install_error: string | null; last_sweep_at: number | null;
  settings: string; last_error: string | null; last_error_at: number | null;
}

interface JobRow {
  id: number; member_id: string; kind: string; payload: string; run_at: number; dedupe_key: string | null;
  status: string; attempts: number; last_error: string | null; created_at: number; coalesce_key: string | null;
}

interface EpisodeRow {
  id: number; member_id: string; deal_id: string; stage_id: string; entered_at: number; recall_date: string; status: string;
  activity_id: number | null; reason: string; deal_title: string; client: string; responsible_id: number;
  responsible_name: string; source: string; created_at: number; closed_at: number | null;
}

const toPortalInfo = (r: PortalRow, settingsDefaults: PortalSettings): PortalInfo => ({
  memberId: r.member_id,
  domain: r.domain,
  clientEndpoint: r.client_endpoint,
  scope: r.scope,
  userId: r.user_id,
  lang: r.lang as Lang,
  tier: r.tier,
  plan: r.plan,
  installedAt: r.installed_at,
  installState: r.install_state as PortalRecord['installState'],
  installError: r.install_error ?? undefined,
  lastSweepAt: r.last_sweep_at ?? undefined,
  settings: { ...settingsDefaults, ...(JSON.parse(r.settings) as Partial<PortalSettings>) },
  lastError: r.last_error ?? undefined,
  lastErrorAt: r.last_error_at ?? undefined,
});

interface ObservationRow { stage_id: string; stage_entered_at: number; watched: string; updated_at: number; modified_at: string | null }

const toObservation = (memberId: string, entity: 'lead' | 'deal', itemId: string, row: ObservationRow): Observation => ({
  memberId, entity, itemId,
  stageId: row.stage_id,
  stageEnteredAt: row.stage_entered_at,
  watched: JSON.parse(row.watched) as Record<string, string>,
  updatedAt: row.updated_at,
  ...(row.modified_at !== null ? { modifiedAt: row.modified_at } : {}),
});

const toJob = (r: JobRow): Job => ({
  id: r.id,
  memberId: r.member_id,
  kind: r.kind as Job['kind'],
  payload: JSON.parse(r.payload) as unknown,
  runAt: r.run_at,
  dedupeKey: r.dedupe_key ?? undefined,
  coalesceKey: r.coalesce_key ?? undefined,
  status: r.status as JobStatus,
  attempts: r.attempts,
  lastError: r.last_error ?? undefined,
  createdAt: r.created_at,
});

const toEpisode = (r: EpisodeRow): RecallEpisode => ({
  id: r.id,
  memberId: r.member_id,
  dealId: r.deal_id,
  stageId: r.stage_id,
  enteredAt: r.entered_at,
  recallDate: r.recall_date,
  status: r.status as RecallEpisode['status'],
  activityId: r.activity_id ?? undefined,
  reason: r.reason,
  dealTitle: r.deal_title,
  client: r.client,
  responsibleId: r.responsible_id,
  responsibleName: r.responsible_name,
  source: r.source as RecallEpisode['source'],
  createdAt: r.created_at,
  closedAt: r.closed_at ?? undefined,
});

function statsOf(rows: { status: string; n: number; due: number }[]): QueueStats {
  const stats: QueueStats = { queued: 0, due: 0, running: 0, failed: 0, done: 0 };
  for (const row of rows) {
    if (row.status === 'queued') {
      stats.queued = row.n;
      stats.due = row.due;
    } else if (row.status === 'running' || row.status === 'failed' || row.status === 'done') {
      stats[row.status] = row.n;
    }
  }
  return stats;
}

export class SqliteStore implements ServiceStore {
  private readonly db: Database.Database;
  private readonly stmt: ReturnType<SqliteStore['prepare']>;
  private readonly settingsDefaults: PortalSettings;
  private cipher?: TokenCipher;

  /**
   * Opens (creating when new) the database file and brings its schema up to date; read-only, it must be a service
   * database of this version already.
   */
  static async open(file: string, options: SqliteStoreOptions = {}): Promise<SqliteStore> {
    if (file !== ':memory:' && !options.readonly) privateFile(file);
    const db = new Database(file, { readonly: options.readonly ?? false, fileMustExist: options.readonly ?? false });
    let migrated: string[] = [];
    try {
      if (!options.readonly) {
        db.pragma('journal_mode = WAL');
        db.pragma(`synchronous = ${options.synchronous ?? 'FULL'}`);
        db.pragma('busy_timeout = 5000');
        migrated = await migrateSqlite(db, file);
      } else {
        const version = readableVersion(db);
        if (version < SQLITE_MIGRATIONS.length) {
          // A setting points at the wrong file: said like any other wrong setting (no stack-trace hint in the CLI).
          throw new ConfigError(version < 0
            ? `${file} is not an Autosalon service database (not an SQLite file at all): point ${options.setting ?? '--db or AUTOSALON_DB'} at the file "autosalon serve" writes`
            : `${file} is not an Autosalon service database (or was written by an older version): bring it up to date with "autosalon db migrate --db ${file}"`);
        }
      }
      return new SqliteStore(file, db, options, migrated);
    } catch (error) {
      db.close();
      throw error;
    }
  }

  private constructor(
    readonly file: string,
    db: Database.Database,
    options: SqliteStoreOptions,
    /** The migrations this open ran (autosalon db migrate reports them). */
    readonly migrated: string[] = [],
  ) {
    this.db = db;
    this.settingsDefaults = options.settingsDefaults ?? defaultSettings();
    this.stmt = this.prepare();
    if (options.keys) this.setUpTokens(options.keys, options.readonly ?? false);
  }

  /**
   * Takes the secret keys: a database without encrypted tokens yet (new, or from before encryption) has them
   * encrypted now; one under an older key (rotation) is re-encrypted with the current one, in one transaction.
   */
  tokensRotated = false;

  private setUpTokens(keys: SecretKeys, readonly: boolean): void {
    const stored = this.db.prepare<[], { value: string }>(`SELECT value FROM meta WHERE key = 'key_check'`).get()?.value;
    const setup = setUpCipher(stored, readonly ? { ...keys, generate: undefined } : keys, this.file);
    this.cipher = setup.cipher;
    if (!setup.rewrite) return;
    this.tokensRotated = stored !== undefined;
    if (readonly) throw new ConfigError(`the tokens in ${this.file} must be re-encrypted with the new key: start "autosalon serve" on it once`);
    const previous = stored === undefined ? undefined : setup.cipher;
    this.db.transaction(() => {
      const rows = this.db.prepare<[], Pick<PortalRow, 'member_id' | TokenColumn>>(`SELECT member_id, ${TOKEN_COLUMNS.join(', ')} FROM portals`).all();
      for (const row of rows) {
        const values = Object.fromEntries(TOKEN_COLUMNS.map((column) => {
          const context = tokenContext(row.member_id, column);
          // Before the first encryption the columns hold plain text; during a rotation, text under the old key.
          const plain = previous ? previous.decrypt(row[column], context) : row[column];
          return [column, setup.cipher.encrypt(plain, context)];
        }));
        this.db.prepare(`UPDATE portals SET ${TOKEN_COLUMNS.map((c) => `${c} = @${c}`).join(', ')} WHERE member_id = @member_id`)
          .run({ ...values, member_id: row.member_id });
      }
      this.db.prepare(`INSERT INTO meta (key, value) VALUES ('key_check', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`).run(setup.check);
    })();
    // The plain (or old-key) values must not live on in free pages or the write-ahead log.
    this.db.exec('VACUUM');
    this.db.pragma('wal_checkpoint(TRUNCATE)');
  }

  private tokens(): TokenCipher {
    if (!this.cipher) throw new ConfigError(`${this.file} was opened without the secret key, so its tokens cannot be read`);
    return this.cipher;
  }

  private seal(memberId: string, column: TokenColumn, plain: string): string {
    return this.tokens().encrypt(plain, tokenContext(memberId, column));
  }

  private open(row: PortalRow): PortalRecord {
    const cipher = this.tokens();
    const plain = (column: TokenColumn) => cipher.decrypt(row[column], tokenContext(row.member_id, column));
    return {
      ...toPortalInfo(row, this.settingsDefaults),
      accessToken: plain('access_token'), refreshToken: plain('refresh_token'), expires: row.expires, applicationToken: plain('application_token'),
    };
  }

  private prepare() {
    const db = this.db;
    return {
      upsertPortal: db.prepare(`
        INSERT INTO portals (member_id, domain, client_endpoint, access_token, refresh_token, expires, scope, user_id,
          application_token, lang, tier, plan, installed_at, install_state, install_error, last_sweep_at, settings, last_error, last_error_at)
        VALUES (@member_id, @domain, @client_endpoint, @access_token, @refresh_token, @expires, @scope, @user_id,
          @application_token, @lang, @tier, @plan, @installed_at, @install_state, @install_error, @last_sweep_at, @settings, @last_error, @last_error_at)
        ON CONFLICT (member_id) DO UPDATE SET domain = excluded.domain, client_endpoint = excluded.client_endpoint,
          access_token = excluded.access_token, refresh_token = excluded.refresh_token, expires = excluded.expires,
          scope = excluded.scope, user_id = excluded.user_id, application_token = excluded.application_token,
          lang = excluded.lang, tier = excluded.tier, plan = excluded.plan, installed_at = excluded.installed_at,
          install_state = excluded.install_state, install_error = excluded.install_error, last_sweep_at = excluded.last_sweep_at,
          settings = excluded.settings, last_error = excluded.last_error, last_error_at = excluded.last_error_at`),
      getPortal: db.prepare<[string], PortalRow>('SELECT * FROM portals WHERE member_id = ?'),
      listPortals: db.prepare<[], PortalRow>('SELECT * FROM portals ORDER BY installed_at, member_id'),
      updateTokens: db.prepare(`UPDATE portals SET access_token = @accessToken, refresh_token = @refreshToken,
        expires = @expires, client_endpoint = @clientEndpoint, scope = @scope WHERE member_id = @memberId`),
      uninstall: db.prepare(`UPDATE portals SET access_token = '', refresh_token = '', expires = 0, application_token = '',
        install_state = 'uninstalled' WHERE member_id = ?`),
      dropPortalJobs: db.prepare(`UPDATE jobs SET status = 'done', finished_at = ?, last_error = 'the application was uninstalled'
        WHERE member_id = ? AND status IN ('queued', 'running')`),
      saveSettings: db.prepare(`UPDATE portals SET settings = ? WHERE member_id = ?`),
      lanes: db.prepare<[], { member_id: string; due_at: number | null; served_seq: number }>('SELECT member_id, due_at, served_seq FROM queue_lanes'),
      laneQueued: db.prepare(`INSERT INTO queue_lanes (member_id, due_at) VALUES (?, ?)
        ON CONFLICT (member_id) DO UPDATE SET due_at = min(coalesce(due_at, excluded.due_at), excluded.due_at)`),
      laneRecompute: db.prepare(`UPDATE queue_lanes SET due_at = (SELECT min(run_at) FROM jobs WHERE member_id = @memberId AND status = 'queued')
        WHERE member_id = @memberId`),
      laneServed: db.prepare(`UPDATE queue_lanes SET served_seq = (SELECT coalesce(max(served_seq), 0) + 1 FROM queue_lanes) WHERE member_id = ?`),
      portalDue: db.prepare<[string, number, number], JobRow>(`SELECT * FROM jobs WHERE member_id = ? AND status = 'queued' AND run_at <= ?
        ORDER BY run_at, id LIMIT ?`),
      leaseExpired: db.prepare<[number], { id: number; run_at: number }>(`SELECT id, run_at FROM jobs WHERE status = 'running' AND locked_until < ?`),
      jobPortal: db.prepare<[number], { member_id: string; run_at: number }>('SELECT member_id, run_at FROM jobs WHERE id = ?'),
      insertJob: db.prepare(`INSERT INTO jobs (member_id, kind, payload, run_at, dedupe_key, coalesce_key, created_at)
        VALUES (@memberId, @kind, @payload, @runAt, @dedupeKey, @coalesceKey, @createdAt) ON CONFLICT DO NOTHING`),
      jobByKey: db.prepare<[string], { id: number }>('SELECT id FROM jobs WHERE dedupe_key = ?'),
      queuedByCoalesceKey: db.prepare<[string], { id: number }>(`SELECT id FROM jobs WHERE coalesce_key = ? AND status = 'queued'`),
      lease: db.prepare(`UPDATE jobs SET status = 'running', locked_until = ?, attempts = attempts + 1 WHERE id = ?`),
      complete: db.prepare(`UPDATE jobs SET status = 'done', locked_until = NULL, finished_at = ? WHERE id = ?`),
      retry: db.prepare(`UPDATE jobs SET status = 'queued', locked_until = NULL, run_at = ?, last_error = ? WHERE id = ?`),
      fail: db.prepare(`UPDATE jobs SET status = 'failed', locked_until = NULL, last_error = ?, finished_at = ? WHERE id = ?`),
      prune: db.prepare(`DELETE FROM jobs WHERE status = 'done' AND finished_at < ?`),
      running: db.prepare<[], { id: number; run_at: number }>(`SELECT id, run_at FROM jobs WHERE status = 'running'`),
      queuedSibling: db.prepare<[number], { id: number; run_at: number }>(`SELECT s.id, s.run_at FROM jobs j JOIN jobs s
        ON s.coalesce_key = j.coalesce_key AND s.status = 'queued' AND s.id <> j.id WHERE j.id = ?`),
      mergedInto: db.prepare(`UPDATE jobs SET status = 'done', finished_at = ?, last_error = ? WHERE id = ?`),
      stats: db.prepare<[number], { status: string; n: number; due: number }>(`SELECT status, count(*) AS n,
        sum(CASE WHEN run_at <= ? THEN 1 ELSE 0 END) AS due FROM jobs GROUP BY status`),
      statsByPortal: db.prepare<[number], { member_id: string; status: string; n: number; due: number }>(`SELECT member_id, status, count(*) AS n,
        sum(CASE WHEN run_at <= ? THEN 1 ELSE 0 END) AS due FROM jobs GROUP BY member_id, status`),
      getObservation: db.prepare<[string, string, string], ObservationRow>(
        'SELECT stage_id, stage_entered_at, watched, updated_at, modified_at FROM observations WHERE member_id = ? AND entity = ? AND item_id = ?'),
      saveObservation: db.prepare(`INSERT INTO observations (member_id, entity, item_id, stage_id, stage_entered_at, watched, updated_at, modified_at)
        VALUES (@memberId, @entity, @itemId, @stageId, @stageEnteredAt, @watched, @updatedAt, @modifiedAt)
        ON CONFLICT (member_id, entity, item_id) DO UPDATE SET stage_id = excluded.stage_id,
          stage_entered_at = excluded.stage_entered_at, watched = excluded.watched, updated_at = excluded.updated_at,
          modified_at = excluded.modified_at`),
      countObservedSince: db.prepare<[string, string, number], { n: number }>(
        'SELECT count(*) AS n FROM observations WHERE member_id = ? AND entity = ? AND updated_at >= ?'),
      getObservations: db.prepare<[string, string, string], ObservationRow & { item_id: string }>(`SELECT item_id, stage_id, stage_entered_at, watched,
        updated_at, modified_at FROM observations WHERE member_id = ? AND entity = ? AND item_id IN (SELECT value FROM json_each(?))`),
      insertAction: db.prepare(`INSERT INTO actions (key, member_id, status, started_at) VALUES (?, ?, 'started', ?)
        ON CONFLICT (key) DO NOTHING`),
      getAction: db.prepare<[string], { status: string; result: string | null; started_at: number }>(
        'SELECT status, result, started_at FROM actions WHERE key = ?'),
      finishAction: db.prepare(`UPDATE actions SET status = 'done', result = ?, finished_at = ? WHERE key = ?`),
      insertEpisode: db.prepare(`INSERT INTO episodes (member_id, deal_id, stage_id, entered_at, recall_date, status, reason,
          deal_title, client, responsible_id, responsible_name, source, created_at)
        VALUES (@memberId, @dealId, @stageId, @enteredAt, @recallDate, 'open', @reason, @dealTitle, @client, @responsibleId,
          @responsibleName, @source, @createdAt)
        ON CONFLICT (member_id, deal_id) WHERE status = 'open' DO NOTHING`),
      openEpisode: db.prepare<[string, string], EpisodeRow>(`SELECT * FROM episodes WHERE member_id = ? AND deal_id = ? AND status = 'open'`),
      closeEpisode: db.prepare(`UPDATE episodes SET status = 'closed', closed_at = ? WHERE member_id = ? AND deal_id = ? AND status = 'open'`),
      insertRequirement: db.prepare(`INSERT INTO requirements (member_id, entity, item_id, activity_id, fields, created_at)
        VALUES (@memberId, @entity, @itemId, @activityId, @fields, @createdAt) ON CONFLICT (member_id, activity_id) DO NOTHING`),
      openRequirements: db.prepare<[string, string, string], { id: number; activity_id: number; fields: string; created_at: number }>(
        `SELECT id, activity_id, fields, created_at FROM requirements WHERE member_id = ? AND entity = ? AND item_id = ? AND status = 'open' ORDER BY id`),
      closeRequirement: db.prepare(`UPDATE requirements SET status = 'closed', outcome = ?, closed_at = ? WHERE id = ? AND status = 'open'`),
    };
  }

  async savePortal(p: PortalRecord): Promise<void> {
    this.stmt.upsertPortal.run({
      member_id: p.memberId, domain: p.domain, client_endpoint: p.clientEndpoint, access_token: this.seal(p.memberId, 'access_token', p.accessToken),
      refresh_token: this.seal(p.memberId, 'refresh_token', p.refreshToken), expires: p.expires, scope: p.scope, user_id: p.userId,
      application_token: this.seal(p.memberId, 'application_token', p.applicationToken), lang: p.lang, tier: p.tier, plan: p.plan,
      installed_at: p.installedAt, install_state: p.installState, install_error: p.installError ?? null, last_sweep_at: p.lastSweepAt ?? null,
      settings: JSON.stringify(p.settings), last_error: p.lastError ?? null, last_error_at: p.lastErrorAt ?? null,
    });
  }

  async getPortal(memberId: string): Promise<PortalRecord | undefined> {
    const row = this.stmt.getPortal.get(memberId);
    return row ? this.open(row) : undefined;
  }

  async listPortals(): Promise<PortalInfo[]> {
    return this.stmt.listPortals.all().map((row) => toPortalInfo(row, this.settingsDefaults));
  }

  async updateTokens(memberId: string, t: TokenUpdate): Promise<void> {
    this.stmt.updateTokens.run({
      ...t, memberId, accessToken: this.seal(memberId, 'access_token', t.accessToken), refreshToken: this.seal(memberId, 'refresh_token', t.refreshToken),
    });
  }

  async updatePortal(memberId: string, patch: PortalPatch): Promise<void> {
    this.patch('portals', 'member_id', memberId, patch, {
      tier: 'tier', plan: 'plan', installState: 'install_state', installError: 'install_error', installedAt: 'installed_at', lastSweepAt: 'last_sweep_at',
      lastError: 'last_error', lastErrorAt: 'last_error_at',
    });
  }

  async saveSettings(memberId: string, settings: PortalSettings): Promise<void> {
    this.stmt.saveSettings.run(JSON.stringify(settings), memberId);
  }

  /** Sets the columns of one row for the keys the patch has (undefined clears a column); other columns stay. */
  private patch(table: string, keyColumn: string, key: string | number, patch: object, columns: Record<string, string>): void {
    const given = Object.entries(columns).filter(([name]) => name in patch);
    if (given.length === 0) return;
    const values = Object.fromEntries(given.map(([name]) => [name, (patch as Record<string, unknown>)[name] ?? null]));
    this.db.prepare(`UPDATE ${table} SET ${given.map(([name, column]) => `${column} = @${name}`).join(', ')} WHERE ${keyColumn} = @key`)
      .run({ ...values, key });
  }

  async markUninstalled(memberId: string, now: number): Promise<void> {
    this.db.transaction(() => {
      this.stmt.uninstall.run(memberId);
      this.stmt.dropPortalJobs.run(now, memberId);
      this.stmt.laneRecompute.run({ memberId });
    })();
  }

  enqueue(job: NewJob): Promise<{ id: number; created: boolean }> {
    return this.grouped(() => this.insertJob(job));
  }

  private pending: { write: () => unknown; resolve: (value: never) => void; reject: (error: unknown) => void }[] = [];

  /**
   * Writes are committed in groups: those made while the event loop is busy — events arriving, the jobs of a batch
   * recording their actions as started and done — share one transaction, so one disk sync, and each promise resolves
   * only once its group is on disk (an action is recorded as started durably before its effect is sent). Each write
   * is a savepoint of its own: one that fails is refused alone.
   */
  private grouped<T>(write: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.pending.push({ write, resolve: resolve as (value: never) => void, reject });
      if (this.pending.length === 1) setImmediate(() => this.flush());
    });
  }

  private flush(): void {
    const group = this.pending;
    this.pending = [];
    const outcomes: ({ ok: true; value: unknown } | { ok: false; error: unknown })[] = [];
    try {
      this.db.transaction(() => {
        for (const p of group) {
          try {
            outcomes.push({ ok: true, value: this.db.transaction(p.write)() });
          } catch (error) {
            outcomes.push({ ok: false, error });
          }
        }
      }).immediate();
    } catch (error) {
      for (const p of group) p.reject(error);
      return;
    }
    group.forEach((p, i) => {
      const outcome = outcomes[i];
      if (outcome.ok) p.resolve(outcome.value as never);
      else p.reject(outcome.error);
    });
  }

  private insertJob(job: NewJob): { id: number; created: boolean } {
    const r = this.stmt.insertJob.run({
      memberId: job.memberId, kind: job.kind, payload: JSON.stringify(job.payload ?? null), runAt: job.runAt,
      dedupeKey: job.dedupeKey ?? null, coalesceKey: job.coalesceKey ?? null, createdAt: Date.now(),
    });
    if (r.changes === 1) {
      this.stmt.laneQueued.run(job.memberId, job.runAt);
      return { id: Number(r.lastInsertRowid), created: true };
    }
    const existing = (job.dedupeKey !== undefined ? this.stmt.jobByKey.get(job.dedupeKey) : undefined)
      ?? (job.coalesceKey !== undefined ? this.stmt.queuedByCoalesceKey.get(job.coalesceKey) : undefined);
    return { id: existing?.id ?? 0, created: false };
  }

  /**
   * Puts a taken job back in the queue at runAt. A job for the same item queued meanwhile (a newer event) is merged
   * into it: one job does the item's work, keeping the attempts made so far, at the earlier of the two times.
   */
  private requeue(jobId: number, runAt: number, error: string | null): void {
    const sibling = this.stmt.queuedSibling.get(jobId);
    if (sibling) {
      this.stmt.mergedInto.run(Date.now(), `merged into job ${jobId} (the same item)`, sibling.id);
      runAt = Math.min(runAt, sibling.run_at);
    }
    this.stmt.retry.run(runAt, error, jobId);
    const job = this.stmt.jobPortal.get(jobId);
    if (job) this.stmt.laneQueued.run(job.member_id, runAt);
  }

  private lanes(): QueueLane[] {
    return this.stmt.lanes.all().map((r) => ({ memberId: r.member_id, dueAt: r.due_at ?? undefined, servedSeq: r.served_seq }));
  }

  async claimDue(now: number, leaseMs: number, busy: ReadonlySet<string> = new Set()): Promise<Job | undefined> {
    return (await this.claimDueBatch(now, leaseMs, 1, { busy }))[0];
  }

  async claimDueBatch(now: number, leaseMs: number, limit: number, scope: ClaimScope = {}): Promise<Job[]> {
    return this.db.transaction(() => {
      // Jobs whose lease ran out (their process died) are queued again first.
      for (const expired of this.stmt.leaseExpired.all(now)) this.requeue(expired.id, expired.run_at, null);
      const memberId = scope.memberId ?? pickLane(this.lanes(), now, scope.busy ?? new Set());
      if (memberId === undefined) return [];
      const rows = this.stmt.portalDue.all(memberId, now, Math.max(1, limit));
      if (rows.length === 0) return [];
      for (const row of rows) this.stmt.lease.run(now + leaseMs, row.id);
      this.stmt.laneRecompute.run({ memberId });
      this.stmt.laneServed.run(memberId);
      return rows.map((row) => toJob({ ...row, status: 'running', attempts: row.attempts + 1 }));
    }).immediate();
  }

  async complete(jobId: number, now: number): Promise<void> {
    await this.grouped(() => this.stmt.complete.run(now, jobId));
  }

  async retry(jobId: number, runAt: number, error: string): Promise<void> {
    await this.grouped(() => this.requeue(jobId, runAt, error));
  }

  async fail(jobId: number, error: string, now: number): Promise<void> {
    await this.grouped(() => this.stmt.fail.run(error, now, jobId));
  }

  async requeueRunning(): Promise<number> {
    return this.db.transaction(() => {
      const running = this.stmt.running.all();
      for (const job of running) this.requeue(job.id, job.run_at, null);
      return running.length;
    })();
  }

  async queueStats(now: number): Promise<QueueStats> {
    return statsOf(this.stmt.stats.all(now));
  }

  async queueStatsByPortal(now: number): Promise<Map<string, QueueStats>> {
    const rows = new Map<string, { status: string; n: number; due: number }[]>();
    for (const row of this.stmt.statsByPortal.all(now)) rows.set(row.member_id, [...(rows.get(row.member_id) ?? []), row]);
    return new Map([...rows].map(([memberId, portalRows]) => [memberId, statsOf(portalRows)]));
  }

  async nextRunAt(busy: ReadonlySet<string> = new Set()): Promise<number | undefined> {
    return nextDueAt(this.lanes(), busy);
  }

  async listJobs(filter: { status?: JobStatus; memberId?: string } = {}): Promise<Job[]> {
    const where: string[] = [];
    if (filter.status) where.push('status = @status');
    if (filter.memberId) where.push('member_id = @memberId');
    const sql = `SELECT * FROM jobs ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id`;
    return (this.db.prepare(sql).all(filter) as JobRow[]).map(toJob);
  }

  async portalActivity(memberId: string, failures = 5): Promise<PortalActivity> {
    const last = this.db.prepare<[string], { at: number | null }>(`SELECT MAX(created_at) AS at FROM jobs WHERE member_id = ? AND kind IN ('event', 'robot')`).get(memberId);
    const failed = this.db.prepare<[string, number], { id: number; kind: JobKind; last_error: string | null; finished_at: number | null; created_at: number }>(
      `SELECT id, kind, last_error, finished_at, created_at FROM jobs WHERE member_id = ? AND status = 'failed' ORDER BY id DESC LIMIT ?`).all(memberId, failures);
    return {
      lastEventAt: last?.at ?? undefined,
      failures: failed.map((r) => ({ id: r.id, kind: r.kind, error: r.last_error ?? '', at: r.finished_at ?? r.created_at })),
    };
  }

  /** One process uses the file: its client's own limiter is the portal's budget. */
  requestGate(): undefined {
    return undefined;
  }

  /** One process uses the file: nobody else queues jobs. */
  onQueuedElsewhere(): void {}

  /** One process uses the file: nothing to wait for (the installer's file lock keeps the CLI and the service apart). */
  async exclusive<T>(_what: ExclusiveWork, _key: string, work: () => Promise<T>): Promise<{ ran: true; value: T }> {
    return { ran: true, value: await work() };
  }

  derivedKey(purpose: string): Buffer {
    return this.tokens().derive(purpose);
  }

  async pruneJobs(finishedBefore: number): Promise<number> {
    return this.stmt.prune.run(finishedBefore).changes;
  }

  async getObservation(memberId: string, entity: 'lead' | 'deal', itemId: string): Promise<Observation | undefined> {
    const row = this.stmt.getObservation.get(memberId, entity, itemId);
    return row ? toObservation(memberId, entity, itemId, row) : undefined;
  }

  async saveObservation(o: Observation): Promise<void> {
    await this.grouped(() => this.stmt.saveObservation.run({ ...o, watched: JSON.stringify(o.watched), modifiedAt: o.modifiedAt ?? null }));
  }

  async countObservedSince(memberId: string, entity: 'lead' | 'deal', since: number): Promise<number> {
    return this.stmt.countObservedSince.get(memberId, entity, since)?.n ?? 0;
  }

  async getObservations(memberId: string, entity: 'lead' | 'deal', itemIds: string[]): Promise<Map<string, Observation>> {
    const out = new Map<string, Observation>();
    if (itemIds.length === 0) return out;
    for (const row of this.stmt.getObservations.all(memberId, entity, JSON.stringify(itemIds))) out.set(row.item_id, toObservation(memberId, entity, row.item_id, row));
    return out;
  }

  async beginAction(key: string, memberId: string, now: number): Promise<ActionState> {
    return this.grouped((): ActionState => {
      const before = this.readAction(key);
      if (before.state === 'new') this.stmt.insertAction.run(key, memberId, now);
      return before;
    });
  }

  private readAction(key: string): ActionState {
    const row = this.stmt.getAction.get(key);
    if (!row) return { state: 'new' };
    if (row.status === 'done') return { state: 'done', result: row.result === null ? null : (JSON.parse(row.result) as unknown) };
    return { state: 'started', startedAt: row.started_at };
  }

  async getAction(key: string): Promise<ActionState> {
    return this.readAction(key);
  }

  async finishAction(key: string, result: unknown, now: number): Promise<void> {
    await this.grouped(() => this.stmt.finishAction.run(JSON.stringify(result ?? null), now, key));
  }

  async openEpisode(e: NewEpisode): Promise<{ episode: RecallEpisode; created: boolean }> {
    return this.db.transaction(() => {
      const created = this.stmt.insertEpisode.run(e).changes === 1;
      const row = this.stmt.openEpisode.get(e.memberId, e.dealId) as EpisodeRow;
      return { episode: toEpisode(row), created };
    }).immediate();
  }

  async getOpenEpisode(memberId: string, dealId: string): Promise<RecallEpisode | undefined> {
    const row = this.stmt.openEpisode.get(memberId, dealId);
    return row ? toEpisode(row) : undefined;
  }

  async updateEpisode(id: number, patch: Partial<Pick<RecallEpisode, 'activityId' | 'reason' | 'client' | 'responsibleName'>>): Promise<void> {
    this.patch('episodes', 'id', id, patch, { activityId: 'activity_id', reason: 'reason', client: 'client', responsibleName: 'responsible_name' });
  }

  async closeEpisode(memberId: string, dealId: string, now: number): Promise<void> {
    this.stmt.closeEpisode.run(now, memberId, dealId);
  }

  async listRecalls(query: RecallQuery): Promise<RecallEpisode[]> {
    const where: string[] = [];
    if (query.date) where.push('recall_date = @date');
    if (query.memberId) where.push('member_id = @memberId');
    const sql = `SELECT * FROM episodes ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY recall_date, member_id, responsible_name, id`;
    return (this.db.prepare(sql).all(query) as EpisodeRow[]).map(toEpisode);
  }

  async addRequirement(r: NewRequirement): Promise<void> {
    this.stmt.insertRequirement.run({ ...r, fields: JSON.stringify(r.fields) });
  }

  async openRequirements(memberId: string, entity: 'lead' | 'deal', itemId: string): Promise<Requirement[]> {
    return this.stmt.openRequirements.all(memberId, entity, itemId).map((row) => ({
      id: row.id, memberId, entity, itemId, activityId: row.activity_id, fields: JSON.parse(row.fields) as string[], createdAt: row.created_at,
    }));
  }

  async closeRequirement(id: number, outcome: string, now: number): Promise<void> {
    this.stmt.closeRequirement.run(outcome, now, id);
  }

  /** Every row the service keeps, as stored (tokens encrypted), for `autosalon db copy`. */
  exportRows(): StoreRows {
    const all = <T>(table: string) => this.db.prepare(`SELECT * FROM ${table} ORDER BY rowid`).all() as T[];
    return {
      keyCheck: this.db.prepare<[], { value: string }>(`SELECT value FROM meta WHERE key = 'key_check'`).get()?.value,
      portals: all('portals'), jobs: all('jobs'), observations: all('observations'), actions: all('actions'), episodes: all('episodes'),
      requirements: all('requirements'),
    };
  }

  /** How many rows each kind of state has (jobs by status), to compare a copy with its source. */
  async tableCounts(): Promise<TableCounts> {
    const count = (table: string) => this.db.prepare<[], { n: number }>(`SELECT count(*) AS n FROM ${table}`).get()?.n ?? 0;
    const jobs = statsOf(this.stmt.stats.all(Number.MAX_SAFE_INTEGER));
    return {
      portals: count('portals'), observations: count('observations'), actions: count('actions'), episodes: count('episodes'),
      requirements: count('requirements'), jobsQueued: jobs.queued + jobs.running, jobsDone: jobs.done, jobsFailed: jobs.failed,
      dedupeKeys: this.db.prepare<[], { n: number }>('SELECT count(*) AS n FROM jobs WHERE dedupe_key IS NOT NULL').get()?.n ?? 0,
    };
  }

  async close(): Promise<void> {
    if (this.pending.length) this.flush();
    if (this.db.open) this.db.close();
  }
}
