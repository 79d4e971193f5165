// The service's two store backends for tests that run on both: SQLite in a temporary file, PostgreSQL in a new
// database of the server test/global-setup.ts started. Each place can be opened again (a restart of the service).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ConfigOverrides } from '../../src/service/config.js';
import { PostgresStore } from '../../src/service/store/postgres.js';
import type { SecretKeys } from '../../src/service/store/secrets.js';
import { SqliteStore } from '../../src/service/store/sqlite.js';
import type { ServiceStore } from '../../src/service/store/types.js';
import type { PortalSettings } from '../../src/service/settings.js';
import { testKeys } from './keys.js';
import { createTestDatabase } from './postgres.js';

export type BackendName = 'SQLite' | 'PostgreSQL';

export interface StorePlace {
  backend: BackendName;
  /** The SQLite file or the PostgreSQL URL. */
  target: string;
  /** What the service's settings say to use this place. */
  config: Pick<ConfigOverrides, 'dbFile' | 'databaseUrl'>;
  open(options?: { keys?: SecretKeys; settingsDefaults?: PortalSettings }): Promise<ServiceStore>;
  cleanup(): void;
}

export async function storePlace(backend: BackendName): Promise<StorePlace> {
  const dir = mkdtempSync(join(tmpdir(), 'autosalon-store-'));
  if (backend === 'SQLite') {
    const file = join(dir, 'nested', 'service.sqlite');
    return {
      backend, target: file, config: { dbFile: file },
      open: ({ keys = testKeys(), settingsDefaults } = {}) => SqliteStore.open(file, { keys, settingsDefaults }),
      cleanup: () => rmSync(dir, { recursive: true, force: true }),
    };
  }
  const url = await createTestDatabase();
  return {
    backend, target: url, config: { dbFile: join(dir, 'unused.sqlite'), databaseUrl: url },
    open: ({ keys = testKeys(), settingsDefaults } = {}) => PostgresStore.open(url, { keys, settingsDefaults }),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

export const BACKENDS: BackendName[] = ['SQLite', 'PostgreSQL'];
