import type { Command } from 'commander';
import { tr } from '../i18n/index.js';
import { UserError } from './errors.js';
import { addTargetOptions, type TargetFlags } from './target.js';

interface AddStageFlags extends TargetFlags { pipeline: string; name: string; after: string; semantics?: string; color?: string; dryRun?: boolean; json?: boolean }

export function register(program: Command): void {
  const t = tr().cli;
  addTargetOptions(program.command('add-stage').description(t.cmd.addStage))
    .requiredOption('--pipeline <code>', t.option.pipeline)
    .requiredOption('--name <name>', t.option.stageName)
    .requiredOption('--after <name>', t.option.after)
    .option('--semantics <kind>', t.option.semantics)
    .option('--color <#RRGGBB>', t.option.color)
    .option('--dry-run', t.option.dryRunStage)
    .option('--json', t.option.json)
    .option('--lang <lang>', t.option.langMessages)
    .action(async (flags: AddStageFlags) => {
      if (flags.semantics !== undefined && flags.semantics !== 'process' && flags.semantics !== 'failure') {
        throw new UserError(t.badSemantics(flags.semantics));
      }
      const [{ addStage }, { asUserError, finish, openForCli, templateFor }] = await Promise.all([import('../install/add-stage.js'), import('./session.js')]);
      const template = await templateFor(flags);
      const session = await openForCli(flags);
      try {
        const report = await addStage(session.client, {
          pipeline: flags.pipeline, name: flags.name, after: flags.after, semantics: flags.semantics as 'process' | 'failure' | undefined,
          color: flags.color, stateDir: session.stateDir, template, dryRun: flags.dryRun,
        });
        if (flags.json) console.log(JSON.stringify(report));
        else console.log((report.dryRun ? t.stageWouldAdd : t.stageAdded)(tr().detail.newStage(report.semantics, report.sort), report.name, report.statusId, report.pipeline, report.after));
      } catch (error) {
        throw asUserError(error, session);
      } finally {
        await finish(session);
      }
    });
}
