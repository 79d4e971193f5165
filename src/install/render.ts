// Text for people: the plan (grouped by pipeline, each pipeline's own line first, a legend, repeated reasons folded
// into one line), progress, the summary. Colour comes from the caller (a Style); without one the text is plain.
import { tr } from '../i18n/index.js';
import type { Template } from '../template/model.js';
import type { ProgressEvent } from './apply.js';
import type { InstallReport, Plan, PlanDifference, Step, StepAction } from './model.js';
import { countActions } from './plan.js';

/** How a piece of text is shown: colours on a terminal, nothing when piped (see src/cli/style.ts). */
export interface Style {
  create: (text: string) => string;
  update: (text: string) => string;
  delete: (text: string) => string;
  keep: (text: string) => string;
  skip: (text: string) => string;
  heading: (text: string) => string;
  dim: (text: string) => string;
  good: (text: string) => string;
  bad: (text: string) => string;
}

const same = (text: string) => text;
export const PLAIN: Style = { create: same, update: same, delete: same, keep: same, skip: same, heading: same, dim: same, good: same, bad: same };

export const MARK: Record<StepAction, string> = { create: '+', update: '~', delete: '-', keep: '=', skip: '!' };

function groupTitle(group: string, template: Template, lang: Plan['lang']): string {
  const t = tr();
  if (group === 'leads') return t.plan.groupLeads;
  if (group.startsWith('pipeline:')) {
    const code = group.slice('pipeline:'.length);
    const p = template.pipelines.find((x) => x.code === code);
    return t.plan.groupPipeline(p ? p.name[lang] : code, code);
  }
  if (group === 'fields') return t.plan.groupFields;
  if (group === 'cards') return t.plan.groupCards;
  if (group === 'app') return t.plan.groupApp;
  if (group === 'pipelines') return t.plan.groupPipelines;
  return t.plan.groupPortal;
}

function groupRank(group: string, template: Template): number {
  if (group === 'leads') return 0;
  if (group.startsWith('pipeline:')) return 1 + template.pipelines.findIndex((p) => `pipeline:${p.code}` === group) / 100;
  return { fields: 2, cards: 3, app: 4, pipelines: 4.5 }[group] ?? 5;
}

/** One step as the plans print it: mark, object, detail. */
export function stepLine(s: Step, style: Style = PLAIN, indent = '  '): string {
  return `${indent}${style[s.action](MARK[s.action])} ${s.title}${s.detail ? style.dim(` — ${s.detail}`) : ''}`;
}

/** A folded line longer than this names its objects one per line under the reason. */
const FOLDED_WIDTH = 240;

/**
 * Steps as lines; neighbours with the same action and the same reason are folded, so a reason is said once: into one
 * line naming them all (the default stages of a new pipeline), or — when that line would run long (the nine
 * application objects a webhook skips) — the reason once with the objects one per line under it.
 */
export function stepLines(steps: Step[], style: Style = PLAIN, indent = '  '): string[] {
  const out: string[] = [];
  for (let i = 0; i < steps.length;) {
    let j = i + 1;
    while (j < steps.length && steps[j].action === steps[i].action && steps[j].detail && steps[j].detail === steps[i].detail) j++;
    const run = steps.slice(i, j);
    const mark = style[run[0].action](MARK[run[0].action]);
    const line = `${indent}${MARK[run[0].action]} ${run.map((s) => s.title).join(', ')} — ${run[0].detail}`;
    if (run.length === 1) out.push(stepLine(run[0], style, indent));
    else if (line.length <= FOLDED_WIDTH) out.push(`${indent}${mark} ${run.map((s) => s.title).join(', ')}${style.dim(` — ${run[0].detail}`)}`);
    else out.push(`${indent}${mark} ${style.dim(`${run[0].detail}:`)}`, ...run.map((s) => `${indent}    ${s.title}`));
    i = j;
  }
  return out;
}

/** "45 to create, 17 to update, …": what the plan does to the template's objects and the portal's own. */
export function planCounts(plan: Pick<Plan, 'steps'>): string {
  const ours = countActions(plan.steps, (s) => s.template);
  const portals = countActions(plan.steps, (s) => !s.template);
  return tr().plan.counts(ours.create, ours.update, ours.delete + portals.delete, ours.keep, ours.skip + portals.skip, portals.keep);
}

/** The changes alone, for the question before applying: "45 to create, 17 to update, 16 to delete". */
export function changeCounts(plan: { steps: { action: StepAction }[] }): string {
  const count = (action: StepAction) => plan.steps.filter((s) => s.action === action).length;
  return tr().plan.changes(count('create'), count('update'), count('delete'));
}

export function legend(style: Style = PLAIN): string {
  const t = tr();
  return `${t.plan.legend}: ${(['create', 'update', 'delete', 'keep', 'skip'] as StepAction[]).map((a) => `${style[a](MARK[a])} ${t.plan.actionWord[a]}`).join('  ')}`;
}

