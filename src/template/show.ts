import type { ActionDef, Lang, RuleDef, StageDef, Template, TriggerDef } from './model.js';
import { CRM_ENTITIES } from './schema.js';
import { filterByTier } from './tiers.js';

export function templateSummary(t: Template): string {
  const stages = t.pipelines.reduce((n, p) => n + p.stages.length, 0);
  return `${t.code} ${t.version}: ${t.leads.statuses.length} lead statuses, ${t.pipelines.length} pipelines with ${stages} stages, `
    + `${t.fields.length} fields, ${t.cards.length} cards, ${t.rules.length} automation rules, tiers ${t.tiers.join(' < ')}`;
}

function describeAction(a: ActionDef, t: Template, lang: Lang): string {
  if ('notify' in a) return `notify ${a.notify.to.join(', ')}: "${a.notify.message[lang]}"`;
  if ('createTask' in a) return `task "${a.createTask.title[lang]}" for ${a.createTask.to}, due in ${a.createTask.deadline}`;
  if ('createTodo' in a) return `to-do "${a.createTodo.title[lang]}" for ${a.createTodo.to}, due in ${a.createTodo.deadline}`;
  if ('requireFields' in a) return `required: ${a.requireFields.map((c) => t.fields.find((f) => f.code === c)?.label[lang] ?? c).join(', ')}`;
  if ('checkFormat' in a) return `check the format of ${a.checkFormat.join(', ')}`;
  if ('setStage' in a) return `move to ${a.setStage}`;
  if ('convert' in a) return `convert: contact, company, deal in the pipeline chosen by ${a.convert.pipelineField} (default ${a.convert.default})`;
  return `refusal process: re-call on the 1st/15th of next month, written to ${a.refusal.recallField}`;
}

function describeTrigger(w: TriggerDef): string {
  const after = 'after' in w && w.after ? ` +${w.after}` : '';
  const cond = w.on !== 'change' && w.if
    ? 'stageIn' in w.if ? ` if still in ${w.if.stageIn.join('/')}`
      : 'semanticsNotIn' in w.if ? ` if not ${w.if.semanticsNotIn.join('/')}`
        : ` if ${w.if.field} in ${w.if.in.join('/')}`
    : '';
  if (w.on === 'create') return `on create${after}${cond}`;
  if (w.on === 'change') return `on change of ${w.fields.join(', ')}`;
  return `on enter${after}${cond}`;
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
  const t = opts.tier ? filterByTier(full, opts.tier) : full;
  const out: string[] = [];
  const tierNote = opts.tier ? `tier ${opts.tier}` : `all tiers (${full.tiers.join(' < ')})`;
  out.push(`${t.name[lang]} ${t.version} — ${tierNote}, labels ${lang}`);

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
    out.push('', `Lead statuses [${t.leads.tier}]`);
    stageLines(t.leads.statuses, undefined);
    if (t.leads.remove.length) out.push(`    removed where unused: ${t.leads.remove.join(', ')}`);
    otherRuleLines(t.rules.filter((r) => r.entity === 'lead'));
  }
  for (const p of t.pipelines) {
    out.push('', `Pipeline ${p.code} — ${p.name[lang]} [${p.tier}]`);
    stageLines(p.stages, p.code);
    otherRuleLines(t.rules.filter((r) => r.pipelines?.includes(p.code)));
  }

  out.push('', 'Fields');
  for (const entity of CRM_ENTITIES) {
    const fields = t.fields.filter((f) => f.entities.includes(entity));
    if (!fields.length) continue;
    out.push(`  ${entity}`);
    for (const f of fields) {
      const items = f.items ? ` (${f.items.map((i) => `${i.value[lang]}=${i.xmlId}`).join(' / ')})` : '';
      const kind = `${f.type}${f.multiline ? ', multi-line' : ''}${f.multiple ? ', multiple' : ''}`;
      const shown = entity === 'deal' && f.shownIn ? `  shown in ${f.shownIn.join(', ')}` : '';
      out.push(`    ${f.code.padEnd(21)} ${kind.padEnd(22)} "${f.label[lang]}"${items}${shown}`);
    }
  }

  out.push('', 'Cards');
  for (const c of t.cards) {
    const where = c.pipeline ? `${c.entity} (${c.pipeline})` : c.entity;
    out.push(`  ${where}: ${c.sections.map((s) => `"${s.title[lang]}" [${s.fields.length} fields]`).join(', ')}`);
  }

  if (t.app.robots.length || t.app.events.length) {
    out.push('', `Application objects [${t.app.tier}] (need an installed app; skipped with a webhook)`);
    for (const r of t.app.robots) out.push(`  robot ${r.code}: ${r.name[lang]}`);
    for (const r of t.app.triggers) out.push(`  trigger ${r.code}: ${r.name[lang]}`);
    for (const b of t.app.businessProcesses) out.push(`  business process ${b.code}: ${b.name[lang]}`);
    out.push(`  events: ${t.app.events.join(', ')}`);
  }
  if (!t.rules.length) out.push('', 'Automation: none in this tier');
  return out.join('\n');
}
