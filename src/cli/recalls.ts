import type { Command } from 'commander';
import { recallList, renderRecalls } from '../service/recalls.js';
import { localToday } from '../service/time.js';
import { UserError } from './errors.js';
import { withServiceDatabase } from './service-db.js';

function isoDate(value: string): string {
  // Date.parse is NaN for a month or day out of range (2027-13-01); toISOString rolls an impossible day over (02-30).
  const ms = /^\d{4}-\d{2}-\d{2}$/.test(value) ? Date.parse(`${value}T00:00:00Z`) : Number.NaN;
  const valid = !Number.isNaN(ms) && new Date(ms).toISOString().startsWith(value);
  if (!valid) throw new UserError(`--date must be a date such as 2027-02-01 (got "${value}")`);
  return value;
}

export function register(program: Command): void {
  program
    .command('recalls')
    .description('the re-call list of refused deals for a date: deal, client, reason, responsible')
    .option('--date <YYYY-MM-DD>', 'the day (default: today in AUTOSALON_TIME_ZONE)', isoDate)
    .option('--db <file>', 'the service database (default AUTOSALON_DB or <state dir>/service.sqlite)')
    .option('--json', 'print one JSON object')
    .action(async (opts: { date?: string; db?: string; json?: boolean }) => {
      await withServiceDatabase(opts.db, {}, async ({ config, store }) => {
        const date = opts.date ?? localToday(Date.now(), config.automation.timeZone);
        const entries = await recallList(store, { date });
        console.log(opts.json ? JSON.stringify({ date, recalls: entries }, null, 2) : renderRecalls(date, entries));
      });
    });
}
