import type { Command } from 'commander';
import { embeddedDir, EMBEDDED_PORT, relaunchTrustingCa } from '../install/embedded.js';
import { defaultStateDir } from '../install/state.js';
import { UserError } from './errors.js';
import { installAction } from './install.js';
import { parseLang, parsePort } from './options.js';
import { untilStopped } from './signals.js';
import { startEmbeddedProduct } from '../service/embedded.js';

interface StartFlags { port: string; once?: boolean; lang?: string; plan?: string; tier?: string; yes?: boolean }

export function register(program: Command): void {
  program
    .command('start')
    .description('without B24_WEBHOOK_URL: the embedded emulator and the automation service, the app installed into the emulator and the template installed in app mode; with it: install into that portal')
    .option('--port <n>', 'port of the embedded emulator', String(EMBEDDED_PORT))
    .option('--plan <code>', 'the portal\'s plan code (embedded emulator default: pro, the full tier)')
    .option('--tier <tier>', 'a real portal: what to install, base | crm_plus')
    .option('--lang <lang>', 'language of the names written to the portal: ru | en')
    .option('--yes', 'a real portal: apply without asking')
    .option('--once', 'stop the embedded emulator and the service after the install instead of keeping them running')
    .action(async (flags: StartFlags) => {
      if (process.env.B24_WEBHOOK_URL) {
        if (!flags.tier && !flags.plan) {
          // Said here, in npm's form: installAction's message names flags an `npm start` user must pass after "--".
          throw new UserError('B24_WEBHOOK_URL is set, so npm start installs into that portal, and a webhook cannot read its plan: '
            + 'say which tier with npm start -- --tier base|crm_plus (or -- --plan CODE, e.g. -- --plan pro)');
        }
        console.error('B24_WEBHOOK_URL is set: installing into that portal.');
        await installAction({ tier: flags.tier, plan: flags.plan, lang: flags.lang, yes: flags.yes });
        return;
      }
      const port = parsePort(flags.port);
      const lang = flags.lang === undefined ? undefined : parseLang(flags.lang);
      const stateDir = defaultStateDir();
      const code = await relaunchTrustingCa(embeddedDir(stateDir));
      if (code !== undefined) {
        process.exitCode = code;
        return;
      }
      let run;
      try {
        run = await startEmbeddedProduct({ stateDir, emulatorPort: port, plan: flags.plan, lang });
      } catch (error) {
        throw new UserError((error as Error).message);
      }
      if (!run.installed) process.exitCode = 1;
      if (flags.once) {
        await run.close();
        return;
      }
      console.log('\nThe emulator and the service keep running: CRM changes in the emulator run the automation. Ctrl-C stops both (their state is kept).');
      await untilStopped();
      await run.close();
    });
}
