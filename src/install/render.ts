// Text for people: the plan (counts, then one line per step, grouped by pipeline), progress, the summary.
import type { Template } from '../template/model.js';
import type { ProgressEvent } from './apply.js';
import type { InstallReport, Plan, Step, StepAction } from './model.js';
import { countActions } from './plan.js';

const MARK: Record<StepAction, string> = { create: '+', update: '~', delete: '-', keep: '=', skip: '!' };

function groupTitle(group: string, template: Template, lang: Plan['lang']): string {
  if (group === 'leads') return 'Lead statuses';
  if (group.startsWith('pipeline:')) {
    const code = group.slice('pipeline:'.length);
    const p = template.pipelines.find((x) => x.code === code);
    return `Pipeline ${code}${p ? ` — ${p.name[lang]}` : ''}`;
  }
  if (group === 'fields') return 'Fields';
  if (group === 'cards') return 'Cards';
  if (group === 'app') return 'Application objects (robots, triggers, events, business process)';
  return 'Kept as they are (not in the template)';
}

function groupRank(group: string, template: Template): number {
  if (group === 'leads') return 0;
  if (group.startsWith('pipeline:')) return 1 + template.pipelines.findIndex((p) => `pipeline:${p.code}` === group) / 100;
  return { fields: 2, cards: 3, app: 4 }[group] ?? 5;
}

/** One step, as the plans print it: mark, action, object, detail. */
export function stepLine(s: Step): string {
  const when = s.deferred ? ' (once the pipeline exists)' : '';
  return `  ${MARK[s.action]} ${s.action.padEnd(6)} ${s.title}${s.detail ? ` — ${s.detail}` : ''}${when}`;
}

function planCounts(plan: Plan): string {
  const ours = countActions(plan.steps, (s) => s.template);
  const portals = countActions(plan.steps, (s) => !s.template);
  return `${ours.create} to create, ${ours.update} to update, ${ours.delete + portals.delete} to delete, `
    + `${ours.keep} unchanged, ${ours.skip + portals.skip} skipped; ${portals.keep} of the portal's own elements kept`;
}

export function renderPlan(plan: Plan, template: Template, header: { target: string; tierSource: string }): string {
  const out: string[] = [];
  out.push(`${template.name[plan.lang]} ${plan.template.version} → ${header.target}`);
  out.push(`tier ${plan.tier} (${header.tierSource}), language ${plan.lang}`);
  out.push(`Plan: ${planCounts(plan)}`);
  // The portal's own elements that are simply kept are listed together, whatever they belong to.
  const shownIn = (s: Step) => (s.template || s.action !== 'keep' ? s.group : 'portal');
  const groups = [...new Set(plan.steps.map(shownIn))];
  groups.sort((a, b) => groupRank(a, template) - groupRank(b, template));
  for (const group of groups) {
    const steps = plan.steps.filter((s) => shownIn(s) === group);
    const unchanged = steps.filter((s) => s.action === 'keep' && s.template);
    const shown = steps.filter((s) => !(s.action === 'keep' && s.template));
    out.push('', groupTitle(group, template, plan.lang));
    for (const s of shown) out.push(stepLine(s));
    if (unchanged.length) out.push(`  = ${unchanged.length} unchanged`);
  }
  return out.join('\n');
}

export function renderProgress(event: ProgressEvent): string | undefined {
  switch (event.type) {
    case 'read': return event.round === 1 ? 'Reading the portal…' : `Reading the portal again (round ${event.round})…`;
    case 'resume': return `Resuming an interrupted run: ${event.found} of the ${event.creates} objects its last batch was creating are on the portal; recorded, not created again.`;
    case 'backup': return `Backup of ${event.objects} object(s) before changing them: ${event.file}`;
    case 'batch': return `Round ${event.round}, batch ${event.batch}/${event.batches}: ${event.steps} step(s)…`;
    case 'batch-done': return `  ${event.ok} done${event.failed ? `, ${event.failed} failed` : ''}`;
    case 'lost': return `  the answer to batch ${event.batch} was lost: reading the portal again to see what it did`;
    case 'wait': return `Waiting ${Math.round(event.ms / 1000)} s: ${event.reason}`;
    default: return undefined;
  }
}

export function renderSummary(report: InstallReport): string {
  const out: string[] = [];
  if (report.cancelled) return 'Cancelled: nothing was changed.';
  if (report.dryRun) {
    out.push(`Dry run: nothing was changed (${report.httpRequests} request(s) to read the portal).`);
    return out.join('\n');
  }
  out.push(`Done in ${report.httpRequests} request(s), ${report.rounds} round(s): ${report.created} created, ${report.updated} updated, `
    + `${report.deleted} deleted, ${report.unchanged} unchanged.`);
  if (report.resumed) out.push('An interrupted run was resumed: what it had created was found and recorded.');
  if (report.skipped.length) {
    out.push(`Skipped (${report.skipped.length}):`);
    const byReason = new Map<string, string[]>();
    for (const s of report.skipped) byReason.set(s.reason, [...(byReason.get(s.reason) ?? []), s.object]);
    for (const [reason, objects] of byReason) out.push(`  ! ${objects.join(', ')} — ${reason}`);
  }
  if (report.kept.length) out.push(`Kept ${report.kept.length} element(s) of the portal that the template does not know.`);
  if (report.failed.length) {
    out.push(`Failed (${report.failed.length}):`);
    for (const f of report.failed) out.push(`  x ${f.reason || f.object}`);
  }
  out.push(report.converged
    ? 'The portal now matches the template.'
    : 'The portal does not match the template yet: see what was skipped or failed above (autosalon verify lists every difference).');
  if (report.backupFile) out.push(`Backup: ${report.backupFile}`);
  out.push(`State: ${report.stateDir}`);
  return out.join('\n');
}

/** The --json object: the report without the plan's REST payloads. */
export function reportJson(report: InstallReport): Record<string, unknown> {
  const { plan, ...rest } = report;
  return {
    ...rest,
    plan: plan && {
      tier: plan.tier,
      lang: plan.lang,
      steps: plan.steps.map((s) => ({
        id: s.id, action: s.action, kind: s.kind, object: s.key, title: s.title, detail: s.detail, deferred: s.deferred ?? false, template: s.template,
      })),
    },
  };
}
