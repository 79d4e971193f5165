import type { Command } from 'commander';
import { addStage } from '../install/add-stage.js';
import { UserError } from './errors.js';
import { addTargetOptions, asUserError, finish, openForCli, type TargetFlags } from './session.js';

interface AddStageFlags extends TargetFlags { pipeline: string; name: string; after: string; semantics?: string; color?: string; json?: boolean }

export function register(program: Command): void {
  addTargetOptions(program.command('add-stage').description('add a support stage to a pipeline (or a lead status), kept by later installs and verifications'))
    .requiredOption('--pipeline <code>', 'repair | shop | wash | leads')
    .requiredOption('--name <name>', 'the stage name, as users see it')
    .requiredOption('--after <name>', 'the stage it goes after (its name or code)')
    .option('--semantics <kind>', 'process | failure (default: that of the stage it follows)')
    .option('--color <#RRGGBB>', 'the stage colour')
    .option('--json', 'print one JSON object on stdout')
    .action(async (flags: AddStageFlags) => {
      if (flags.semantics !== undefined && flags.semantics !== 'process' && flags.semantics !== 'failure') {
        throw new UserError(`--semantics is process or failure (got "${flags.semantics}")`);
      }
      const session = await openForCli(flags);
      try {
        const report = await addStage(session.client, {
          pipeline: flags.pipeline, name: flags.name, after: flags.after, semantics: flags.semantics as 'process' | 'failure' | undefined,
          color: flags.color, stateDir: session.stateDir,
        });
        if (flags.json) console.log(JSON.stringify(report));
        else console.log(`Added ${report.semantics} stage "${report.name}" (${report.statusId}) to ${report.pipeline} after "${report.after}", sort ${report.sort}. Later installs and verifications keep it.`);
      } catch (error) {
        throw asUserError(error, session);
      } finally {
        await finish(session);
      }
    });
}
