// The schema of the service's database, as the ordered migrations of each backend (run by migrate.ts through umzug).
// A migration is never changed once released: a change of the schema is a new migration, on both backends.
// Times are milliseconds since the epoch (the service's clock), as integers.

export interface SqlMigration {
  name: string;
  sql: string;
}

/** SQLite: the first four are the schema versions 1–4 of the hand-rolled user_version migrations they replace. */
export const SQLITE_MIGRATIONS: SqlMigration[] = [
  {
    name: '0001-portals-jobs-observations-actions-episodes',
    sql: `
  CREATE TABLE portals (
    member_id TEXT PRIMARY KEY,
    domain TEXT NOT NULL,
    client_endpoint TEXT NOT NULL,
    access_token TEXT NOT NULL,
    refresh_token TEXT NOT NULL,
    expires INTEGER NOT NULL,
    scope TEXT NOT NULL,
    user_id INTEGER NOT NULL,
    application_token TEXT NOT NULL,
    lang TEXT NOT NULL,
    tier TEXT NOT NULL,
    plan TEXT NOT NULL,
    installed_at INTEGER NOT NULL,
    install_state TEXT NOT NULL,
    install_error TEXT,
    last_sweep_at INTEGER
  );
  CREATE TABLE jobs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    member_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    run_at INTEGER NOT NULL,
    dedupe_key TEXT UNIQUE,
    status TEXT NOT NULL DEFAULT 'queued',
    attempts INTEGER NOT NULL DEFAULT 0,
    locked_until INTEGER,
    last_error TEXT,
    created_at INTEGER NOT NULL,
    finished_at INTEGER
  );
  CREATE INDEX jobs_due ON jobs (status, run_at, id);
  CREATE TABLE observations (
    member_id TEXT NOT NULL,
    entity TEXT NOT NULL,
    item_id TEXT NOT NULL,
    stage_id TEXT NOT NULL,
    stage_entered_at INTEGER NOT NULL,
    watched TEXT NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (member_id, entity, item_id)
  );
  CREATE TABLE actions (
    key TEXT PRIMARY KEY,
    member_id TEXT NOT NULL,
    status TEXT NOT NULL,
    result TEXT,
    started_at INTEGER NOT NULL,
    finished_at INTEGER
  );
  CREATE TABLE episodes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    member_id TEXT NOT NULL,
    deal_id TEXT NOT NULL,
    stage_id TEXT NOT NULL,
    entered_at INTEGER NOT NULL,
    recall_date TEXT NOT NULL,
    status TEXT NOT NULL,
    activity_id INTEGER,
    reason TEXT NOT NULL,
    deal_title TEXT NOT NULL,
    client TEXT NOT NULL,
    responsible_id INTEGER NOT NULL,
    responsible_name TEXT NOT NULL,
    source TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    closed_at INTEGER
  );
  -- One open refusal episode per deal: the event path and the robot path meet here.
  CREATE UNIQUE INDEX episodes_open ON episodes (member_id, deal_id) WHERE status = 'open';
  CREATE INDEX episodes_by_date ON episodes (recall_date, member_id);
  `,
  },
  {
    name: '0002-requirements',
    sql: `
  CREATE TABLE requirements (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    member_id TEXT NOT NULL,
    entity TEXT NOT NULL,
    item_id TEXT NOT NULL,
    activity_id INTEGER NOT NULL,
    fields TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'open',
    outcome TEXT,
    created_at INTEGER NOT NULL,
    closed_at INTEGER,
    UNIQUE (member_id, activity_id)
  );
  CREATE INDEX requirements_open ON requirements (member_id, entity, item_id) WHERE status = 'open';
  `,
  },
  {
    name: '0003-portal-settings-meta-queue-lanes',
    sql: `
  ALTER TABLE portals ADD COLUMN settings TEXT NOT NULL DEFAULT '{}';
  ALTER TABLE portals ADD COLUMN last_error TEXT;
  ALTER TABLE portals ADD COLUMN last_error_at INTEGER;
  CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
  -- Each portal's place in the worker's rotation (see schedule.ts).
  CREATE TABLE queue_lanes (member_id TEXT PRIMARY KEY, due_at INTEGER, served_seq INTEGER NOT NULL DEFAULT 0);
  INSERT INTO queue_lanes (member_id, due_at) SELECT member_id, min(run_at) FROM jobs WHERE status IN ('queued', 'running') GROUP BY member_id;
  CREATE INDEX jobs_portal_due ON jobs (member_id, status, run_at, id);
  CREATE INDEX jobs_leased ON jobs (locked_until) WHERE status = 'running';
  `,
  },
  {
    name: '0004-job-coalescing-observed-modification',
    sql: `
  -- Work on one item that waits as one job: a second event for it before the first is taken adds nothing.
  ALTER TABLE jobs ADD COLUMN coalesce_key TEXT;
  CREATE UNIQUE INDEX jobs_coalesce ON jobs (coalesce_key) WHERE status = 'queued';
  -- DATE_MODIFY of the item when it was observed: a sweep skips items not modified since.
  ALTER TABLE observations ADD COLUMN modified_at TEXT;
  `,
  },
];

