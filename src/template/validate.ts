// Rules that span files or need the whole template: references, duplicates, platform limits.
import type { IssueList, IssuePath, SourceFile } from './issues.js';
import type { LoadedSources } from './loader.js';
import { LEADS_PIPELINE, PORTAL_DEFAULT_DEAL_STAGES, STANDARD_FIELDS, type StageDef, type Template } from './model.js';
import type { ActionDef, CrmEntity, FieldDef } from './schema.js';

/** The spec's contract: FIELD_NAME including UF_CRM_ is at most 20 characters. */
export const MAX_FIELD_NAME = 20;
/** Lead STATUS_ID limit of the server (validateStatusId). */
export const MAX_LEAD_STATUS_ID = 21;
/** Deal stage limit without the C{id}: prefix is 30 − prefix − 8; 17 keeps room for category ids up to 999. */
export const MAX_DEAL_STAGE_CODE = 17;
const STATUS_ID_CHARS = /^[A-Z0-9_]+$/;

interface PipelineSource { source: SourceFile; code: string }

export function validateTemplate(t: Template, src: LoadedSources, pipelineSources: PipelineSource[], issues: IssueList): void {
  const tierRank = new Map(t.tiers.map((code, i) => [code, i]));
  const declared = t.tiers.join(', ');
  const checkTier = (file: SourceFile | undefined, path: IssuePath, tier: string | undefined): boolean => {
    if (tier === undefined || tierRank.has(tier)) return true;
    issues.add(file ?? '?', path, `unknown tier "${tier}" (declared: ${declared})`);
    return false;
  };
  const rank = (tier: string | undefined) => tierRank.get(tier ?? t.tiers[0]) ?? 0;

  // ---- tiers and plans
  checkDuplicates(t.tiers, (i, first) => issues.add(src.manifest!, ['tiers', i, 'code'], `duplicate tier "${t.tiers[i]}" (first at tiers[${first}])`));
  const planOwner = new Map<string, string>();
  for (const [tier, codes] of Object.entries(t.manifest.plans.tiers)) {
    checkTier(src.manifest, ['plans', 'tiers', tier], tier);
    codes.forEach((code, i) => {
      const owner = planOwner.get(code);
      if (owner) issues.add(src.manifest!, ['plans', 'tiers', tier, i], `plan code "${code}" is already mapped to tier ${owner}`);
      planOwner.set(code, tier);
    });
  }
  checkTier(src.manifest, ['plans', 'unknown'], t.manifest.plans.unknown);

  // ---- fields
  const fieldByCode = new Map<string, FieldDef>();
  t.fields.forEach((f, i) => {
    const at = (...rest: IssuePath): IssuePath => ['fields', i, ...rest];
    if (fieldByCode.has(f.code)) issues.add(src.fields!, at('code'), `duplicate field "${f.code}"`);
    fieldByCode.set(f.code, f);
    if (!/^UF_CRM_[A-Z0-9_]+$/.test(f.code)) {
      issues.add(src.fields!, at('code'), `field code "${f.code}" must start with UF_CRM_ and use only A-Z, 0-9 and _`);
    }
    if (f.code.length > MAX_FIELD_NAME) {
      issues.add(src.fields!, at('code'), `field code "${f.code}" is ${f.code.length} characters; at most ${MAX_FIELD_NAME} are allowed`);
    }
    checkTier(src.fields, at('tier'), f.tier);
    checkDuplicates(f.entities, (j) => issues.add(src.fields!, at('entities', j), `entity "${f.entities[j]}" is listed twice`));
    if (f.type === 'enumeration') {
      if (!f.items?.length) issues.add(src.fields!, at('items'), 'an enumeration field needs items');
      const xmlIds = (f.items ?? []).map((it) => it.xmlId);
      checkDuplicates(xmlIds, (j) => issues.add(src.fields!, at('items', j, 'xmlId'), `duplicate XML_ID "${xmlIds[j]}"`));
    } else if (f.items) {
      issues.add(src.fields!, at('items'), `only enumeration fields have items (this one is ${f.type})`);
    }
    if (f.multiline && f.type !== 'string') issues.add(src.fields!, at('multiline'), 'only string fields can be multi-line');
    if (f.type === 'boolean' && f.multiple) issues.add(src.fields!, at('multiple'), 'a boolean field cannot be multiple');
    if (f.validate) {
      try {
        new RegExp(f.validate.pattern);
      } catch {
        issues.add(src.fields!, at('validate', 'pattern'), `"${f.validate.pattern}" is not a valid regular expression`);
      }
    }
    if (f.shownIn) {
      if (!f.entities.includes('deal')) issues.add(src.fields!, at('shownIn'), 'shownIn lists deal pipelines; this field is not on deals');
      f.shownIn.forEach((p, j) => {
        if (p !== 'all' && !t.pipelines.some((pl) => pl.code === p)) {
          issues.add(src.fields!, at('shownIn', j), `unknown pipeline "${p}" (known: ${t.pipelines.map((pl) => pl.code).join(', ')}, all)`);
        }
      });
    }
  });
  const hasField = (entity: CrmEntity, code: string) =>
    STANDARD_FIELDS[entity].includes(code) || fieldByCode.get(code)?.entities.includes(entity) === true;

  // ---- lead statuses and pipelines
  checkTier(src.leads, ['tier'], t.leads.tier);
  checkStages(src.leads!, ['statuses'], t.leads.statuses, { first: 'NEW', success: 'CONVERTED', failure: 'JUNK', maxLength: MAX_LEAD_STATUS_ID }, issues);
  t.leads.remove.forEach((code, i) => {
    if (t.leads.statuses.some((s) => s.code === code)) issues.add(src.leads!, ['remove', i], `status "${code}" is both kept and removed`);
  });
  const pipelineCodes = t.pipelines.map((p) => p.code);
  for (const { source, code } of pipelineSources) {
    const p = t.pipelines.find((pl) => pl.code === code)!;
    if (code === LEADS_PIPELINE) issues.add(source, ['code'], `"${LEADS_PIPELINE}" is reserved for the lead statuses`);
    if (pipelineCodes.indexOf(code) !== pipelineCodes.lastIndexOf(code)) issues.add(source, ['code'], `duplicate pipeline code "${code}"`);
    for (const lang of ['ru', 'en'] as const) {
      if (t.pipelines.filter((o) => o.name[lang] === p.name[lang]).length > 1) {
        issues.add(source, ['name', lang], `another pipeline is also named "${p.name[lang]}"; names identify pipelines on the portal`);
      }
    }
    checkTier(source, ['tier'], p.tier);
    // Bitrix24 creates a pipeline's default stages itself (cutting their IDs to fit): their codes may be longer.
    checkStages(source, ['stages'], p.stages, { first: 'NEW', success: 'WON', failure: 'LOSE', maxLength: MAX_DEAL_STAGE_CODE, exempt: PORTAL_DEFAULT_DEAL_STAGES }, issues);
  }
  const pipelineTier = (code: string) => t.pipelines.find((p) => p.code === code)?.tier;
  const stagesOf = (pipeline: string | undefined): StageDef[] | undefined =>
    pipeline === undefined ? t.leads.statuses : t.pipelines.find((p) => p.code === pipeline)?.stages;

  // ---- cards
  const cardKeys = new Set<string>();
  t.cards.forEach((card, i) => {
    const at = (...rest: IssuePath): IssuePath => ['cards', i, ...rest];
    if (!checkTier(src.cards, at('tier'), card.tier)) return;
    const key = `${card.entity}/${card.pipeline ?? ''}`;
    if (cardKeys.has(key)) issues.add(src.cards!, at(), `a second card for ${card.entity}${card.pipeline ? ` in pipeline ${card.pipeline}` : ''}`);
    cardKeys.add(key);
    if (card.pipeline !== undefined) {
      if (card.entity !== 'deal') issues.add(src.cards!, at('pipeline'), 'only deal cards belong to a pipeline');
      else if (!pipelineCodes.includes(card.pipeline)) issues.add(src.cards!, at('pipeline'), `unknown pipeline "${card.pipeline}"`);
      else if (rank(card.tier) < rank(pipelineTier(card.pipeline))) {
        issues.add(src.cards!, at('tier'), `tier ${card.tier} is below the tier ${pipelineTier(card.pipeline)} of pipeline ${card.pipeline}`);
      }
    } else if (card.entity === 'deal') {
      issues.add(src.cards!, at('pipeline'), 'a deal card names its pipeline');
    }
    const baseNames = (t.baseSections[card.entity] ?? []).map((s) => s.name);
    if (!baseNames.length) issues.add(src.cards!, ['baseSections', card.entity], `no base sections for ${card.entity} cards`);
    card.sections.forEach((section, j) => {
      if (baseNames.includes(section.name) || card.sections.findIndex((s) => s.name === section.name) !== j) {
        issues.add(src.cards!, at('sections', j, 'name'), `duplicate section name "${section.name}"`);
      }
      section.fields.forEach((code, k) => {
        const field = fieldByCode.get(code);
        if (!field) issues.add(src.cards!, at('sections', j, 'fields', k), `unknown field "${code}"`);
        else if (!field.entities.includes(card.entity)) issues.add(src.cards!, at('sections', j, 'fields', k), `field "${code}" is not on ${card.entity}s`);
      });
    });
  });

  // shownIn (a field's attribute) and the deal cards (the layout) must agree.
  t.fields.forEach((f, i) => {
    if (!f.shownIn || !f.entities.includes('deal')) return;
    for (const card of t.cards.filter((c) => c.entity === 'deal' && c.pipeline)) {
      const wanted = f.shownIn.includes('all') || f.shownIn.includes(card.pipeline!);
      const shown = card.sections.some((s) => s.fields.includes(f.code));
      if (wanted !== shown) {
        issues.add(src.fields!, ['fields', i, 'shownIn'], `${f.code} is ${wanted ? 'meant for' : 'not meant for'} pipeline ${card.pipeline}, but its card ${shown ? 'shows' : 'does not show'} it`);
      }
    }
  });

  // ---- automation rules
  const roles = t.manifest.roles;
  const ruleIds = new Set<string>();
  t.rules.forEach((rule, i) => {
    const file = src.automation!;
    const at = (...rest: IssuePath): IssuePath => ['rules', i, ...rest];
    if (ruleIds.has(rule.id)) issues.add(file, at('id'), `duplicate rule id "${rule.id}"`);
    ruleIds.add(rule.id);
    checkTier(file, at('tier'), rule.tier);
    const scopes: (string | undefined)[] = rule.entity === 'lead' ? [undefined] : (rule.pipelines ?? []);
    if (rule.entity === 'lead' && rule.pipelines) issues.add(file, at('pipelines'), 'lead rules have no pipelines');
    if (rule.entity === 'deal' && !rule.pipelines?.length) issues.add(file, at('pipelines'), 'a deal rule lists its pipelines');
    (rule.entity === 'deal' ? rule.pipelines ?? [] : []).forEach((p, j) => {
      if (!pipelineCodes.includes(p)) issues.add(file, at('pipelines', j), `unknown pipeline "${p}"`);
      else if (rank(rule.tier) < rank(pipelineTier(p))) issues.add(file, at('tier'), `tier ${rule.tier} is below the tier ${pipelineTier(p)} of pipeline ${p}`);
    });
    const checkStage = (code: string, path: IssuePath) => {
      for (const scope of scopes) {
        const stages = stagesOf(scope);
        if (stages && !stages.some((s) => s.code === code)) {
          issues.add(file, path, `unknown stage "${code}" in ${scope ? `pipeline ${scope}` : 'the lead statuses'}`);
        }
      }
    };
    const checkField = (code: string, path: IssuePath) => {
      if (!hasField(rule.entity, code)) issues.add(file, path, `unknown field "${code}" for ${rule.entity}s`);
    };
    const checkRole = (role: string, path: IssuePath) => {
      const def = roles[role];
      if (!def) issues.add(file, path, `unknown role "${role}" (known: ${Object.keys(roles).join(', ')})`);
      else if (def.source === 'field' && !hasField(rule.entity, def.field)) {
        issues.add(file, path, `role "${role}" reads ${def.field}, which ${rule.entity}s do not have`);
      }
    };
    const checkText = (text: { ru: string; en: string }, path: IssuePath) => {
      for (const lang of ['ru', 'en'] as const) {
        for (const m of text[lang].matchAll(/\{([A-Z0-9_]+)\}/g)) {
          if (!hasField(rule.entity, m[1])) issues.add(file, [...path, lang], `placeholder {${m[1]}} is not a ${rule.entity} field`);
        }
      }
    };
    const when = rule.when;
    if (when.on === 'enterStage') {
      if (!when.stages && !when.semantics) issues.add(file, at('when'), 'enterStage needs stages or semantics');
      when.stages?.forEach((s, j) => checkStage(s, at('when', 'stages', j)));
    }
    if (when.on === 'change') when.fields.forEach((f, j) => checkField(f, at('when', 'fields', j)));
    if (when.on !== 'change' && when.if) {
      const cond = when.if;
      if ('stageIn' in cond) cond.stageIn.forEach((s, j) => checkStage(s, at('when', 'if', 'stageIn', j)));
      if ('field' in cond) checkField(cond.field, at('when', 'if', 'field'));
    }
    rule.do.forEach((action: ActionDef, j) => {
      const a = (...rest: IssuePath) => at('do', j, ...rest);
      if ('notify' in action) {
        action.notify.to.forEach((r, k) => checkRole(r, a('notify', 'to', k)));
        checkText(action.notify.message, a('notify', 'message'));
      } else if ('createTask' in action) {
        checkRole(action.createTask.to, a('createTask', 'to'));
        checkText(action.createTask.title, a('createTask', 'title'));
      } else if ('createTodo' in action) {
        checkRole(action.createTodo.to, a('createTodo', 'to'));
        checkText(action.createTodo.title, a('createTodo', 'title'));
      } else if ('requireFields' in action) {
        action.requireFields.forEach((f, k) => checkField(f, a('requireFields', k)));
      } else if ('checkFormat' in action) {
        action.checkFormat.forEach((f, k) => {
          checkField(f, a('checkFormat', k));
          if (fieldByCode.has(f) && !fieldByCode.get(f)!.validate) issues.add(file, a('checkFormat', k), `field "${f}" has no validate pattern`);
        });
      } else if ('setStage' in action) {
        checkStage(action.setStage, a('setStage'));
      } else if ('convert' in action) {
        if (rule.entity !== 'lead') issues.add(file, a('convert'), 'only leads are converted');
        const field = fieldByCode.get(action.convert.pipelineField);
        if (!field || field.type !== 'enumeration' || !field.entities.includes('lead')) {
          issues.add(file, a('convert', 'pipelineField'), `"${action.convert.pipelineField}" is not an enumeration field of leads`);
        } else {
          for (const [xmlId, pipeline] of Object.entries(action.convert.pipelines)) {
            if (!field.items?.some((it) => it.xmlId === xmlId)) issues.add(file, a('convert', 'pipelines', xmlId), `"${xmlId}" is not an item of ${field.code}`);
            if (!pipelineCodes.includes(pipeline)) issues.add(file, a('convert', 'pipelines', xmlId), `unknown pipeline "${pipeline}"`);
          }
        }
        if (!pipelineCodes.includes(action.convert.default)) issues.add(file, a('convert', 'default'), `unknown pipeline "${action.convert.default}"`);
      } else if ('refusal' in action) {
        if (rule.entity !== 'deal') issues.add(file, a('refusal'), 'the refusal process runs on deals');
        checkField(action.refusal.reasonField, a('refusal', 'reasonField'));
        const recall = fieldByCode.get(action.refusal.recallField);
        if (!recall || recall.type !== 'date' || !recall.entities.includes('deal')) {
          issues.add(file, a('refusal', 'recallField'), `"${action.refusal.recallField}" is not a date field of deals`);
        }
      }
    });
  });

  // ---- application objects
  checkTier(src.app, ['tier'], t.app.tier);
  const robotCodes = t.app.robots.map((r) => r.code);
  checkDuplicates(robotCodes, (i) => issues.add(src.app!, ['robots', i, 'code'], `duplicate robot code "${robotCodes[i]}"`));
  const triggerCodes = t.app.triggers.map((r) => r.code);
  checkDuplicates(triggerCodes, (i) => issues.add(src.app!, ['triggers', i, 'code'], `duplicate trigger code "${triggerCodes[i]}"`));
  checkDuplicates(t.app.events, (i) => issues.add(src.app!, ['events', i], `event "${t.app.events[i]}" is listed twice`));
  t.app.businessProcesses.forEach((bp, i) => {
    if (!robotCodes.includes(bp.robot)) issues.add(src.app!, ['businessProcesses', i, 'robot'], `unknown robot "${bp.robot}"`);
  });
}

