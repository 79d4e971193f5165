import type { Command } from 'commander';
import { tr } from '../i18n/index.js';
import { parseLang } from './options.js';
import { addTargetOptions, targetArgs, type TargetFlags } from './target.js';

interface VerifyFlags extends TargetFlags { tier?: string; plan?: string; lang?: string; json?: boolean; detailedExitcode?: boolean }

export function register(program: Command): void {
  const t = tr().cli;
  addTargetOptions(program.command('verify').description(t.cmd.verify))
    .option('--tier <tier>', t.option.tierVerify)
    .option('--plan <code>', t.option.plan)
    .option('--lang <lang>', t.option.langVerify)
    .option('--detailed-exitcode', t.option.detailedExitcodeVerify)
    .option('--json', t.option.json)
    .addHelpText('after', t.help.verifyAfter)
    .action(verifyAction);
}

/** A command that fixes the drift as this verify was run: the same target and state flags (never a secret), the tier found. */
export function fixCommand(flags: VerifyFlags, tier: string, lang: string): string {
  const parts = ['autosalon install', `--tier ${tier}`];
  if (flags.lang) parts.push(`--lang ${lang}`);
  parts.push(...targetArgs(flags));
  return parts.join(' ');
}

async function verifyAction(flags: VerifyFlags): Promise<void> {
  const [{ renderVerify, verifyPortal }, { asUserError, finish, openForCli, templateFor }, { styleFor }] = await Promise.all([
    import('../install/verify.js'), import('./session.js'), import('./style.js'),
  ]);
  const template = await templateFor(flags);
  const session = await openForCli(flags);
  try {
    const report = await verifyPortal(session.client, {
      tier: flags.tier, plan: flags.plan, lang: flags.lang === undefined ? undefined : parseLang(flags.lang), app: session.app, stateDir: session.stateDir, template,
    });
    if (flags.json) {
      const { plan: _plan, ...rest } = report;
      console.log(JSON.stringify({ ...rest, fix: report.ok ? undefined : fixCommand(flags, report.tier, report.lang) }));
    } else console.log(renderVerify(report, fixCommand(flags, report.tier, report.lang), styleFor(process.stdout)));
    // 0 matches; drift is 1, or 2 with --detailed-exitcode (so 1 means only an error).
    process.exitCode = report.ok ? 0 : flags.detailedExitcode ? 2 : 1;
  } catch (error) {
    throw asUserError(error, session);
  } finally {
    await finish(session);
  }
}
