// Moving up: an embedded install's SQLite database copied into PostgreSQL (`autosalon db copy`) — portals with their
// tokens, settings, the schedule (every job with its state; a running one waits again), what was observed of each
// item, the idempotency keys, the re-call episodes and the to-dos asking for fields. Verified by counting the rows of
// each kind on both sides; a dry run counts and checks without writing. The tokens stay encrypted: as they are when the
// target has none yet (the service processes are then given the source's key), re-encrypted under the target's key
// otherwise (both keys must be given).
import { ConfigError } from '../config.js';
import type { StoreRows, TableCounts } from './rows.js';
import { setUpCipher, type SecretKeys } from './secrets.js';

export interface CopyOptions {
  /** The SQLite file. */
  from: string;
  /** postgres://… */
  to: string;
  dryRun?: boolean;
  /** Copy into a database that already holds state (rows with the same keys: the copy's portals win, the rest stay). */
  force?: boolean;
  /** The keys the tokens are encrypted with (needed only when the target already has tokens under another key). */
  keys?: SecretKeys;
}

export interface CopyCount { table: keyof TableCounts; source: number; target: number }

export interface CopyReport {
  source: string;
  target: string;
  dryRun: boolean;
  /** Rows of each kind in the source, and in the target afterwards (before, in a dry run). */
  counts: CopyCount[];
  /** What became of the tokens. */
  tokens: 'none' | 'copied encrypted' | 're-encrypted';
  /** The target's schema had to be made (a dry run: would have to be). */
  newSchema: boolean;
  /** Every count in the target is what the copy should have left there. */
  verified: boolean;
}

const TABLES: (keyof TableCounts)[] = ['portals', 'jobsQueued', 'jobsDone', 'jobsFailed', 'dedupeKeys', 'observations', 'actions', 'episodes', 'requirements'];
const TOKEN_COLUMNS = ['access_token', 'refresh_token', 'application_token'] as const;
const EMPTY: TableCounts = { portals: 0, observations: 0, actions: 0, episodes: 0, requirements: 0, jobsQueued: 0, jobsDone: 0, jobsFailed: 0, dedupeKeys: 0 };

export async function copyDatabase(options: CopyOptions): Promise<CopyReport> {
  const [{ SqliteStore }, { PostgresStore }, { describeDatabase }] = await Promise.all([import('./sqlite.js'), import('./postgres.js'), import('./describe.js')]);
  const target = describeDatabase(options.to);
  const source = await SqliteStore.open(options.from, { readonly: true });
  let rows: StoreRows;
  let sourceCounts: TableCounts;
  try {
    rows = source.exportRows();
    sourceCounts = await source.tableCounts();
  } finally {
    await source.close();
  }
  if (rows.keyCheck === undefined && rows.portals.some((p) => p.refresh_token !== '')) {
    throw new ConfigError(`the tokens in ${options.from} are not encrypted yet (a database from before encryption): start "autosalon serve" on it once, then copy it`);
  }

  // A dry run writes nothing, not even the schema: a target without it counts as empty.
  let store: Awaited<ReturnType<typeof PostgresStore.open>> | undefined;
  let newSchema = false;
  try {
    store = await PostgresStore.open(options.to, { migrate: !options.dryRun });
  } catch (error) {
    if (!(options.dryRun && error instanceof ConfigError && /migrations pending/.test(error.message))) throw error;
    newSchema = true;
  }
  try {
    const before = store ? await store.tableCounts() : EMPTY;
    const held = TABLES.filter((t) => before[t] > 0);
    if (held.length && !options.force) {
      throw new ConfigError(`${target} already holds service state (${held.map((t) => `${before[t]} ${t}`).join(', ')}): copy into an empty database, `
        + 'or add --force to copy into this one (a portal of the copy replaces the one with the same member_id; other rows already there stay)');
    }
    const targetCheck = await store?.keyCheck();
    let tokens: CopyReport['tokens'] = rows.keyCheck === undefined ? 'none' : 'copied encrypted';
    if (rows.keyCheck !== undefined && targetCheck !== undefined && targetCheck !== rows.keyCheck) {
      // The target's tokens are under its own key: the copied ones are re-encrypted under it (both keys must be given).
      const keys = options.keys ?? { previous: [] };
      const from = setUpCipher(rows.keyCheck, keys, options.from).cipher;
      const to = setUpCipher(targetCheck, keys, target).cipher;
      rows = {
        ...rows, keyCheck: undefined,
        portals: rows.portals.map((p) => ({
          ...p, ...Object.fromEntries(TOKEN_COLUMNS.map((c) => [c, to.encrypt(from.decrypt(p[c], `${p.member_id}|${c}`), `${p.member_id}|${c}`)])),
        })),
      };
      tokens = 're-encrypted';
    }
    if (options.dryRun || !store) {
      return { source: options.from, target, dryRun: true, counts: TABLES.map((table) => ({ table, source: sourceCounts[table], target: before[table] })), tokens, newSchema, verified: true };
    }
    await store.importRows(rows);
    const after = await store.tableCounts();
    const counts = TABLES.map((table) => ({ table, source: sourceCounts[table], target: after[table] }));
    // Into an empty database every count is the source's; into one with rows, at least the source's.
    const verified = counts.every((c) => (held.length ? c.target >= c.source : c.target === c.source));
    return { source: options.from, target, dryRun: false, counts, tokens, newSchema, verified };
  } finally {
    await store?.close();
  }
}
