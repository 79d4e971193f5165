import type { Command } from 'commander';
import { runInstall } from '../install/apply.js';
import type { Plan } from '../install/model.js';
import { countActions } from '../install/plan.js';
import { renderPlan, renderProgress, renderSummary, reportJson } from '../install/render.js';
import { loadTemplate } from '../template/index.js';
import { parseLang } from './options.js';
import { addTargetOptions, asUserError, confirmOnTerminal, finish, openForCli, type TargetFlags } from './session.js';

function consentSummary(plan: Plan): string {
  const c = countActions(plan.steps, (s) => !!s.foreign && !s.deferred);
  return `the plan changes ${c.update + c.delete} object(s) that were on the portal before Autosalon (${c.update} to update, ${c.delete} to delete)`;
}

export interface InstallFlags extends TargetFlags {
  tier?: string;
  plan?: string;
  dryRun?: boolean;
  yes?: boolean;
  json?: boolean;
  lang?: string;
}

export function register(program: Command): void {
  addTargetOptions(
    program
      .command('install')
      .description('install the Autosalon CRM into a portal: show the plan, ask, apply in batches, summarise'),
  )
    .option('--tier <tier>', 'what to install: base | crm_plus')
    .option('--plan <code>', 'the portal\'s plan code (e.g. pro, std, basic), mapped to a tier')
    .option('--lang <lang>', 'language of names written to the portal: ru | en (default: the last install\'s, else ru)')
    .option('--dry-run', 'show the plan and change nothing')
    .option('--yes', 'apply without asking')
    .option('--json', 'print one JSON object (the report) on stdout')
    .addHelpText('after', '\nExit code: 0 when the portal matches the template afterwards (or --dry-run), 1 otherwise (the summary says what is left).')
    .action(installAction);
}

/** `autosalon install`: plan, consent, apply, summary (also what `start` runs against a real portal). */
export async function installAction(flags: InstallFlags): Promise<void> {
  const session = await openForCli(flags);
  const template = loadTemplate();
  const human = (text: string) => (flags.json ? console.error(text) : console.log(text));
  try {
    const report = await runInstall(session.client, {
      tier: flags.tier,
      plan: flags.plan,
      lang: flags.lang === undefined ? undefined : parseLang(flags.lang),
      dryRun: flags.dryRun,
      app: session.app,
      stateDir: session.stateDir,
      template,
      onProgress: (event) => {
        if (event.type === 'plan' && event.round === 1) {
          human(renderPlan(event.plan, template, { target: session.description, tierSource: event.tierSource }));
          human('');
          return;
        }
        const line = renderProgress(event);
        if (line) console.error(line);
      },
      confirm: (plan) => confirmOnTerminal('Apply this plan?', !!flags.yes, consentSummary(plan)),
    });
    human(renderSummary(report));
    if (flags.json) console.log(JSON.stringify(reportJson(report)));
    // Exit 0 only when the portal now matches the template, as `verify` would say.
    if (report.failed.length || report.cancelled || (!report.dryRun && !report.converged)) process.exitCode = 1;
  } catch (error) {
    throw asUserError(error, session);
  } finally {
    await finish(session);
  }
}
