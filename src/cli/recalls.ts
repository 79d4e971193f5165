import type { Command } from 'commander';
import { tr } from '../i18n/index.js';
import { UserError } from './errors.js';
import { withServiceDatabase } from './service-db.js';

function isoDate(value: string): string {
  // Date.parse is NaN for a month or day out of range (2027-13-01); toISOString rolls an impossible day over (02-30).
  const ms = /^\d{4}-\d{2}-\d{2}$/.test(value) ? Date.parse(`${value}T00:00:00Z`) : Number.NaN;
  const valid = !Number.isNaN(ms) && new Date(ms).toISOString().startsWith(value);
  if (!valid) throw new UserError(tr().cli.badDate(value));
  return value;
}

export function register(program: Command): void {
  const t = tr().cli;
  program
    .command('recalls')
    .description(t.cmd.recalls)
    .option('--date <YYYY-MM-DD>', t.option.date, isoDate)
    .option('--db <file>', t.option.db)
    .option('--json', t.option.json)
    .option('--lang <lang>', t.option.langMessages)
    .action(async (opts: { date?: string; db?: string; json?: boolean }) => {
      const [{ recallList, renderRecalls }, { localToday }] = await Promise.all([import('../service/recalls.js'), import('../service/time.js')]);
      await withServiceDatabase(opts.db, {}, async ({ config, store }) => {
        const date = opts.date ?? localToday(Date.now(), config.automation.timeZone);
        const entries = await recallList(store, { date });
        console.log(opts.json ? JSON.stringify({ date, recalls: entries }, null, 2) : renderRecalls(date, entries));
      });
    });
}
