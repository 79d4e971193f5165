import type { Command } from 'commander';
import { renderVerify, verifyPortal } from '../install/verify.js';
import { addTargetOptions, asUserError, finish, openForCli, type TargetFlags } from './session.js';
import { parseLang } from './options.js';

interface VerifyFlags extends TargetFlags { tier?: string; plan?: string; lang?: string; json?: boolean }

export function register(program: Command): void {
  addTargetOptions(program.command('verify').description('compare the portal with the template: exit 0 when it matches, 1 with the drift listed'))
    .option('--tier <tier>', 'the tier to check against (default: the last install\'s)')
    .option('--plan <code>', 'the portal\'s plan code, mapped to a tier')
    .option('--lang <lang>', 'the language names should be in (default: the last install\'s)')
    .option('--json', 'print one JSON object on stdout')
    .action(async (flags: VerifyFlags) => {
      const session = await openForCli(flags);
      try {
        const report = await verifyPortal(session.client, {
          tier: flags.tier, plan: flags.plan, lang: flags.lang === undefined ? undefined : parseLang(flags.lang), app: session.app, stateDir: session.stateDir,
        });
        if (flags.json) {
          const { plan: _plan, ...rest } = report;
          console.log(JSON.stringify(rest));
        } else console.log(renderVerify(report));
        process.exitCode = report.ok ? 0 : 1;
      } catch (error) {
        throw asUserError(error, session);
      } finally {
        await finish(session);
      }
    });
}
