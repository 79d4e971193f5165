import type { Command } from 'commander';
import { renderUninstallPlan, renderUninstallSummary, uninstall } from '../install/uninstall.js';
import { addTargetOptions, asUserError, finish, confirmOnTerminal, openForCli, type TargetFlags } from './session.js';

interface UninstallFlags extends TargetFlags { dryRun?: boolean; yes?: boolean; json?: boolean }

export function register(program: Command): void {
  addTargetOptions(program.command('uninstall').description('remove what Autosalon created and put back what it changed (from the ledger and the backups)'))
    .option('--dry-run', 'show what would be done and change nothing')
    .option('--yes', 'do it without asking (deleting fields erases their values)')
    .option('--json', 'print one JSON object on stdout')
    .action(async (flags: UninstallFlags) => {
      const session = await openForCli(flags);
      const human = (text: string) => (flags.json ? console.error(text) : console.log(text));
      try {
        const report = await uninstall(session.client, {
          stateDir: session.stateDir,
          dryRun: flags.dryRun,
          onProgress: (text) => console.error(text),
          confirm: async (plan) => {
            human(renderUninstallPlan(plan));
            if (!plan.losesData.length) return true;
            return confirmOnTerminal(
              `Delete ${plan.losesData.length} field(s) with their values?`, !!flags.yes,
              `uninstalling deletes ${plan.losesData.length} field(s) and erases their values in every record`,
            );
          },
        });
        if (report.dryRun) human(renderUninstallPlan(report.plan));
        if (flags.json) {
          const { plan, ...rest } = report;
          console.log(JSON.stringify({ ...rest, steps: plan.steps.map((s) => ({ action: s.action, object: s.key, title: s.title, detail: s.detail })) }));
        } else console.log(renderUninstallSummary(report));
        if (report.failed.length || report.cancelled) process.exitCode = 1;
      } catch (error) {
        throw asUserError(error, session);
      } finally {
        await finish(session);
      }
    });
}
