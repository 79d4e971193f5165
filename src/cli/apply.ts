import type { Command } from 'commander';
import { tr } from '../i18n/index.js';
import { UserError } from './errors.js';
import { addTargetOptions, type TargetFlags } from './target.js';

interface ApplyFlags extends TargetFlags { json?: boolean }

export function register(program: Command): void {
  const t = tr().cli;
  addTargetOptions(program.command('apply').description(t.cmd.apply))
    .argument('<plan>', t.option.planFile)
    .option('--json', t.option.json)
    .option('--lang <lang>', t.option.langMessages)
    .addHelpText('after', t.help.applyAfter)
    .action(applyAction);
}

/** `autosalon apply plan.json`: exactly the saved plan, or nothing when the portal, the ledger or the template changed. */
async function applyAction(file: string, flags: ApplyFlags): Promise<void> {
  const t = tr();
  const [{ runInstall }, render, saved, { asUserError, finish, openForCli }, { loadTemplate }, { Progress }, { styleFor }] = await Promise.all([
    import('../install/apply.js'), import('../install/render.js'), import('../install/saved-plan.js'), import('./session.js'),
    import('../template/loader.js'), import('./progress.js'), import('./style.js'),
  ]);
  let plan;
  try {
    plan = await saved.readSavedPlan(file);
  } catch (error) {
    throw asUserError(error);
  }
  const template = loadTemplate(flags.template ?? plan.template.dir);
  if (saved.templateFingerprint(template) !== plan.template.fingerprint) throw new UserError(t.savedPlan.templateChanged(flags.template ?? plan.template.dir));
  const progress = new Progress();
  const session = await openForCli(flags, (text) => progress.log(text));
  const out = flags.json ? process.stderr : process.stdout;
  const style = styleFor(out);
  const human = (text: string) => out.write(`${text}\n`);
  try {
    if (session.client.portalKey !== plan.portal.key) throw new UserError(t.savedPlan.otherPortal(plan.portal.origin, session.client.origin));
    human(t.savedPlan.applying(plan.createdAt, plan.portal.origin, render.changeCounts(plan)));
    const report = await runInstall(session.client, {
      tier: plan.tier, lang: plan.lang, keepEdits: plan.keepEdits, expectedPlan: plan.steps, template, stateDir: session.stateDir, sharedLock: session.sharedLock,
      app: session.app ? { ...session.app, publicUrl: plan.publicUrl ?? session.app.publicUrl } : undefined,
      onProgress: (event) => progress.event(event),
    });
    progress.clear();
    report.tierSource = plan.tierSource;
    human(render.renderSummary(report, style));
    if (flags.json) console.log(JSON.stringify(render.reportJson(report)));
    if (report.failed.length || !report.converged) process.exitCode = 1;
  } catch (error) {
    progress.clear();
    throw asUserError(error, session);
  } finally {
    await finish(session);
  }
}
