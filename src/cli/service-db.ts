// The automation service's database as the service's command-line tools open it (recalls, portals, settings):
// the settings that locate it (AUTOSALON_DATABASE_URL for PostgreSQL, else the SQLite file) and no secret key —
// these tools never read tokens. Loaded on use only: the database drivers would otherwise add to every command's start.
import { existsSync } from 'node:fs';
import type { ServiceConfig } from '../service/config.js';
import type { ServiceStore } from '../service/store/types.js';
import { tr } from '../i18n/index.js';
import { UserError } from './errors.js';

export interface ServiceDatabase { config: ServiceConfig; store: ServiceStore }

/**
 * Runs `work` with the database `autosalon serve` keeps open: --db (a SQLite file), else AUTOSALON_DATABASE_URL, else
 * AUTOSALON_DB, else <state dir>/service.sqlite.
 */
export async function withServiceDatabase<T>(dbFile: string | undefined, options: { write?: boolean }, work: (db: ServiceDatabase) => Promise<T>): Promise<T> {
  const [{ loadServiceConfig, settingsDefaults }, { openServiceStore }] = await Promise.all([import('../service/config.js'), import('../service/store/open.js')]);
  // A ConfigError names every wrong setting; the CLI prints it like any user error.
  const config = loadServiceConfig(process.env, { dbFile });
  if (!config.databaseUrl && !existsSync(config.dbFile)) throw new UserError(tr().cli.noServiceDb(config.dbFile));
  const { store } = await openServiceStore(config, { readonly: !options.write || Boolean(config.databaseUrl), settingsDefaults: settingsDefaults(config) });
  try {
    return await work({ config, store });
  } finally {
    await store.close();
  }
}