function checkDuplicates<T>(values: T[], report: (index: number, firstIndex: number) => void): void {
  values.forEach((v, i) => {
    const first = values.indexOf(v);
    if (first !== i) report(i, first);
  });
}

interface StageRules { first: string; success: string; failure: string; maxLength: number; exempt?: readonly string[] }

/** Bitrix24 keeps system stages NEW / WON / LOSE (leads: NEW / CONVERTED / JUNK) and orders process < success < failure. */
function checkStages(file: SourceFile, base: IssuePath, stages: StageDef[], rules: StageRules, issues: IssueList): void {
  const codes = stages.map((s) => s.code);
  checkDuplicates(codes, (i, first) => issues.add(file, [...base, i, 'code'], `duplicate stage code "${codes[i]}" (first at ${base.join('.')}[${first}])`));
  stages.forEach((s, i) => {
    if (!STATUS_ID_CHARS.test(s.code)) issues.add(file, [...base, i, 'code'], `stage code "${s.code}" may use only A-Z, 0-9 and _`);
    if (s.code.length > rules.maxLength && !rules.exempt?.includes(s.code)) issues.add(file, [...base, i, 'code'], `stage code "${s.code}" is longer than ${rules.maxLength} characters`);
  });
  const successes = stages.filter((s) => s.semantics === 'success');
  if (successes.length !== 1) issues.add(file, base, `exactly one success stage is needed (found ${successes.length})`);
  if (!stages.some((s) => s.semantics === 'failure')) issues.add(file, base, 'at least one failure stage is needed');
  const order = { process: 0, success: 1, failure: 2 } as const;
  stages.forEach((s, i) => {
    if (i > 0 && order[s.semantics] < order[stages[i - 1].semantics]) {
      issues.add(file, [...base, i, 'semantics'], `a ${s.semantics} stage cannot follow a ${stages[i - 1].semantics} stage (process, then success, then failure)`);
    }
  });
  if (stages[0] && stages[0].code !== rules.first) {
    issues.add(file, [...base, 0, 'code'], `the first stage must be the system stage ${rules.first}`);
  }
  if (successes.length === 1 && successes[0].code !== rules.success) {
    issues.add(file, [...base, stages.indexOf(successes[0]), 'code'], `the success stage must be the system stage ${rules.success}`);
  }
  if (!stages.some((s) => s.code === rules.failure && s.semantics === 'failure')) {
    issues.add(file, base, `the system failure stage ${rules.failure} must be one of the failure stages`);
  }
}
