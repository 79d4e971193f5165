import type { Command } from 'commander';
import { tr } from '../i18n/index.js';
import { addTargetOptions, type TargetFlags } from './target.js';

interface RemoveStageFlags extends TargetFlags { pipeline: string; stage: string; dryRun?: boolean; json?: boolean }

export function register(program: Command): void {
  const t = tr().cli;
  addTargetOptions(program.command('remove-stage').description(t.cmd.removeStage))
    .requiredOption('--pipeline <code>', t.option.pipeline)
    .requiredOption('--stage <name>', t.option.stageToRemove)
    .option('--dry-run', t.option.dryRunStage)
    .option('--json', t.option.json)
    .option('--lang <lang>', t.option.langMessages)
    .action(async (flags: RemoveStageFlags) => {
      const [{ removeStage }, { asUserError, finish, openForCli, templateFor }] = await Promise.all([import('../install/add-stage.js'), import('./session.js')]);
      const template = await templateFor(flags);
      const session = await openForCli(flags);
      try {
        const report = await removeStage(session.client, { pipeline: flags.pipeline, stage: flags.stage, stateDir: session.stateDir, template, dryRun: flags.dryRun });
        if (flags.json) console.log(JSON.stringify(report));
        else if (report.alreadyGone) console.log(t.stageAlreadyGone(report.name, report.statusId));
        else console.log((report.dryRun ? t.stageWouldRemove : t.stageRemoved)(report.name, report.statusId, report.pipeline));
      } catch (error) {
        throw asUserError(error, session);
      } finally {
        await finish(session);
      }
    });
}
