import type { Command } from 'commander';
import { tr } from '../i18n/index.js';
import { UserError } from './errors.js';
import { installAction } from './install.js';
import { parseLang, parsePort } from './options.js';
import { untilStopped } from './signals.js';
import { EMBEDDED_PORT } from '../install/embedded.js';

interface StartFlags { port: string; once?: boolean; lang?: string; plan?: string; tier?: string; yes?: boolean }

export function register(program: Command): void {
  const t = tr().cli;
  program
    .command('start')
    .description(t.cmd.start)
    .option('--port <n>', t.option.startPort, String(EMBEDDED_PORT))
    .option('--plan <code>', t.option.startPlan)
    .option('--tier <tier>', t.option.startTier)
    .option('--lang <lang>', t.option.langInstall)
    .option('--yes', t.option.yes)
    .option('--once', t.option.once)
    .action(async (flags: StartFlags) => {
      if (process.env.B24_WEBHOOK_URL) {
        console.error(t.start.installingInto);
        const { NoTierError } = await import('../install/apply.js');
        try {
          await installAction({ tier: flags.tier, plan: flags.plan, lang: flags.lang, yes: flags.yes });
        } catch (error) {
          // Said in npm's form: flags for `npm start` go after "--".
          if (error instanceof UserError && error.cause instanceof NoTierError) throw new UserError(t.start.noTier);
          throw error;
        }
        return;
      }
      const [{ embeddedDir, relaunchTrustingCa }, { defaultStateDir }, { startEmbeddedProduct }] = await Promise.all([
        import('../install/embedded.js'), import('../install/state.js'), import('../service/embedded.js'),
      ]);
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
      console.log(t.start.keepRunning);
      await untilStopped();
      await run.close();
    });
}
