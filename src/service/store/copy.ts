// Moving up: an embedded install's SQLite database copied into PostgreSQL (`autosalon db copy`) — portals with their
// tokens, settings, the schedule (every job with its state; a running one waits again), what was observed of each
// item, the idempotency keys, the re-call episodes and the to-dos asking for fields. Verified by counting the rows of
// each kind on both sides; a dry run counts and checks without writing. The tokens stay encrypted: as they are when the
// target has none yet (the service processes are then given the source's key); re-encrypted under the target's key
// when it has tokens, or under AUTOSALON_SECRET_KEY when that is set to another key (both keys must be given).
import { tr } from '../../i18n/index.js';
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
  /** Keys that may open the file's tokens and, when the target holds tokens under another key, the target's. */
  keys?: SecretKeys;
  /** Where the target was given, for messages (--to, or AUTOSALON_DATABASE_URL). */
  toSetting?: string;
  /** The key the service processes will have (AUTOSALON_SECRET_KEY): the copied tokens are re-encrypted under it when it is not the file's. */
  reencryptUnder?: Buffer;
}

export interface CopyCount { table: keyof TableCounts; source: number; target: number }

export interface CopyReport {
  source: string;
  target: string;
  dryRun: boolean;
  /** Rows of each kind in the source, and in the target afterwards (before, in a dry run). */
  counts: CopyCount[];
  /** What became of the tokens. */
  tokens: 'none' | 'copied encrypted' | 're-encrypted' | 're-encrypted under the given key';
  /** The target's schema had to be made (a dry run: would have to be). */
  newSchema: boolean;
  /** Every count in the target is what the copy should have left there. */
  verified: boolean;
  /** Domains of the target's portals the copy replaces (--force): their settings and tokens become the file's. */
  replaces: string[];
}

const TABLES: (keyof TableCounts)[] = ['portals', 'jobsQueued', 'jobsDone', 'jobsFailed', 'dedupeKeys', 'observations', 'actions', 'episodes', 'requirements'];
const TOKEN_COLUMNS = ['access_token', 'refresh_token', 'application_token'] as const;
const EMPTY: TableCounts = { portals: 0, observations: 0, actions: 0, episodes: 0, requirements: 0, jobsQueued: 0, jobsDone: 0, jobsFailed: 0, dedupeKeys: 0 };

export async function copyDatabase(options: CopyOptions): Promise<CopyReport> {
  const [{ SqliteStore }, { PostgresStore }, { describeDatabase }] = await Promise.all([import('./sqlite.js'), import('./postgres.js'), import('./describe.js')]);
  const target = describeDatabase(options.to);
  const source = await SqliteStore.open(options.from, { readonly: true, setting: '--from' });
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
    store = await PostgresStore.open(options.to, { migrate: !options.dryRun, setting: options.toSetting });
  } catch (error) {
    if (!(options.dryRun && error instanceof ConfigError && /migrations pending/.test(error.message))) throw error;
    newSchema = true;
  }
  try {
    const before = store ? await store.tableCounts() : EMPTY;
    const held = TABLES.filter((t) => before[t] > 0);
    if (held.length && !options.force) {
      const label = (table: keyof TableCounts) => tr().cli.db.copyTables[table] ?? table;
      throw new ConfigError(`${target} already holds service state (${held.map((t) => `${label(t)}: ${before[t]}`).join(', ')}): copy into an empty database, `
        + 'or add --force to copy into this one (a portal of the copy replaces the one with the same member_id; other rows already there stay)');
    }
    // A forced copy replaces the target's portals that the file has too (their settings and tokens become the file's).
    const theirs = new Set(store && held.length ? (await store.listPortals()).map((p) => p.memberId) : []);
    const replaces = rows.portals.filter((p) => theirs.has(p.member_id)).map((p) => p.domain);
    const targetCheck = await store?.keyCheck();
    const sourceCheck = rows.keyCheck;
    const keys = options.keys ?? { previous: [] };
    let tokens: CopyReport['tokens'] = sourceCheck === undefined ? 'none' : 'copied encrypted';
    // The key the copied tokens end up under: the target's, when it holds tokens already; else the key given for the
    // service processes (AUTOSALON_SECRET_KEY) when it is not the file's; else the file's own (copied as they are).
    const given = options.reencryptUnder;
    const under = sourceCheck === undefined ? undefined
      : targetCheck !== undefined ? (targetCheck !== sourceCheck ? 'target' : undefined)
        : given && !opensWith(sourceCheck, given) ? 'given' : undefined;
    if (sourceCheck !== undefined && under) {
      const bothKeys = under === 'target'
        ? `${target} holds tokens under its own key, so both keys are needed: ${target}'s in AUTOSALON_SECRET_KEY and ${options.from}'s in AUTOSALON_SECRET_KEY_PREVIOUS`
        : `the tokens in ${options.from} are under another key than AUTOSALON_SECRET_KEY: to re-encrypt them under AUTOSALON_SECRET_KEY, give the file's key too, `
          + 'in AUTOSALON_SECRET_KEY_PREVIOUS (an embedded install keeps it in secret.key in its state directory); or unset AUTOSALON_SECRET_KEY to copy them under their own key';
      const cipherOf = (check: string | undefined) => {
        try {
          return setUpCipher(check, check === undefined ? { current: given, previous: [] } : keys, target);
        } catch (error) {
          throw error instanceof ConfigError ? new ConfigError(bothKeys) : error;
        }
      };
      const from = cipherOf(sourceCheck).cipher;
      const to = cipherOf(under === 'target' ? targetCheck : undefined);
      rows = {
        ...rows, keyCheck: under === 'given' ? to.check : undefined,
        portals: rows.portals.map((p) => ({
          ...p, ...Object.fromEntries(TOKEN_COLUMNS.map((c) => [c, to.cipher.encrypt(from.decrypt(p[c], `${p.member_id}|${c}`), `${p.member_id}|${c}`)])),
        })),
      };
      tokens = under === 'target' ? 're-encrypted' : 're-encrypted under the given key';
    }
    if (options.dryRun || !store) {
      return { source: options.from, target, dryRun: true, counts: TABLES.map((table) => ({ table, source: sourceCounts[table], target: before[table] })), tokens, newSchema, verified: true, replaces };
    }
    await store.importRows(rows);
    const after = await store.tableCounts();
    const counts = TABLES.map((table) => ({ table, source: sourceCounts[table], target: after[table] }));
    // Into an empty database every count is the source's; into one with rows, at least the source's.
    const verified = counts.every((c) => (held.length ? c.target >= c.source : c.target === c.source));
    return { source: options.from, target, dryRun: false, counts, tokens, newSchema, verified, replaces };
  } finally {
    await store?.close();
  }
}

/** Whether `key` is the one a store's key check was written with. */
function opensWith(check: string, key: Buffer): boolean {
  try {
    setUpCipher(check, { current: key, previous: [] }, '');
    return true;
  } catch {
    return false;
  }
}
