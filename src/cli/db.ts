import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
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
  try {
    if (['postgres:', 'postgresql:'].includes(new URL(value.trim()).protocol)) return value.trim();
  } catch {
    // said below
  }
  throw new UserError(tr().cli.db.toNotPostgres(value));
}

function renderCopy(r: CopyReport): string {
  const t = tr().cli.db;
  const rows = r.counts.map((c) => [t.copyTables[c.table] ?? c.table, String(c.source), String(c.target)]);
  const widths = t.copyHeader.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  const line = (cells: string[]) => cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join('  ');
  const out = [line(t.copyHeader), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line), ''];
  if (r.dryRun) out.push(t.dryRun(r.target, r.newSchema));
  else out.push(r.verified ? t.copied(r.source, r.target) : t.notVerified(r.target));
  if (!r.dryRun && r.tokens === 'copied encrypted') out.push(t.tokensCopied);
  if (!r.dryRun && r.tokens === 're-encrypted') out.push(t.tokensReencrypted);
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
        const known = config.databaseUrl ? POSTGRES_MIGRATIONS : SQLITE_MIGRATIONS;
        if (opts.json) console.log(JSON.stringify({ database: where, migrated, migrations: known.map((m) => m.name) }));
        else console.log(migrated.length ? t.db.migrated(where, migrated) : t.db.upToDate(where, known.length));
      } finally {
        await store.close();
      }
    });

  db
    .command('copy')
    .description(t.cmd.dbCopy)
    .requiredOption('--from <sqlite:file>', t.option.copyFrom)
    .requiredOption('--to <postgres-url>', t.option.copyTo)
    .option('--dry-run', t.option.copyDryRun)
    .option('--force', t.option.copyForce)
    .option('--json', t.option.json)
    .option('--lang <lang>', t.option.langMessages)
    .action(async (opts: { from: string; to: string; dryRun?: boolean; force?: boolean; json?: boolean }) => {
      const from = sqliteFile(opts.from);
      const to = postgresUrl(opts.to);
      if (!existsSync(from)) throw new UserError(t.db.noFile(from));
      const [{ copyDatabase }, { keysFromEnvironment }, { defaultStateDir }] = await Promise.all([
        import('../service/store/copy.js'), import('../service/secret-key.js'), import('../install/state.js'),
      ]);
      const report = await copyDatabase({ from, to, dryRun: opts.dryRun, force: opts.force, keys: keysFromEnvironment(process.env, defaultStateDir()) });
      console.log(opts.json ? JSON.stringify(report, null, 2) : renderCopy(report));
      if (!report.verified) process.exitCode = 1;
    });
}
