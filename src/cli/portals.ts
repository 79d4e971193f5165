import type { Command } from 'commander';
import { portalSummaries, renderPortals } from '../service/portals.js';
import { withServiceDatabase } from './service-db.js';

export function register(program: Command): void {
  program
    .command('portals')
    .description('every portal that installed the application: plan, tier, install state and last problem, queue, settings')
    .option('--db <file>', 'the service database (default AUTOSALON_DB or <state dir>/service.sqlite)')
    .option('--json', 'print one JSON object')
    .action(async (opts: { db?: string; json?: boolean }) => {
      await withServiceDatabase(opts.db, {}, async ({ store }) => {
        const portals = await portalSummaries(store, Date.now());
        console.log(opts.json ? JSON.stringify({ portals }, null, 2) : renderPortals(portals));
      });
    });
}
