import type { Command } from 'commander';
import { loadServiceConfig, type ConfigOverrides } from '../service/config.js';
import { handlerUrlProblem } from '../install/plan.js';
import { startService } from '../service/service.js';
import { UserError } from './errors.js';
import { parsePort } from './options.js';
import { untilStopped } from './signals.js';

export function register(program: Command): void {
  program
    .command('serve')
    .description('run the automation service: Bitrix24 install, event and robot handlers, the rules engine, the re-call schedule')
    .option('--port <port>', 'port to listen on (0 = any free port; default AUTOSALON_PORT or 3000)', (value: string) => parsePort(value))
    .option('--db <file>', 'SQLite database (default AUTOSALON_DB or <state dir>/service.sqlite)')
    .option('--public-url <url>', 'the address Bitrix24 calls (default AUTOSALON_PUBLIC_URL)')
    .action(async (opts: { port?: number; db?: string; publicUrl?: string }) => {
      const overrides: ConfigOverrides = { port: opts.port, dbFile: opts.db, publicUrl: opts.publicUrl };
      // A ConfigError names every wrong setting; the CLI prints it like any user error.
      const config = loadServiceConfig(process.env, overrides);
      if (!config.app) {
        throw new UserError('set B24_APP_CLIENT_ID and B24_APP_CLIENT_SECRET (the client_id and client_secret of the Bitrix24 application) in .env or the environment');
      }
      const service = await startService({ config });
      // The first stdout line is machine-readable, for scripts and tests that start the service.
      console.log(JSON.stringify({ url: service.url, publicUrl: service.publicUrl, db: config.dbFile }));
      console.error(`Autosalon service on ${service.url} (Bitrix24 calls ${service.publicUrl}); database ${config.dbFile}`);
      console.error(`  install handler ${service.publicUrl}/install, events ${service.publicUrl}/events, robots ${service.publicUrl}/robots/…`);
      // The install would then skip every robot and event binding, and no automation would ever run.
      const urlProblem = handlerUrlProblem(service.publicUrl);
      if (urlProblem) console.error(`warning: ${urlProblem}; robots and event bindings will be skipped until AUTOSALON_PUBLIC_URL (or --public-url) is an address Bitrix24 can reach`);
      else if (!config.publicUrl) console.error(`warning: AUTOSALON_PUBLIC_URL (or --public-url) is not set, so robots and events are bound to ${service.publicUrl}, which only a portal on this machine reaches`);
      await untilStopped();
      await service.close();
    });
}
