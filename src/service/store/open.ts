// Which store the service and its tools open: PostgreSQL when AUTOSALON_DATABASE_URL names one (any number of service
// processes share it), else the SQLite file (one process; the embedded default of npm start).
import type { ServiceConfig } from '../config.js';
import type { SecretKeys } from './secrets.js';
import type { PortalSettings } from '../settings.js';
import type { ServiceStore } from './types.js';

export interface OpenStoreOptions {
  keys?: SecretKeys;
  settingsDefaults?: PortalSettings;
  /** For tools that only read: SQLite opens the file read-only; PostgreSQL refuses a database with migrations pending. */
  readonly?: boolean;
  /** Told when another process may serve this one's portals meanwhile (PostgreSQL: its lock connection was lost). */
  onLockLost?: (error: Error) => void;
}

export interface OpenedStore {
  store: ServiceStore;
  /** The file, or the database URL without its password: for messages. */
  where: string;
  backend: 'sqlite' | 'postgres';
  /** The migrations the open ran. */
  migrated: string[];
}

/** Loaded on use only: each backend's driver is needed by its own case alone. */
export async function openServiceStore(config: Pick<ServiceConfig, 'dbFile' | 'databaseUrl'>, options: OpenStoreOptions = {}): Promise<OpenedStore> {
  if (config.databaseUrl) {
    const { PostgresStore } = await import('./postgres.js');
    const store = await PostgresStore.open(config.databaseUrl, {
      keys: options.keys, settingsDefaults: options.settingsDefaults, migrate: !options.readonly, onLockLost: options.onLockLost,
    });
    return { store, where: store.where, backend: 'postgres', migrated: store.migrated };
  }
  const { SqliteStore } = await import('./sqlite.js');
  const store = await SqliteStore.open(config.dbFile, { keys: options.keys, settingsDefaults: options.settingsDefaults, readonly: options.readonly });
  return { store, where: config.dbFile, backend: 'sqlite', migrated: store.migrated };
}
