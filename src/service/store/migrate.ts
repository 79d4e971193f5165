// Versioned schema migrations of the service's database, both backends, through umzug: an ordered list of named
// migrations, a storage that records which ran, and a run of the pending ones. SQLite keeps the record in its
// user_version (a database written before umzug, at user_version N, has run the first N migrations, so it is taken
// over as it is); PostgreSQL in a table, with the run under an advisory lock so that processes starting together
// migrate once. Every run is one transaction: a failure leaves the schema as it was. A database that has run a
// migration this code does not know was written by a newer version, and is refused.
import type Database from 'better-sqlite3';
import type pg from 'pg';
import { Umzug, type UmzugStorage } from 'umzug';
import { ConfigError } from '../config.js';
import { POSTGRES_MIGRATIONS, SQLITE_MIGRATIONS, type SqlMigration } from './schema.js';

export interface MigrationStatus {
  /** Every migration the code has, in order. */
  known: string[];
  /** Those the database has run. */
  executed: string[];
  /** Those it has not. */
  pending: string[];
}

/** Thrown when the database was migrated by a newer Autosalon than this one. */
export class NewerDatabaseError extends ConfigError {
  constructor(where: string, unknown: string[] | number) {
    super(typeof unknown === 'number'
      ? `${where} was written by a newer version of Autosalon (schema ${unknown}); upgrade the service to use it`
      : `${where} was migrated by a newer version of Autosalon (migrations ${unknown.join(', ')} are unknown to this one); upgrade the service to use it`);
    this.name = 'NewerDatabaseError';
  }
}

function umzugOf<C extends object>(migrations: SqlMigration[], storage: UmzugStorage<C>, context: C, run: (context: C, sql: string) => Promise<void>): Umzug<C> {
  return new Umzug<C>({
    migrations: migrations.map((m) => ({ name: m.name, up: async ({ context: c }) => run(c, m.sql) })),
    storage,
    context,
    logger: undefined,
  });
}

// ---- SQLite

const sqliteVersion = (db: Database.Database) => Number(db.pragma('user_version', { simple: true }));

/** The record is the database's user_version: the number of migrations run, in order. */
function userVersionStorage(names: string[]): UmzugStorage<Database.Database> {
  return {
    executed: async ({ context: db }) => names.slice(0, sqliteVersion(db)),
    logMigration: async ({ name, context: db }) => {
      db.pragma(`user_version = ${names.indexOf(name) + 1}`);
    },
    unlogMigration: async ({ name, context: db }) => {
      db.pragma(`user_version = ${names.indexOf(name)}`);
    },
  };
}

function sqliteUmzug(db: Database.Database): Umzug<Database.Database> {
  const names = SQLITE_MIGRATIONS.map((m) => m.name);
  return umzugOf(SQLITE_MIGRATIONS, userVersionStorage(names), db, async (c, sql) => {
    c.exec(sql);
  });
}

export async function sqliteMigrationStatus(db: Database.Database, where: string): Promise<MigrationStatus> {
  const known = SQLITE_MIGRATIONS.map((m) => m.name);
  const version = sqliteVersion(db);
  if (version > known.length) throw new NewerDatabaseError(where, version);
  return { known, executed: known.slice(0, version), pending: known.slice(version) };
}

/** Runs the pending migrations of an SQLite database in one transaction; returns their names. */
export async function migrateSqlite(db: Database.Database, where: string): Promise<string[]> {
  const { pending } = await sqliteMigrationStatus(db, where);
  if (pending.length === 0) return [];
  // better-sqlite3 runs each statement synchronously, so nothing else reaches this connection between the awaits.
  db.exec('BEGIN IMMEDIATE');
  try {
    const ran = await sqliteUmzug(db).up();
    db.exec('COMMIT');
    return ran.map((m) => m.name);
  } catch (error) {
    if (db.inTransaction) db.exec('ROLLBACK');
    throw error;
  }
}

// ---- PostgreSQL

/** The schema of the service's own tables (the job queue's tables are pg-boss's, in QUEUE_SCHEMA). */
export const PG_SCHEMA = 'autosalon';
/** pg-boss's schema. */
export const QUEUE_SCHEMA = 'autosalon_queue';

/** Advisory lock namespaces (the first key of pg_advisory_lock(int, int)): one per kind of lock. */
export const LOCK_SPACE = { migrate: 0x41530001, serve: 0x41530002, sweep: 0x41530003, install: 0x41530004 } as const;

const MIGRATIONS_TABLE = `${PG_SCHEMA}.migrations`;

function tableStorage(): UmzugStorage<pg.ClientBase> {
  return {
    executed: async ({ context: client }) => (await client.query<{ name: string }>(`SELECT name FROM ${MIGRATIONS_TABLE} ORDER BY name`)).rows.map((r) => r.name),
    logMigration: async ({ name, context: client }) => {
      await client.query(`INSERT INTO ${MIGRATIONS_TABLE} (name) VALUES ($1)`, [name]);
    },
    unlogMigration: async ({ name, context: client }) => {
      await client.query(`DELETE FROM ${MIGRATIONS_TABLE} WHERE name = $1`, [name]);
    },
  };
}

async function pgExecuted(client: pg.ClientBase): Promise<string[]> {
  const exists = await client.query<{ t: string | null }>('SELECT to_regclass($1) AS t', [MIGRATIONS_TABLE]);
  if (!exists.rows[0].t) return [];
  return (await client.query<{ name: string }>(`SELECT name FROM ${MIGRATIONS_TABLE} ORDER BY name`)).rows.map((r) => r.name);
}

export async function postgresMigrationStatus(client: pg.ClientBase, where: string): Promise<MigrationStatus> {
  const known = POSTGRES_MIGRATIONS.map((m) => m.name);
  const executed = await pgExecuted(client);
  const unknown = executed.filter((name) => !known.includes(name));
  if (unknown.length) throw new NewerDatabaseError(where, unknown);
  return { known, executed, pending: known.filter((name) => !executed.includes(name)) };
}

/**
 * Runs the pending migrations of a PostgreSQL database in one transaction, holding the migration lock: a process
 * that starts meanwhile waits, then finds nothing pending. Returns the names run.
 */
export async function migratePostgres(client: pg.ClientBase, where: string): Promise<string[]> {
  await client.query('BEGIN');
  try {
    await client.query('SELECT pg_advisory_xact_lock($1, 0)', [LOCK_SPACE.migrate]);
    const { pending } = await postgresMigrationStatus(client, where);
    if (pending.length === 0) {
      await client.query('COMMIT');
      return [];
    }
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${PG_SCHEMA}`);
    await client.query(`CREATE TABLE IF NOT EXISTS ${MIGRATIONS_TABLE} (name text PRIMARY KEY, run_at timestamptz NOT NULL DEFAULT now())`);
    const ran = await umzugOf(POSTGRES_MIGRATIONS, tableStorage(), client, async (c, sql) => {
      await c.query(sql);
    }).up();
    await client.query('COMMIT');
    return ran.map((m) => m.name);
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}