/**
 * PostgreSQL: the service's tables in the schema `autosalon`; the jobs themselves are rows of pg-boss's job table (its
 * own schema, created and migrated by pg-boss), one queue per portal. What pg-boss has no place for is here: each
 * portal's place in the rotation (queue_lanes), the dedupe keys of jobs that must be queued once ever (pg-boss's
 * singleton keys hold only while a job waits), the numbers jobs are known by, and each portal's REST budget, which
 * every process spends.
 */
export const POSTGRES_MIGRATIONS: SqlMigration[] = [
  {
    name: '0001-service-tables',
    sql: `
  CREATE TABLE autosalon.meta (key text PRIMARY KEY, value text NOT NULL);
  CREATE TABLE autosalon.portals (
    member_id text PRIMARY KEY,
    domain text NOT NULL,
    client_endpoint text NOT NULL,
    access_token text NOT NULL,
    refresh_token text NOT NULL,
    expires bigint NOT NULL,
    scope text NOT NULL,
    user_id bigint NOT NULL,
    application_token text NOT NULL,
    lang text NOT NULL,
    tier text NOT NULL,
    plan text NOT NULL,
    installed_at bigint NOT NULL,
    install_state text NOT NULL,
    install_error text,
    last_sweep_at bigint,
    settings jsonb NOT NULL DEFAULT '{}',
    last_error text,
    last_error_at bigint
  );
  CREATE TABLE autosalon.observations (
    member_id text NOT NULL,
    entity text NOT NULL,
    item_id text NOT NULL,
    stage_id text NOT NULL,
    stage_entered_at bigint NOT NULL,
    watched jsonb NOT NULL,
    updated_at bigint NOT NULL,
    modified_at text,
    PRIMARY KEY (member_id, entity, item_id)
  );
  CREATE INDEX observations_since ON autosalon.observations (member_id, entity, updated_at);
  CREATE TABLE autosalon.actions (
    key text PRIMARY KEY,
    member_id text NOT NULL,
    status text NOT NULL,
    result jsonb,
    started_at bigint NOT NULL,
    finished_at bigint
  );
  CREATE TABLE autosalon.episodes (
    id bigserial PRIMARY KEY,
    member_id text NOT NULL,
    deal_id text NOT NULL,
    stage_id text NOT NULL,
    entered_at bigint NOT NULL,
    recall_date text NOT NULL,
    status text NOT NULL,
    activity_id bigint,
    reason text NOT NULL,
    deal_title text NOT NULL,
    client text NOT NULL,
    responsible_id bigint NOT NULL,
    responsible_name text NOT NULL,
    source text NOT NULL,
    created_at bigint NOT NULL,
    closed_at bigint
  );
  -- One open refusal episode per deal: the event path and the robot path meet here.
  CREATE UNIQUE INDEX episodes_open ON autosalon.episodes (member_id, deal_id) WHERE status = 'open';
  CREATE INDEX episodes_by_date ON autosalon.episodes (recall_date, member_id);
  CREATE TABLE autosalon.requirements (
    id bigserial PRIMARY KEY,
    member_id text NOT NULL,
    entity text NOT NULL,
    item_id text NOT NULL,
    activity_id bigint NOT NULL,
    fields jsonb NOT NULL,
    status text NOT NULL DEFAULT 'open',
    outcome text,
    created_at bigint NOT NULL,
    closed_at bigint,
    UNIQUE (member_id, activity_id)
  );
  CREATE INDEX requirements_open ON autosalon.requirements (member_id, entity, item_id) WHERE status = 'open';
  -- Each portal's place in the workers' rotation (see schedule.ts): when its earliest queued job is due, when the
  -- lease of its running jobs ends, and when it was last served (a turn number from lane_turns).
  CREATE TABLE autosalon.queue_lanes (member_id text PRIMARY KEY, due_at bigint, lease_until bigint, served_seq bigint NOT NULL DEFAULT 0);
  CREATE SEQUENCE autosalon.lane_turns;
  -- The numbers jobs are known by (pg-boss's job ids are made from them: see postgres.ts jobUuid).
  CREATE SEQUENCE autosalon.job_numbers;
  -- A job with a dedupe key is queued once ever (as long as the job is kept): written with the job, in one transaction.
  CREATE TABLE autosalon.job_dedupe (key text PRIMARY KEY, job_id bigint NOT NULL, member_id text NOT NULL);
  CREATE INDEX job_dedupe_job ON autosalon.job_dedupe (job_id);
  -- Each portal's REST request budget as a leaky bucket every process draws on: its level and when it was last set.
  CREATE TABLE autosalon.rest_budgets (member_id text PRIMARY KEY, level double precision NOT NULL, at_ms double precision NOT NULL);
  `,
  },
];