export function renderPlan(plan: Plan, template: Template, header: { target: string; tierSource: string }, style: Style = PLAIN): string {
  const t = tr();
  const out: string[] = [];
  out.push(style.heading(`${template.name[plan.lang]} ${plan.template.version} → ${header.target}`));
  out.push(t.plan.tierLine(plan.tier, header.tierSource, t.languageName[plan.lang]));
  out.push(legend(style));
  // The portal's own elements that are simply kept are listed together, whatever they belong to.
  const shownIn = (s: Step) => (s.template || s.action !== 'keep' ? s.group : 'portal');
  const groups = [...new Set(plan.steps.map(shownIn))];
  groups.sort((a, b) => groupRank(a, template) - groupRank(b, template));
  for (const group of groups) {
    // A pipeline's own line comes first, then what happens to its stages.
    const steps = plan.steps.filter((s) => shownIn(s) === group).sort((a, b) => Number(b.kind === 'category') - Number(a.kind === 'category'));
    const unchanged = steps.filter((s) => s.action === 'keep' && s.template);
    const now = steps.filter((s) => !(s.action === 'keep' && s.template) && !s.deferred);
    const later = steps.filter((s) => s.deferred);
    out.push('', style.heading(groupTitle(group, template, plan.lang)));
    out.push(...stepLines(now, style));
    if (later.length) {
      out.push(`  ${style.dim(t.plan.onceCreated)}`);
      out.push(...stepLines(later, style, '    '));
    }
    if (unchanged.length) out.push(`  ${style.keep(MARK.keep)} ${t.plan.unchanged(unchanged.length)}`);
  }
  out.push('', style.heading(`${t.plan.planLabel}: ${planCounts(plan)}`));
  return out.join('\n');
}

export function renderProgress(event: ProgressEvent): string | undefined {
  const t = tr().progress;
  switch (event.type) {
    case 'read': return event.round === 1 ? t.reading : t.readingAgain(event.round);
    case 'resume': return event.earlierRun ? t.resumed(event.found, event.creates) : event.creates ? t.lostFound(event.found, event.creates) : undefined;
    case 'backup': return t.backup(event.objects, event.file);
    case 'batch': return t.batch(event.round, event.batch, event.batches, event.steps);
    case 'batch-done': return t.batchDone(event.ok, event.failed);
    case 'lost': return t.lost(event.batch);
    case 'wait': return t.wait(Math.round(event.ms / 1000), event.reason);
    default: return undefined;
  }
}

function titles(items: { title: string }[]): string {
  const shown = items.slice(0, 5).map((d) => d.title).join(', ');
  return items.length > 5 ? tr().summary.andMore(shown, items.length - 5) : shown;
}

/** Why the plan's counts and the result's differ, a line per reason. */
export function renderDifferences(report: Pick<InstallReport, 'differences' | 'plan' | 'created' | 'updated' | 'deleted'>): string[] {
  if (!report.differences.length) return [];
  const t = tr().summary;
  const planned = countActions(report.plan.steps);
  const out = [t.countsDiffer(tr().plan.changes(planned.create, planned.update, planned.delete), tr().plan.done(report.created, report.updated, report.deleted))];
  const by = (why: PlanDifference['why']) => report.differences.filter((d) => d.why === why);
  if (by('not-needed').length) out.push(`  ${t.notNeeded(by('not-needed').length, titles(by('not-needed')))}`);
  if (by('added').length) out.push(`  ${t.added(by('added').length, titles(by('added')))}`);
  if (by('failed').length) out.push(`  ${t.failedPlanned(by('failed').length)}`);
  if (by('interrupted').length) out.push(`  ${t.notMade(by('interrupted').length)}`);
  return out;
}

export function renderSummary(report: InstallReport, style: Style = PLAIN): string {
  const t = tr().summary;
  const out: string[] = [];
  if (report.cancelled) return t.cancelled;
  if (report.dryRun) return t.dryRun(report.httpRequests);
  if (report.interrupted) {
    out.push(style.bad(t.interrupted(report.created + report.updated + report.deleted)));
  } else {
    out.push(t.done(report.httpRequests, report.rounds, tr().plan.done(report.created, report.updated, report.deleted), report.unchanged));
  }
  out.push(...renderDifferences(report));
  if (report.resumed) out.push(t.resumed);
  // The plan above listed what was skipped and why; here only how many.
  if (report.skipped.length) out.push(t.skipped(report.skipped.length));
  if (report.kept.length) out.push(t.kept(report.kept.length));
  if (report.failed.length) {
    out.push(style.bad(t.failed(report.failed.length)));
    for (const f of report.failed) out.push(`  ${style.bad('x')} ${f.reason || f.object}`);
  }
  if (!report.interrupted) {
    out.push(!report.converged ? style.bad(t.doesNotMatch) : report.editsKept ? style.good(t.matchesButEdits(report.editsKept)) : style.good(t.matches));
  }
  if (report.backupFile) out.push(t.backup(report.backupFile));
  out.push(t.state(report.stateDir));
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
        ...(s.edited ? { edited: true } : {}),
      })),
    },
  };
}
