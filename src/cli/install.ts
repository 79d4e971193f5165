import { resolve } from 'node:path';
import type { Command } from 'commander';
import { tr } from '../i18n/index.js';
import type { Plan } from '../install/model.js';
import { UserError } from './errors.js';
import { parseInteger, parseLang } from './options.js';
import { addTargetOptions, targetArgs, timeoutOf, type TargetFlags } from './target.js';

export interface InstallFlags extends TargetFlags {
  tier?: string;
  plan?: string;
  dryRun?: boolean;
  yes?: boolean;
  keepEdits?: boolean;
  json?: boolean;
  lang?: string;
  out?: string;
  detailedExitcode?: boolean;
  portals?: string;
  concurrency?: string;
}

export function register(program: Command): void {
  const t = tr().cli;
  addTargetOptions(program.command('install').description(t.cmd.install))
    .option('--tier <tier>', t.option.tier)
    .option('--plan <code>', t.option.plan)
    .option('--lang <lang>', t.option.langInstall)
    .option('--dry-run', t.option.dryRun)
    .option('--out <file>', t.option.out)
    .option('--detailed-exitcode', t.option.detailedExitcode)
    .option('--yes', t.option.yes)
    .option('--keep-edits', t.option.keepEdits)
    .option('--json', t.option.json)
    .option('--portals <file>', t.option.portals)
    .option('--concurrency <n>', t.option.concurrency, '4')
    .addHelpText('after', t.help.installAfter)
    .action(installAction);
}

/** What the person is asked to agree to: changes to the portal's own objects, and to objects a person edited (old → new). */
export function consentText(plan: Plan, consentSteps: (p: Plan) => { foreign: Plan['steps']; edited: Plan['steps'] }, stepLines: (s: Plan['steps']) => string[]): string {
  const t = tr().cli.consent;
  const { foreign, edited } = consentSteps(plan);
  const lines: string[] = [];
  if (foreign.length) {
    const updates = foreign.filter((s) => s.action === 'update').length;
    lines.push(t.foreign(foreign.length, updates, foreign.length - updates));
  }
  if (edited.length) lines.push(t.edited(edited.length), ...stepLines(edited));
  return lines.join('\n');
}

/** `autosalon install`: plan, consent, apply, summary (also what `start` runs against a real portal). */
export async function installAction(flags: InstallFlags): Promise<void> {
  const t = tr().cli;
  if (flags.portals) {
    const { fleetAction } = await import('./fleet.js');
    await fleetAction(flags);
    return;
  }
  if (flags.detailedExitcode && !flags.dryRun && !flags.out) throw new UserError(t.detailedNeedsDryRun);
  const [{ runInstall }, { consentSteps, executableSteps }, render, { asUserError, confirmOnTerminal, finish, openForCli, templateFor }, { Progress }, { styleFor }] = await Promise.all([
    import('../install/apply.js'), import('../install/plan.js'), import('../install/render.js'),
    import('./session.js'), import('./progress.js'), import('./style.js'),
  ]);
  const template = await templateFor(flags);
  const lang = flags.lang === undefined ? undefined : parseLang(flags.lang);
  const progress = new Progress();
  const session = await openForCli(flags, (text) => progress.log(text));
  const out = flags.json ? process.stderr : process.stdout;
  const style = styleFor(out);
  const human = (text: string) => out.write(`${text}\n`);
  // Ctrl-C: the first stops before the next batch (what was done is recorded); a second stops at once.
  const controller = new AbortController();
  const onSigint = () => {
    progress.clear();
    if (controller.signal.aborted) {
      console.error(tr().progress.stoppedAtOnce);
      process.exit(130);
    }
    console.error(tr().progress.stopping);
    controller.abort();
  };
  process.on('SIGINT', onSigint);
  try {
    const report = await runInstall(session.client, {
      tier: flags.tier,
      plan: flags.plan,
      lang,
      dryRun: flags.dryRun || !!flags.out,
      keepEdits: flags.keepEdits,
      app: session.app,
      stateDir: session.stateDir,
      template,
      sharedLock: session.sharedLock,
      signal: controller.signal,
      onProgress: (event) => {
        if (event.type === 'plan') {
          if (event.round !== 1) return;
          progress.clear();
          human(render.renderPlan(event.plan, template, { target: session.description, tierSource: event.tierSource }, style));
          human('');
          return;
        }
        progress.event(event);
      },
      confirm: (plan) => {
        const summary = consentText(plan, consentSteps, (steps) => render.stepLines(steps, styleFor(process.stderr)));
        if (!flags.yes && process.stdin.isTTY) console.error(summary);
        // Without a terminal the refusal says the same, the person's edits listed (old → new).
        return confirmOnTerminal(t.consent.question(render.changeCounts(plan)), !!flags.yes, summary, {
          flags: consentSteps(plan).edited.length ? t.consent.yesOrKeepEdits : '--yes',
        });
      },
    });
    progress.clear();
    if (flags.out) {
      const saved = await import('../install/saved-plan.js');
      const file = resolve(flags.out);
      saved.writeSavedPlan(file, {
        format: saved.SAVED_PLAN_FORMAT, version: 1, createdAt: new Date().toISOString(),
        portal: { key: session.client.portalKey, origin: session.client.origin, mode: session.client.mode },
        template: { code: template.code, version: template.version, dir: resolve(flags.template ?? (await import('../template/compiled.js')).DEFAULT_TEMPLATE_DIR), fingerprint: saved.templateFingerprint(template) },
        tier: report.tier, tierSource: report.tierSource, lang: report.lang, keepEdits: !!flags.keepEdits,
        ...(report.plan.publicUrl ? { publicUrl: report.plan.publicUrl } : {}),
        steps: saved.savedSteps(report.plan),
      });
      human(t.planSaved(file, ['autosalon apply', file, ...targetArgs(flags)].join(' ')));
    } else human(render.renderSummary(report, style));
    if (flags.json) console.log(JSON.stringify(render.reportJson(report)));
    if (report.interrupted) process.exitCode = 130;
    else if (report.dryRun) {
      // --detailed-exitcode: 0 nothing to do, 2 changes to make (1 is an error).
      const changes = report.plan.steps.some((s) => s.deferred) || executableSteps(report.plan).length > 0;
      process.exitCode = flags.detailedExitcode && changes ? 2 : 0;
    } else if (report.failed.length || report.cancelled || !report.converged) process.exitCode = 1;
  } catch (error) {
    progress.clear();
    throw asUserError(error, session);
  } finally {
    process.off('SIGINT', onSigint);
    await finish(session);
  }
}

/** The shared flag parsing of a fleet (install --portals): concurrency and the request timeout. */
export function fleetSettings(flags: InstallFlags): { concurrency: number; timeoutMs?: number } {
  return { concurrency: parseInteger(flags.concurrency ?? '4', '--concurrency', 1, 32), timeoutMs: timeoutOf(flags) };
}
