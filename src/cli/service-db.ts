// The automation service's database as the service's command-line tools open it (recalls, portals, settings):
// the settings that locate it, and no secret key — these tools never read tokens. Loaded on use only: the native
// SQLite module would otherwise add to every command's start.
import { existsSync } from 'node:fs';
import type { ServiceConfig } from '../service/config.js';
import type { SqliteStore } from '../service/store/sqlite.js';
import { tr } from '../i18n/index.js';
import { UserError } from './errors.js';

export interface ServiceDatabase { config: ServiceConfig; store: SqliteStore }

/** Runs `work` with the database `autosalon serve` keeps (--db, else AUTOSALON_DB, else <state dir>/service.sqlite) open. */
export async function withServiceDatabase<T>(dbFile: string | undefined, options: { write?: boolean }, work: (db: ServiceDatabase) => Promise<T>): Promise<T> {
  const [{ loadServiceConfig, settingsDefaults }, { SqliteStore }] = await Promise.all([import('../service/config.js'), import('../service/store/sqlite.js')]);
  // A ConfigError names every wrong setting; the CLI prints it like any user error.
  const config = loadServiceConfig(process.env, { dbFile });
  if (!existsSync(config.dbFile)) throw new UserError(tr().cli.noServiceDb(config.dbFile));
  const store = new SqliteStore(config.dbFile, { readonly: !options.write, settingsDefaults: settingsDefaults(config) });
  try {
    return await work({ config, store });
  } finally {
    await store.close();
  }
}
