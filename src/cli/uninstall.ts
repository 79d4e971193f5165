import type { Command } from 'commander';
import { resolve } from 'node:path';
import { tr } from '../i18n/index.js';
import { addTargetOptions, type TargetFlags } from './target.js';

interface UninstallFlags extends TargetFlags { dryRun?: boolean; yes?: boolean; json?: boolean; exportValues?: string }

export function register(program: Command): void {
  const t = tr().cli;
  addTargetOptions(program.command('uninstall').description(t.cmd.uninstall))
    .option('--dry-run', t.option.dryRunUninstall)
    .option('--yes', t.option.yesUninstall)
    .option('--export-values <file>', t.option.exportValues)
    .option('--lang <lang>', t.option.langMessages)
    .option('--json', t.option.json)
    .addHelpText('after', t.help.uninstallAfter)
    .action(uninstallAction);
}

async function uninstallAction(flags: UninstallFlags): Promise<void> {
  const t = tr().cli;
  const [{ renderUninstallPlan, renderUninstallSummary, uninstall, valuesHeld }, { asUserError, confirmOnTerminal, finish, openForCli, templateFor }, { styleFor }] = await Promise.all([
    import('../install/uninstall.js'), import('./session.js'), import('./style.js'),
  ]);
  const template = await templateFor(flags);
  const session = await openForCli(flags);
  const out = flags.json ? process.stderr : process.stdout;
  const style = styleFor(out);
  const human = (text: string) => out.write(`${text}\n`);
  try {
    const report = await uninstall(session.client, {
      stateDir: session.stateDir,
      template,
      dryRun: flags.dryRun,
      exportValuesTo: flags.exportValues === undefined ? undefined : resolve(flags.exportValues),
      onProgress: (text) => console.error(text),
      confirm: async (plan) => {
        human(renderUninstallPlan(plan, style));
        if (!plan.losesData.length) return true;
        const held = valuesHeld(plan);
        const what = t.consent.fields(plan.losesData.length, held.records, held.text, !!flags.exportValues);
        if (!flags.yes && process.stdin.isTTY) console.error(what);
        return confirmOnTerminal(t.consent.deleteFields(plan.losesData.length), !!flags.yes, what);
      },
    });
    if (report.dryRun || (!report.cancelled && !report.plan.steps.some((s) => s.call))) human(renderUninstallPlan(report.plan, style));
    if (flags.json) {
      const { plan, ...rest } = report;
      console.log(JSON.stringify({
        ...rest, valueCounts: plan.valueCounts,
        steps: plan.steps.map((s) => ({ action: s.action, object: s.key, title: s.title, detail: s.detail, ...(s.blocked ? { blocked: true } : {}) })),
      }));
    } else console.log(renderUninstallSummary(report, style));
    // 1 while something is left: a failure, or a stage or pipeline kept because it holds leads or deals.
    if (report.failed.length || report.blocked.length || report.cancelled) process.exitCode = 1;
  } catch (error) {
    throw asUserError(error, session);
  } finally {
    await finish(session);
  }
}
