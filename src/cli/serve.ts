import type { Command } from 'commander';
import { tr } from '../i18n/index.js';
import { UserError } from './errors.js';
import { parsePort } from './options.js';
import { untilStopped } from './signals.js';

export function register(program: Command): void {
  const t = tr().cli;
  program
    .command('serve')
    .description(t.cmd.serve)
    .option('--port <port>', t.option.servePort, (value: string) => parsePort(value))
    .option('--db <file>', t.option.db)
    .option('--public-url <url>', t.option.servePublicUrl)
    .option('--lang <lang>', t.option.langMessages)
    .action(async (opts: { port?: number; db?: string; publicUrl?: string }) => {
      const [{ loadServiceConfig }, { handlerUrlProblem }, { startService }] = await Promise.all([
        import('../service/config.js'), import('../install/plan.js'), import('../service/service.js'),
      ]);
      // A ConfigError names every wrong setting; the CLI prints it like any user error.
      const config = loadServiceConfig(process.env, { port: opts.port, dbFile: opts.db, publicUrl: opts.publicUrl });
      if (!config.app) throw new UserError(t.serve.noApp);
      const service = await startService({ config });
      const db = config.databaseUrl ? (await import('../service/store/describe.js')).describeDatabase(config.databaseUrl) : config.dbFile;
      // The first stdout line is machine-readable, for scripts and tests that start the service.
      console.log(JSON.stringify({ url: service.url, publicUrl: service.publicUrl, db }));
      console.error(t.serve.started(service.url, service.publicUrl, db));
      console.error(t.serve.handlers(service.publicUrl));
      // The install would then skip every robot and event binding, and no automation would ever run.
      const urlProblem = handlerUrlProblem(service.publicUrl);
      if (urlProblem) console.error(`${t.warning}: ${t.serve.unusableUrl(urlProblem)}`);
      else if (!config.publicUrl) console.error(`${t.warning}: ${t.serve.localUrl(service.publicUrl)}`);
      await untilStopped();
      await service.close();
    });
}
