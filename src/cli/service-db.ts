// The automation service's database as the service's command-line tools open it (recalls, portals, settings):
// the settings that locate it, and no secret key — these tools never read tokens.
import { existsSync } from 'node:fs';
import { loadServiceConfig, settingsDefaults, type ServiceConfig } from '../service/config.js';
import { SqliteStore } from '../service/store/sqlite.js';
import { UserError } from './errors.js';

export interface ServiceDatabase { config: ServiceConfig; store: SqliteStore }

/** Opens the database `autosalon serve` keeps (--db, else AUTOSALON_DB, else <state dir>/service.sqlite). */
export function openServiceDatabase(dbFile: string | undefined, options: { write?: boolean } = {}): ServiceDatabase {
  // A ConfigError names every wrong setting; the CLI prints it like any user error.
  const config = loadServiceConfig(process.env, { dbFile });
  if (!existsSync(config.dbFile)) {
    throw new UserError(`no service database at ${config.dbFile}: it is kept by "autosalon serve"; point --db or AUTOSALON_DB at its file`);
  }
  const store = new SqliteStore(config.dbFile, { readonly: !options.write, settingsDefaults: settingsDefaults(config) });
  return { config, store };
}

/** Runs `work` with the database open, closing it afterwards. */
export async function withServiceDatabase<T>(dbFile: string | undefined, options: { write?: boolean }, work: (db: ServiceDatabase) => Promise<T>): Promise<T> {
  const db = openServiceDatabase(dbFile, options);
  try {
    return await work(db);
  } finally {
    await db.store.close();
  }
}
