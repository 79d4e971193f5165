import { existsSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Command } from 'commander';
import { hidePassword, isPostgresUrl } from '../service/store/describe.js';
import { tr } from '../i18n/index.js';
import type { CopyReport } from '../service/store/copy.js';
import { UserError } from './errors.js';

/** --from sqlite:FILE → the file's path. */
function sqliteFile(value: string): string {
  const m = /^sqlite:(.+)$/.exec(value.trim());
  if (!m) throw new UserError(tr().cli.db.fromNotSqlite(value));
  return resolve(m[1]);
}

function postgresUrl(value: string): string {
  if (isPostgresUrl(value.trim())) return value.trim();
  throw new UserError(tr().cli.db.toNotPostgres(hidePassword(value)));
}

function renderCopy(r: CopyReport): string {
  const t = tr().cli.db;
  const rows = r.counts.map((c) => [t.copyTables[c.table] ?? c.table, String(c.source), String(c.target)]);
  const widths = t.copyHeader.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  const line = (cells: string[]) => cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join('  ');
  const out = [line(t.copyHeader), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line), ''];
  if (r.replaces.length) out.push(t.replaces(r.dryRun, r.replaces));
  if (r.dryRun) out.push(t.dryRun(r.target, r.newSchema));
  else out.push(r.verified ? t.copied(r.source, r.target) : t.notVerified(r.target));
  if (!r.dryRun && r.tokens === 'copied encrypted') out.push(t.tokensCopied);
  if (!r.dryRun && r.tokens === 're-encrypted') out.push(t.tokensReencrypted);
  if (!r.dryRun && r.tokens === 're-encrypted under the given key') out.push(t.tokensReencryptedGiven);
  return out.join('\n');
}

export function register(program: Command): void {
  const t = tr().cli;
  const db = program.command('db').description(t.cmd.db);

  db
    .command('migrate')
    .description(t.cmd.dbMigrate)
    .option('--db <file>', t.option.db)
    .option('--json', t.option.json)
    .option('--lang <lang>', t.option.langMessages)
    .action(async (opts: { db?: string; json?: boolean }) => {
      const [{ loadServiceConfig }, { openServiceStore }] = await Promise.all([import('../service/config.js'), import('../service/store/open.js')]);
      // A ConfigError names every wrong setting (a newer database too); the CLI prints it like any user error.
      const config = loadServiceConfig(process.env, { dbFile: opts.db });
      const [{ store, where, migrated }, { POSTGRES_MIGRATIONS, SQLITE_MIGRATIONS }] = await Promise.all([
        openServiceStore(config), import('../service/store/schema.js'),
      ]);
      try {
        // On PostgreSQL the job queue's own schema (pg-boss's) counts as one more migration, as the first run says.
        const known = config.databaseUrl
          ? [...POSTGRES_MIGRATIONS.map((m) => m.name), `job queue schema ${(await import('../service/store/postgres.js')).QUEUE_SCHEMA_VERSION}`]
          : SQLITE_MIGRATIONS.map((m) => m.name);
        if (opts.json) console.log(JSON.stringify({ database: where, migrated, migrations: known }));
        else console.log(migrated.length ? t.db.migrated(where, migrated) : t.db.upToDate(where, known.length));
      } finally {
        await store.close();
      }
    });

  db
    .command('copy')
    .description(t.cmd.dbCopy)
    .requiredOption('--from <sqlite:file>', t.option.copyFrom)
    .option('--to <postgres-url>', t.option.copyTo)
    .option('--dry-run', t.option.copyDryRun)
    .option('--force', t.option.copyForce)
    .option('--json', t.option.json)
    .option('--lang <lang>', t.option.langMessages)
    .action(async (opts: { from: string; to?: string; dryRun?: boolean; force?: boolean; json?: boolean }) => {
      const from = sqliteFile(opts.from);
      const toValue = opts.to ?? process.env.AUTOSALON_DATABASE_URL;
      if (!toValue?.trim()) throw new UserError(t.db.toMissing);
      const to = postgresUrl(toValue);
      if (!existsSync(from)) throw new UserError(t.db.noFile(from));
      if (!statSync(from).isFile()) throw new UserError(t.db.notAFile(from));
      const [{ copyDatabase }, { serviceKeys }, { defaultStateDir }, { loadServiceConfig }] = await Promise.all([
        import('../service/store/copy.js'), import('../service/secret-key.js'), import('../install/state.js'), import('../service/config.js'),
      ]);
      // The keys that may open the file's tokens: AUTOSALON_SECRET_KEY[_PREVIOUS], the key file next to the file (where
      // an embedded install keeps it) and the state directory's. A key set in AUTOSALON_SECRET_KEY is also the one the
      // copied tokens are to be under.
      const config = loadServiceConfig(process.env, { stateDir: defaultStateDir() });
      const keyFile = (stateDir: string) => serviceKeys({ secretKey: undefined, previousSecretKeys: [], stateDir }).current;
      const candidates = [config.secretKey, ...config.previousSecretKeys, keyFile(dirname(from)), keyFile(config.stateDir)].filter((k): k is Buffer => k !== undefined);
      const report = await copyDatabase({
        from, to, dryRun: opts.dryRun, force: opts.force, keys: { current: candidates[0], previous: candidates.slice(1) }, reencryptUnder: config.secretKey,
        toSetting: opts.to ? '--to' : 'AUTOSALON_DATABASE_URL',
      });
      console.log(opts.json ? JSON.stringify(report, null, 2) : renderCopy(report));
      if (!report.verified) process.exitCode = 1;
    });
}
