import { tr } from '../i18n/index.js';
import type { ActionDef, Lang, RuleDef, StageDef, Template, TriggerDef } from './model.js';
import { CRM_ENTITIES } from './schema.js';
import { filterByTier } from './tiers.js';

export function templateSummary(t: Template): string {
  const stages = t.pipelines.reduce((n, p) => n + p.stages.length, 0);
  return tr().show.summary(t.code, t.version, t.leads.statuses.length, t.pipelines.length, stages, t.fields.length, t.cards.length, t.rules.length, t.tiers.join(' < '));
}

function describeAction(a: ActionDef, t: Template, lang: Lang): string {
  const s = tr().show;
  if ('notify' in a) return s.notify(a.notify.to.join(', '), a.notify.message[lang]);
  if ('createTask' in a) return s.task(a.createTask.title[lang], a.createTask.to, a.createTask.deadline);
  if ('createTodo' in a) return s.todo(a.createTodo.title[lang], a.createTodo.to, a.createTodo.deadline);
  if ('requireFields' in a) return s.required(a.requireFields.map((c) => t.fields.find((f) => f.code === c)?.label[lang] ?? c).join(', '));
  if ('checkFormat' in a) return s.checkFormat(a.checkFormat.join(', '));
  if ('setStage' in a) return s.moveTo(a.setStage);
  if ('convert' in a) return s.convert(a.convert.pipelineField, a.convert.default);
  return s.refusal(a.refusal.recallField);
}

function describeTrigger(w: TriggerDef): string {
  const s = tr().show;
  const after = 'after' in w && w.after ? ` +${w.after}` : '';
  const cond = w.on !== 'change' && w.if
    ? 'stageIn' in w.if ? s.ifStillIn(w.if.stageIn.join('/'))
      : 'semanticsNotIn' in w.if ? s.ifNot(w.if.semanticsNotIn.join('/'))
        : s.ifFieldIn(w.if.field, w.if.in.join('/'))
    : '';
  if (w.on === 'create') return `${s.onCreate}${after}${cond}`;
  if (w.on === 'change') return s.onChange(w.fields.join(', '));
  return `${s.onEnter}${after}${cond}`;
}

function rulesForStage(rules: RuleDef[], pipeline: string | undefined, stage: StageDef): RuleDef[] {
  return rules.filter((r) => {
    if (r.when.on !== 'enterStage') return false;
    if (pipeline ? !r.pipelines?.includes(pipeline) : r.entity !== 'lead') return false;
    return r.when.stages ? r.when.stages.includes(stage.code) : r.when.semantics === stage.semantics;
  });
}

export function renderTemplateTree(full: Template, opts: { tier?: string; lang: Lang }): string {
  const { lang } = opts;
  const s = tr().show;
  const t = opts.tier ? filterByTier(full, opts.tier) : full;
  const out: string[] = [];
  const tierNote = opts.tier ? s.tier(opts.tier) : s.allTiers(full.tiers.join(' < '));
  out.push(s.title(t.name[lang], t.version, tierNote, lang));

  const stageLines = (stages: StageDef[], pipeline: string | undefined) => {
    for (const s of stages) {
      out.push(`    ${s.code.padEnd(12)} ${s.name[lang]}  [${s.semantics}]`);
      for (const r of rulesForStage(t.rules, pipeline, s)) {
        for (const a of r.do) out.push(`        ${'after' in r.when && r.when.after ? `+${r.when.after} ` : ''}${describeAction(a, t, lang)}  (${r.id})`);
      }
    }
  };

  // Rules not tied to entering a stage (on create, on change) are listed after the stages.
  const otherRuleLines = (rules: RuleDef[]) => {
    for (const r of rules.filter((x) => x.when.on !== 'enterStage')) {
      out.push(`    ${describeTrigger(r.when)}: ${r.do.map((a) => describeAction(a, t, lang)).join('; ')}  (${r.id})`);
    }
  };

  if (t.leads.statuses.length) {
    out.push('', `${s.leadStatuses} [${t.leads.tier}]`);
    stageLines(t.leads.statuses, undefined);
    if (t.leads.remove.length) out.push(`    ${s.removedWhereUnused(t.leads.remove.join(', '))}`);
    otherRuleLines(t.rules.filter((r) => r.entity === 'lead'));
  }
  for (const p of t.pipelines) {
    out.push('', `${s.pipeline} ${p.code} — ${p.name[lang]} [${p.tier}]`);
    stageLines(p.stages, p.code);
    otherRuleLines(t.rules.filter((r) => r.pipelines?.includes(p.code)));
  }

  out.push('', s.fields);
  for (const entity of CRM_ENTITIES) {
    const fields = t.fields.filter((f) => f.entities.includes(entity));
    if (!fields.length) continue;
    out.push(`  ${entity}`);
    for (const f of fields) {
      const items = f.items ? ` (${f.items.map((i) => `${i.value[lang]}=${i.xmlId}`).join(' / ')})` : '';
      const kind = `${f.type}${f.multiline ? `, ${s.multiline}` : ''}${f.multiple ? `, ${s.multiple}` : ''}`;
      const shown = entity === 'deal' && f.shownIn ? `  ${s.shownIn(f.shownIn.join(', '))}` : '';
      out.push(`    ${f.code.padEnd(21)} ${kind.padEnd(22)} "${f.label[lang]}"${items}${shown}`);
    }
  }

  out.push('', s.cards);
  for (const c of t.cards) {
    const where = c.pipeline ? `${c.entity} (${c.pipeline})` : c.entity;
    out.push(`  ${where}: ${c.sections.map((x) => s.section(x.title[lang], x.fields.length)).join(', ')}`);
  }

  if (t.app.robots.length || t.app.events.length) {
    out.push('', s.appObjects(t.app.tier));
    for (const r of t.app.robots) out.push(`  ${s.robot} ${r.code}: ${r.name[lang]}`);
    for (const r of t.app.triggers) out.push(`  ${s.trigger} ${r.code}: ${r.name[lang]}`);
    for (const b of t.app.businessProcesses) out.push(`  ${s.businessProcess} ${b.code}: ${b.name[lang]}`);
    out.push(`  ${s.events}: ${t.app.events.join(', ')}`);
  }
  if (!t.rules.length) out.push('', s.noAutomation);
  return out.join('\n');
}
