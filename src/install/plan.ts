// The plan: a pure diff of the template (one tier) against a portal snapshot and the ledger, as ordered steps
// create / update / delete / keep / skip. Portal elements the template does not know are kept and listed; a status
// or stage holding leads or deals is never deleted. Deal pipelines are new categories; the portal's default
// pipeline is left alone.
import type { CardSection, CategoryRow, PortalSnapshot, StatusRow, UserFieldRow } from '../portal/snapshot.js';
import { cardKey, CRM_ENTITY_TYPE_ID } from '../portal/snapshot.js';
import { CRM_ENTITIES } from '../template/constants.js';
import {
  DEFAULT_STAGE_ID_LENGTH, LEADS_PIPELINE, PORTAL_DEFAULT_DEAL_STAGES, type CrmEntity, type Lang, type PipelineDef, type StageDef, type Template,
} from '../template/model.js';
import { tr } from '../i18n/index.js';
import {
  businessProcessData, cardSection, DOCUMENT_TYPES, enumItems, fieldAddParams, fieldLabels, fieldRows, fieldSort,
  fingerprint, mergeCard, robotFields, sameColor, sameName, sortAt, userfieldMethod, writtenState,
} from './desired.js';
import type { CategoryMatch, Ledger, LedgerObject, ObjectNote, Plan, Step, StepAction, StepKind } from './model.js';

export const LEAD_STATUS_ENTITY = 'STATUS';
export const LEAD_SYSTEM_STATUSES = ['NEW', 'CONVERTED', 'JUNK'] as const;
export const DEAL_SYSTEM_STAGES = ['NEW', 'WON', 'LOSE'] as const;
export const DEFAULT_DEAL_STAGES = PORTAL_DEFAULT_DEAL_STAGES;

export interface PlanInput {
  /** The template already filtered to the tier. */
  template: Template;
  tier: string;
  lang: Lang;
  snapshot: PortalSnapshot;
  ledger: Ledger;
  portal: string;
  mode: 'webhook' | 'app';
  app?: { publicUrl?: string; clientId?: string };
  /** Leave objects a person edited after Autosalon set them as they are, instead of asking to change them back. */
  keepEdits?: boolean;
}

export function dealStageEntity(categoryId: number): string {
  return categoryId === 0 ? 'DEAL_STAGE' : `DEAL_STAGE_${categoryId}`;
}

export function stagePrefix(categoryId: number): string {
  return categoryId === 0 ? '' : `C${categoryId}:`;
}

/**
 * A stage's full STATUS_ID on the portal: prefix and code, except that Bitrix24 cuts the ID of a new pipeline's own
 * default stages to 21 characters (C12:PREPAYMENT_INVOIC), so a template naming such a stage finds it by the cut ID.
 */
export function stageId(prefix: string, code: string, dealStage: boolean): string {
  const full = `${prefix}${code}`;
  return dealStage && (PORTAL_DEFAULT_DEAL_STAGES as readonly string[]).includes(code) ? full.slice(0, DEFAULT_STAGE_ID_LENGTH) : full;
}

/** Full STATUS_IDs of the default stages of pipeline `categoryId` that the template does not use. */
export function removableDefaultStages(categoryId: number, templateCodes: Iterable<string>): string[] {
  const used = new Set(templateCodes);
  return DEFAULT_DEAL_STAGES.filter((c) => !used.has(c) && !(DEAL_SYSTEM_STAGES as readonly string[]).includes(c))
    .map((c) => `${stagePrefix(categoryId)}${c}`.slice(0, DEFAULT_STAGE_ID_LENGTH));
}

export const keys = {
  category: (pipeline: string) => `category:${pipeline}`,
  status: (statusId: string) => `status:${statusId}`,
  stage: (pipeline: string, code: string) => `stage:${pipeline}:${code}`,
  field: (entity: CrmEntity, name: string) => `field:${entity}:${name}`,
  card: (entity: CrmEntity, pipeline?: string) => (pipeline ? `card:${entity}:${pipeline}` : `card:${entity}`),
  robot: (code: string) => `robot:${code}`,
  trigger: (code: string) => `trigger:${code}`,
  event: (event: string) => `event:${event}`,
  bp: (code: string) => `bp:${code}`,
};

/** A reference to a value another step's call returns, resolved by the portal inside the same batch. */
class ResultRef {
  constructor(readonly step: Step, readonly path: string[]) {}
}

const PHASE = {
  categoryUpdate: 10,
  leads: 20,
  stages: 30,
  fields: 40,
  newCategory: 50,
  cards: 60,
  robots: 70,
  triggers: 71,
  events: 72,
  bp: 73,
  portal: 90,
};

type NewStep = Omit<Step, 'id' | 'phase' | 'template'> & { phase?: number; template?: boolean };

class Builder {
  readonly steps: Step[] = [];

  add(step: NewStep, phase: number): Step {
    const full: Step = { ...step, id: '', phase: step.phase ?? phase, template: step.template ?? true };
    this.steps.push(full);
    return full;
  }

  /** Orders the steps by phase (stable), numbers them, and turns result references into `$result[...]` strings. */
  finish(): Step[] {
    const ordered = this.steps.map((s, i) => ({ s, i })).sort((a, b) => a.s.phase - b.s.phase || a.i - b.i).map((x) => x.s);
    ordered.forEach((s, i) => {
      s.id = `s${i + 1}`;
    });
    const resolve = (value: unknown, owner: Step): unknown => {
      if (value instanceof ResultRef) {
        owner.dependsOn = value.step.id;
        return `$result[${value.step.id}]${value.path.map((p) => `[${p}]`).join('')}`;
      }
      if (Array.isArray(value)) return value.map((v) => resolve(v, owner));
      if (value && typeof value === 'object') {
        return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolve(v, owner)]));
      }
      return value;
    };
    for (const s of ordered) if (s.call) s.call = { method: s.call.method, params: resolve(s.call.params, s) as Record<string, unknown> };
    return ordered;
  }
}

/** What every part of the plan works from: the input, the plan being filled and the steps being built. */
interface PlanContext {
  input: PlanInput;
  plan: Plan;
  b: Builder;
  /** The ledger says this product created the object (so changing it needs no consent). */
  createdByUs: (key: string) => boolean;
}

/**
 * Whether a person changed an object after Autosalon last wrote it: the ledger keeps a fingerprint of what was written;
 * an object Autosalon created that has no fingerprint (recorded before fingerprints were kept) counts as edited, so
 * the person is asked rather than overruled.
 */
function editedSince(ledger: Ledger, key: string, currentState: string): boolean {
  const recorded = ledger.objects[key];
  if (!recorded) return false;
  if (recorded.hash === undefined) return recorded.created;
  return recorded.hash !== currentState;
}

/** What the ledger records after an update: the entry as it was, with the fingerprint of what is written now. */
function afterUpdate(ledger: Ledger, key: string, written: string): LedgerObject {
  return { ...(ledger.objects[key] ?? { created: false }), hash: written };
}

/**
 * An update of an object a person edited after Autosalon set it: asked for (marked `edited`), or with keepEdits left
 * as it is and listed.
 */
function updateOrKeepEdit(b: Builder, step: NewStep, edited: boolean, keepEdits: boolean | undefined, phase: number): void {
  if (edited && keepEdits) {
    b.add({ ...step, action: 'skip', call: undefined, record: undefined, before: undefined, editKept: true, detail: tr().detail.editKept(step.detail ?? '') }, phase);
    return;
  }
  b.add({ ...step, ...(edited ? { edited: true } : {}) }, phase);
}

export function planInstall(input: PlanInput): Plan {
  const { template, ledger } = input;
  const plan: Plan = {
    portal: input.portal,
    mode: input.mode,
    tier: input.tier,
    lang: input.lang,
    template: { code: template.code, version: template.version },
    steps: [],
    categories: {},
    missingReads: { cards: [], leadCounts: [], dealCounts: [] },
  };
  const ctx: PlanContext = { input, plan, b: new Builder(), createdByUs: (key) => ledger.objects[key]?.created === true };
  planLeadStatuses(ctx);
  const newCategorySteps = planPipelines(ctx);
  planFields(ctx);
  planCards(ctx, newCategorySteps);
  plan.publicUrl = planApp(ctx.b, input);
  plan.steps = ctx.b.finish();
  return plan;
}

function planLeadStatuses({ input, plan, b, createdByUs }: PlanContext): void {
  const { template, snapshot, ledger, lang } = input;
  if (!template.leads.statuses.length) return;
  const removable = new Set(template.leads.remove);
  planDictionary(b, {
    group: 'leads',
    noun: 'status',
    entityId: LEAD_STATUS_ENTITY,
    prefix: '',
    keyOf: (code) => keys.status(code),
    stages: template.leads.statuses,
    rows: snapshot.statuses.filter((r) => r.entityId === LEAD_STATUS_ENTITY),
    system: LEAD_SYSTEM_STATUSES,
    isRemovable: (row) => removable.has(row.statusId),
    counts: snapshot.counts.leads,
    missingCounts: plan.missingReads.leadCounts,
    itemsWord: 'leads',
    localAdditions: localAdditionsOf(ledger, LEADS_PIPELINE),
    createdByUs,
    ownDictionary: false,
    lang,
    phase: PHASE.leads,
    ledger,
    keepEdits: input.keepEdits,
  });
}

/** The template's pipelines and their stages, then the portal's other pipelines (kept); returns the pipeline creates by code. */
function planPipelines({ input, plan, b, createdByUs }: PlanContext): Map<string, Step> {
  const { template, snapshot, ledger, lang } = input;
  const claimed = new Set<number>();
  const newCategorySteps = new Map<string, Step>();
  for (const pipeline of template.pipelines) {
    const match = matchCategory(pipeline, snapshot.categories, ledger, claimed);
    plan.categories[pipeline.code] = match.match;
    const group = `pipeline:${pipeline.code}`;
    const key = keys.category(pipeline.code);
    const t = tr();
    const title = t.title.pipeline(pipeline.name[lang]);
    const cat = match.row;
    const written = writtenState.category({ name: pipeline.name[lang], sort: pipeline.sort });
    if (!cat) {
      const step = b.add({
        action: 'create', kind: 'category', key, group, title,
        detail: t.detail.sort(pipeline.sort),
        call: { method: 'crm.category.add', params: { entityTypeId: 2, fields: { name: pipeline.name[lang], sort: pipeline.sort } } },
        record: { created: true, hash: written },
      }, PHASE.newCategory);
      newCategorySteps.set(pipeline.code, step);
      planNewPipelineStages(b, pipeline, lang, group);
      continue;
    }
    const changes: string[] = [];
    if (cat.name !== pipeline.name[lang]) changes.push(t.detail.nameChange(cat.name, pipeline.name[lang]));
    if (cat.sort !== pipeline.sort) changes.push(t.detail.sortChange(cat.sort, pipeline.sort));
    const adopted = !match.match.created && !ledger.objects[key];
    const note = adopted ? t.detail.pipelineAdopted : undefined;
    if (changes.length) {
      updateOrKeepEdit(b, {
        action: 'update', kind: 'category', key, group, title,
        detail: [...changes, ...(note ? [note] : [])].join('; '),
        call: { method: 'crm.category.update', params: { entityTypeId: 2, id: cat.id, fields: { name: pipeline.name[lang], sort: pipeline.sort } } },
        before: cat,
        foreign: !match.match.created,
        record: { ...afterUpdate(ledger, key, written), created: match.match.created, id: cat.id },
      }, editedSince(ledger, key, writtenState.category(cat)), input.keepEdits, PHASE.categoryUpdate);
    } else {
      b.add({ action: 'keep', kind: 'category', key, group, title, detail: note }, PHASE.categoryUpdate);
    }
    const removable = new Set(match.match.created ? removableDefaultStages(cat.id, pipeline.stages.map((s) => s.code)) : []);
    planDictionary(b, {
      group,
      noun: 'stage',
      entityId: dealStageEntity(cat.id),
      prefix: stagePrefix(cat.id),
      keyOf: (code) => keys.stage(pipeline.code, code),
      stages: pipeline.stages,
      rows: snapshot.statuses.filter((r) => r.entityId === dealStageEntity(cat.id)),
      system: DEAL_SYSTEM_STAGES,
      isRemovable: (row) => removable.has(row.statusId),
      counts: snapshot.counts.deals,
      missingCounts: plan.missingReads.dealCounts,
      itemsWord: 'deals',
      localAdditions: localAdditionsOf(ledger, pipeline.code),
      createdByUs,
      ownDictionary: match.match.created,
      lang,
      phase: PHASE.stages,
      ledger,
      keepEdits: input.keepEdits,
    });
  }
  for (const cat of snapshot.categories) {
    if (cat.isDefault || cat.id === 0 || claimed.has(cat.id)) continue;
    // A pipeline Autosalon created that this template (or tier) no longer has is said to be Autosalon's, not the portal's.
    const ours = Object.entries(ledger.objects).some(([k, o]) => k.startsWith('category:') && o.created && o.id === cat.id);
    b.add({
      action: 'keep', kind: 'category', key: `portal:category:${cat.id}`, group: 'portal', template: false,
      title: tr().title.portalPipeline(cat.name, cat.id), detail: ours ? tr().detail.oursNotWanted : tr().detail.portalOwn,
    }, PHASE.portal);
  }
  return newCategorySteps;
}

/** The template's user fields of each entity, then the portal's other fields (kept). */
function planFields({ input, b, createdByUs }: PlanContext): void {
  const { template, snapshot, lang } = input;
  for (const entity of CRM_ENTITIES) {
    const wanted = template.fields.filter((f) => f.entities.includes(entity));
    for (const field of wanted) planField(b, entity, field, snapshot.fields[entity].find((r) => r.fieldName === field.code), input, createdByUs);
    const known = new Set(wanted.map((f) => f.code));
    for (const row of snapshot.fields[entity]) {
      if (known.has(row.fieldName)) continue;
      b.add({
        action: 'keep', kind: 'field', key: `portal:${keys.field(entity, row.fieldName)}`, group: 'portal', template: false,
        title: tr().title.field(entity, row.fieldName, row.labels.editForm[lang]),
        detail: createdByUs(keys.field(entity, row.fieldName)) ? tr().detail.oursNotWanted : tr().detail.portalOwn,
      }, PHASE.portal);
    }
  }
}

/** Card layouts; the card of a pipeline this plan creates is written in the create's batch, with its id by reference. */
function planCards({ input, plan, b }: PlanContext, newCategorySteps: Map<string, Step>): void {
  const { template, lang } = input;
  for (const card of template.cards) {
    const key = keys.card(card.entity, card.pipeline);
    const pipeline = card.pipeline ? template.pipelines.find((p) => p.code === card.pipeline) : undefined;
    const title = tr().title.card(card.entity, pipeline?.name[lang]);
    const wanted = card.sections.map((s) => cardSection(s, lang, true));
    const base = (template.baseSections[card.entity] ?? []).map((s) => cardSection(s, lang, false));
    const params = (extras?: Record<string, unknown>) => ({
      entityTypeId: CRM_ENTITY_TYPE_ID[card.entity], scope: 'C', ...(extras ? { extras } : {}),
    });
    if (card.entity !== 'deal') {
      planCard(b, plan, input, { key, title, ck: cardKey(card.entity), wanted, base, params: params() });
      continue;
    }
    const categoryStep = card.pipeline ? newCategorySteps.get(card.pipeline) : undefined;
    if (categoryStep) {
      // A new pipeline's card has never been configured; its id comes from the create in the same batch.
      const { data } = mergeCard(null, wanted, base);
      b.add({
        action: 'update', kind: 'card', key, group: 'cards', title,
        detail: tr().detail.newPipelineCard,
        call: { method: 'crm.item.details.configuration.set', params: { ...params({ dealCategoryId: new ResultRef(categoryStep, ['category', 'id']) }), data } },
        record: { created: false, hash: writtenState.card(data) },
      }, PHASE.newCategory);
      continue;
    }
    const match = card.pipeline ? plan.categories[card.pipeline] : undefined;
    if (!match || match.id === undefined) {
      b.add({ action: 'skip', kind: 'card', key, group: 'cards', title, detail: tr().detail.pipelineNotInInstall(card.pipeline ?? '—') }, PHASE.cards);
      continue;
    }
    planCard(b, plan, input, { key, title, ck: cardKey('deal', match.id), wanted, base, params: params({ dealCategoryId: match.id }) });
  }
}

function localAdditionsOf(ledger: Ledger, pipeline: string): Map<string, string> {
  return new Map(ledger.localAdditions.filter((a) => a.pipeline === pipeline).map((a) => [a.statusId, a.after]));
}

function matchCategory(
  pipeline: PipelineDef,
  categories: CategoryRow[],
  ledger: Ledger,
  claimed: Set<number>,
): { row?: CategoryRow; match: CategoryMatch } {
  const recorded = ledger.objects[keys.category(pipeline.code)];
  let row = recorded?.id !== undefined ? categories.find((c) => c.id === recorded.id && !c.isDefault) : undefined;
  let created = !!row && recorded!.created;
  if (!row) {
    row = sameNamedCategory(categories, [pipeline.name.ru, pipeline.name.en], claimed);
    created = false;
  }
  if (row) claimed.add(row.id);
  return { row, match: { code: pipeline.code, id: row?.id, created: row ? created : true, isNew: !row } };
}

/**
 * The oldest deal pipeline (not the default one, not `taken`) with one of these names: how a pipeline of the template
 * is recognised on a portal without a ledger entry, and how a lost create is found again.
 */
export function sameNamedCategory(categories: CategoryRow[], names: string[], taken: ReadonlySet<number | undefined>): CategoryRow | undefined {
  return categories
    .filter((c) => !c.isDefault && c.id !== 0 && !taken.has(c.id))
    .sort((a, b) => a.id - b.id)
    .find((c) => names.some((name) => sameName(c.name, name)));
}

interface DictionaryInput {
  group: string;
  noun: 'status' | 'stage';
  entityId: string;
  prefix: string;
  keyOf: (code: string) => string;
  stages: StageDef[];
  rows: StatusRow[];
  system: readonly string[];
  isRemovable: (row: StatusRow) => boolean;
  counts: Record<string, number>;
  missingCounts: string[];
  itemsWord: 'leads' | 'deals';
  localAdditions: Map<string, string>;
  createdByUs: (key: string) => boolean;
  /** The dictionary belongs to a pipeline this product created: its stages are ours to change. */
  ownDictionary: boolean;
  lang: Lang;
  phase: number;
  ledger: Ledger;
  keepEdits?: boolean;
}

/** Lead statuses or one pipeline's stages: rename/recolour/re-sort, delete the unused defaults, create the rest. */
function planDictionary(b: Builder, d: DictionaryInput): void {
  const byId = new Map(d.rows.map((r) => [r.statusId.toUpperCase(), r]));
  const kind: StepKind = d.noun === 'status' ? 'status' : 'stage';
  const updates: NewStep[] = [];
  const deletes: NewStep[] = [];
  const creates: NewStep[] = [];
  const others: NewStep[] = [];
  const t = tr();
  const label = (code: string, name: string) => (d.noun === 'status' ? t.title.status(code, name) : t.title.stage(code, name));
  // A person's edits are found by fingerprint; updates of edited objects are marked (asked for) or, with keepEdits, kept.
  const edits = new Map<NewStep, boolean>();

  const successSort = successSortAfterUpdates(d);

  d.stages.forEach((stage, i) => {
    const fullId = stageId(d.prefix, stage.code, d.noun === 'stage');
    const row = byId.get(fullId.toUpperCase());
    const key = d.keyOf(stage.code);
    const name = stage.name[d.lang];
    const sort = sortAt(i);
    const title = label(stage.code, name);
    if (row) {
      if (row.semantics !== stage.semantics) {
        others.push({ action: 'skip', kind, key, group: d.group, title, detail: t.detail.semanticsMismatch(d.noun, row.semantics, stage.semantics, row.statusId) });
        return;
      }
      const fields: Record<string, unknown> = {};
      const changes: string[] = [];
      if (row.name !== name) {
        fields.NAME = name;
        changes.push(t.detail.nameChange(row.name, name));
      }
      if (row.sort !== sort) {
        fields.SORT = sort;
        changes.push(t.detail.sortChange(row.sort, sort));
      }
      if (!sameColor(row.color || '', stage.color)) {
        fields.COLOR = stage.color;
        changes.push(t.detail.colourChange(row.color || t.detail.none, stage.color));
      }
      if (changes.length === 0) {
        others.push({ action: 'keep', kind, key, group: d.group, title });
        return;
      }
      const step: NewStep = {
        action: 'update', kind, key, group: d.group, title, detail: changes.join(', '),
        call: { method: 'crm.status.update', params: { id: row.id, fields } },
        before: row, foreign: !d.ownDictionary && !d.createdByUs(key),
        record: afterUpdate(d.ledger, key, writtenState.status({ name, sort, color: stage.color })),
      };
      updates.push(step);
      edits.set(step, editedSince(d.ledger, key, writtenState.status(row)));
      return;
    }
    if (d.system.includes(stage.code)) {
      others.push({ action: 'skip', kind, key, group: d.group, title, detail: t.detail.systemMissing(d.noun, fullId) });
      return;
    }
    const misplaced = misplacedReason(stage.semantics, sort, successSort, d.noun);
    if (misplaced) {
      others.push({ action: 'skip', kind, key, group: d.group, title, detail: t.detail.cannotCreateAt(sort, misplaced) });
      return;
    }
    const fields: Record<string, unknown> = { ENTITY_ID: d.entityId, STATUS_ID: fullId, NAME: name, SORT: sort, COLOR: stage.color };
    if (stage.semantics === 'failure') fields.SEMANTICS = 'F';
    creates.push({
      action: 'create', kind, key, group: d.group, title, detail: t.detail.newStage(stage.semantics, sort),
      call: { method: 'crm.status.add', params: { fields } },
      record: { created: true, hash: writtenState.status({ name, sort, color: stage.color }) },
    });
  });

  const templateIds = new Set(d.stages.map((s) => stageId(d.prefix, s.code, d.noun === 'stage').toUpperCase()));
  for (const row of d.rows) {
    if (templateIds.has(row.statusId.toUpperCase())) continue;
    const title = label(row.statusId, row.name);
    const key = `portal:${d.entityId}:${row.statusId}`;
    const after = d.localAdditions.get(row.statusId);
    if (after !== undefined) {
      others.push({ action: 'keep', kind, key, group: d.group, title, template: false, detail: t.detail.supportStageKept(after) });
      continue;
    }
    if (!d.isRemovable(row)) {
      const ours = d.createdByUs(d.keyOf(row.statusId.slice(d.prefix.length)));
      const items = d.counts[row.statusId] ?? 0;
      const detail = !ours ? t.detail.portalOwn : items > 0 ? t.detail.oursHoldsItems(items, d.itemsWord) : t.detail.oursNotWanted;
      others.push({ action: 'keep', kind, key, group: d.group, title, template: false, detail });
      continue;
    }
    const count = d.counts[row.statusId];
    if (count === undefined) {
      d.missingCounts.push(row.statusId);
      others.push({ action: 'skip', kind, key, group: d.group, title, template: false, detail: t.detail.notCounted(d.itemsWord) });
      continue;
    }
    if (count > 0) {
      others.push({ action: 'skip', kind, key, group: d.group, title, template: false, detail: t.detail.holdsItems(count, d.itemsWord) });
      continue;
    }
    if (row.system) {
      others.push({ action: 'keep', kind, key, group: d.group, title, template: false, detail: t.detail.systemEntryKept });
      continue;
    }
    deletes.push({
      action: 'delete', kind, key, group: d.group, title, template: false,
      detail: t.detail.unusedDefault(d.noun, d.itemsWord),
      call: { method: 'crm.status.delete', params: { id: row.id } },
      before: row, foreign: !d.ownDictionary,
    });
  }
  // The server checks a new stage's sort against the success stage, but not an update's: updates go first.
  for (const s of [...updates, ...deletes, ...creates, ...others]) {
    if (edits.has(s)) updateOrKeepEdit(b, s, edits.get(s)!, d.keepEdits, d.phase);
    else b.add(s, d.phase);
  }
}

/** Where the portal's success entry will stand once this plan's updates are done: creates are checked against it. */
function successSortAfterUpdates(d: DictionaryInput): number | undefined {
  const row = d.rows.find((r) => r.semantics === 'success');
  if (!row) return undefined;
  const def = d.stages.find((s) => s.semantics === 'success');
  // The template's own success entry is moved to its template position by an update.
  const movedByUs = def && row.statusId.toUpperCase() === `${d.prefix}${def.code}`.toUpperCase();
  return movedByUs ? sortAt(d.stages.indexOf(def)) : row.sort;
}

/** Why the server would refuse a new entry of these semantics at `sort` (it checks against the success entry). */
function misplacedReason(semantics: StageDef['semantics'], sort: number, successSort: number | undefined, noun: string): string | undefined {
  if (successSort === undefined) return undefined;
  const t = tr();
  if (semantics === 'success') return t.detail.successExists(noun as 'status' | 'stage');
  if (semantics === 'process' && sort >= successSort) return t.detail.processBeforeSuccess(noun as 'status' | 'stage', successSort);
  if (semantics === 'failure' && sort <= successSort) return t.detail.failureAfterSuccess(noun as 'status' | 'stage', successSort);
  return undefined;
}

/** A pipeline that does not exist yet: what will happen to its stages once the portal has created them. */
function planNewPipelineStages(b: Builder, pipeline: PipelineDef, lang: Lang, group: string): void {
  const defaults = DEFAULT_DEAL_STAGES as readonly string[];
  const t = tr();
  pipeline.stages.forEach((stage, i) => {
    const sort = sortAt(i);
    const isDefault = defaults.includes(stage.code);
    b.add({
      action: isDefault ? 'update' : 'create', kind: 'stage', key: keys.stage(pipeline.code, stage.code), group,
      title: t.title.stage(stage.code, stage.name[lang]),
      detail: isDefault ? t.detail.newPipelineOwnStage(sort) : t.detail.newStage(stage.semantics, sort),
      deferred: true,
    }, PHASE.stages);
  });
  const used = new Set(pipeline.stages.map((s) => s.code));
  for (const code of defaults) {
    if (used.has(code) || (DEAL_SYSTEM_STAGES as readonly string[]).includes(code)) continue;
    b.add({
      action: 'delete', kind: 'stage', key: `new:${pipeline.code}:${code}`, group, template: false,
      title: t.title.stageCode(code), detail: t.detail.newPipelineUnusedDefault, deferred: true,
    }, PHASE.stages);
  }
}

function labelDiffs(row: UserFieldRow, field: Template['fields'][number]): string[] {
  const wanted = fieldLabels(field);
  const out: string[] = [];
  const current = { EDIT_FORM_LABEL: row.labels.editForm, LIST_COLUMN_LABEL: row.labels.listColumn, LIST_FILTER_LABEL: row.labels.listFilter };
  for (const kind of Object.keys(wanted) as (keyof typeof wanted)[]) {
    for (const lang of ['ru', 'en'] as const) {
      if ((current[kind][lang] ?? '') !== wanted[kind][lang]) out.push(tr().detail.labelChange(kind, lang, current[kind][lang] ?? '', wanted[kind][lang]));
    }
  }
  return out;
}

/** A field as the ledger fingerprints it: labels, sort, rows and the template's options (a person's own options aside). */
function fieldState(
  field: Template['fields'][number],
  labels: { editForm: Record<string, string | undefined>; listColumn: Record<string, string | undefined>; listFilter: Record<string, string | undefined> },
  sort: number,
  rows: number | undefined,
  items: { xmlId: string; value: string; sort: number }[],
): string {
  const both = (l: Record<string, string | undefined>) => ({ ru: l.ru ?? '', en: l.en ?? '' });
  const managed = new Set((field.items ?? []).map((i) => i.xmlId));
  return writtenState.field({
    labels: [both(labels.editForm), both(labels.listColumn), both(labels.listFilter)],
    sort,
    rows: field.type === 'string' ? rows : undefined,
    items: items.filter((i) => managed.has(i.xmlId)),
  });
}

function wantedFieldState(field: Template['fields'][number], lang: Lang): string {
  const l = fieldLabels(field);
  return fieldState(field, { editForm: l.EDIT_FORM_LABEL, listColumn: l.LIST_COLUMN_LABEL, listFilter: l.LIST_FILTER_LABEL }, fieldSort(field), fieldRows(field),
    enumItems(field, lang).map((i) => ({ xmlId: i.XML_ID, value: i.VALUE, sort: i.SORT })));
}

function planField(
  b: Builder,
  entity: CrmEntity,
  field: Template['fields'][number],
  row: UserFieldRow | undefined,
  input: PlanInput,
  createdByUs: (key: string) => boolean,
): void {
  const { lang, ledger } = input;
  const t = tr();
  const key = keys.field(entity, field.code);
  const title = t.title.field(entity, field.code, field.label[lang]);
  const written = wantedFieldState(field, lang);
  if (!row) {
    b.add({
      action: 'create', kind: 'field', key, group: 'fields', title, detail: t.detail.newField(field.type, field.multiline),
      call: { method: userfieldMethod(entity, 'add'), params: fieldAddParams(field, lang) },
      record: { created: true, hash: written },
    }, PHASE.fields);
    return;
  }
  if (row.userTypeId !== field.type || row.multiple !== field.multiple) {
    b.add({
      action: 'skip', kind: 'field', key, group: 'fields', title,
      detail: t.detail.fieldTypeMismatch(`${row.userTypeId}${row.multiple ? ` ${t.detail.multiple}` : ''}`, `${field.type}${field.multiple ? ` ${t.detail.multiple}` : ''}`),
    }, PHASE.fields);
    return;
  }
  const fields: Record<string, unknown> = {};
  const changes = labelDiffs(row, field);
  if (changes.length) Object.assign(fields, fieldLabels(field));
  if (row.sort !== fieldSort(field)) {
    fields.SORT = fieldSort(field);
    changes.push(`sort ${row.sort} → ${fieldSort(field)}`);
  }
  const rows = fieldRows(field);
  const currentRows = Number(row.settings.ROWS ?? 1) || 1;
  if (rows !== undefined && currentRows !== rows) {
    fields.SETTINGS = { ROWS: rows };
    changes.push(t.detail.rowsChange(currentRows, rows));
  }
  if (field.type === 'enumeration') {
    const list: Record<string, unknown>[] = [];
    for (const item of enumItems(field, lang)) {
      const current = row.list.find((i) => i.xmlId === item.XML_ID);
      if (!current) {
        list.push(item);
        changes.push(t.detail.optionAdded(item.VALUE));
      } else if (current.value !== item.VALUE || current.sort !== item.SORT) {
        list.push({ ID: current.id, ...item });
        changes.push(t.detail.optionChange(current.value, item.VALUE, current.sort !== item.SORT ? item.SORT : undefined));
      }
    }
    if (list.length) fields.LIST = list;
  }
  if (!changes.length) {
    b.add({ action: 'keep', kind: 'field', key, group: 'fields', title }, PHASE.fields);
    return;
  }
  const current = fieldState(field, row.labels, row.sort, currentRows, row.list.map((i) => ({ xmlId: i.xmlId, value: i.value, sort: i.sort })));
  updateOrKeepEdit(b, {
    action: 'update', kind: 'field', key, group: 'fields', title, detail: changes.join(', '),
    call: { method: userfieldMethod(entity, 'update'), params: { id: row.id, fields } },
    before: row, foreign: !createdByUs(key),
    record: afterUpdate(ledger, key, written),
  }, editedSince(ledger, key, current), input.keepEdits, PHASE.fields);
}

/** A card the portal already has: its Autosalon sections brought in line, the portal's own sections kept. */
function planCard(
  b: Builder,
  plan: Plan,
  input: PlanInput,
  c: { key: string; title: string; ck: string; wanted: CardSection[]; base: CardSection[]; params: Record<string, unknown> },
): void {
  const { snapshot, ledger } = input;
  const step = { kind: 'card' as const, key: c.key, group: 'cards', title: c.title };
  const unreadable = snapshot.cardErrors[c.ck];
  if (unreadable !== undefined) {
    b.add({ ...step, action: 'skip', detail: tr().detail.cardNotShown(unreadable) }, PHASE.cards);
    return;
  }
  if (!(c.ck in snapshot.cards)) {
    plan.missingReads.cards.push(c.ck);
    b.add({ ...step, action: 'skip', detail: tr().detail.cardNotRead }, PHASE.cards);
    return;
  }
  const current = snapshot.cards[c.ck];
  const { data, changes } = mergeCard(current, c.wanted, c.base);
  if (!changes.length) {
    b.add({ ...step, action: 'keep' }, PHASE.cards);
    return;
  }
  // A card configured before holds the portal's own layout, so changing it needs consent; one never configured does not.
  updateOrKeepEdit(b, {
    ...step, action: 'update', detail: changes.join('; '),
    call: { method: 'crm.item.details.configuration.set', params: { ...c.params, data } },
    before: { card: c.ck, sections: current }, foreign: current !== null,
    record: afterUpdate(ledger, c.key, writtenState.card(data)),
  }, current !== null && editedSince(ledger, c.key, writtenState.card(current)), input.keepEdits, PHASE.cards);
}

/**
 * The automation service's address: the one given, else the one the last install bound robots and events to (its
 * ledger; older ledgers only have the event handlers, `${publicUrl}/events`).
 */
function servicePublicUrl(given: string | undefined, ledger: Ledger): string | undefined {
  if (given) return given.replace(/\/+$/, '');
  if (ledger.publicUrl) return ledger.publicUrl;
  const handler = Object.entries(ledger.objects).find(([key, o]) => key.startsWith('event:') && o.handler?.endsWith('/events'))?.[1].handler;
  return handler?.slice(0, -'/events'.length);
}

/** Plans the application objects; returns the service address they are bound to, when usable. */
function planApp(b: Builder, input: PlanInput): string | undefined {
  const { template, lang, snapshot, ledger } = input;
  const app = template.app;
  if (!app.robots.length && !app.triggers.length && !app.events.length && !app.businessProcesses.length) return undefined;
  const t = tr();
  // A webhook can neither read nor register application objects: each is listed as skipped, for this reason.
  const needsApp = input.mode === 'webhook' ? t.detail.needsApp : undefined;
  const portalApp = snapshot.app ?? { robots: [], triggers: [], events: [], templates: [], unavailable: {} };
  const refused = (what: keyof typeof portalApp.unavailable) =>
    portalApp.unavailable[what] && t.detail.notOffered(portalApp.unavailable[what]!);
  const publicUrl = servicePublicUrl(input.app?.publicUrl, ledger);
  const urlProblem = handlerUrlProblem(publicUrl);
  const registeredRobots = new Set(portalApp.robots);
  const skippedRobots = new Map<string, string>();

  // Robots: bizproc.robot.list shows only codes, so the ledger's fingerprint tells whether ours is current.
  for (const robot of app.robots) {
    const key = keys.robot(robot.code);
    const title = t.title.robot(robot.code, robot.name[lang]);
    const problem = needsApp ?? urlProblem ?? refused('robots');
    if (problem) {
      b.add({ action: 'skip', kind: 'robot', key, group: 'app', title, detail: problem }, PHASE.robots);
      registeredRobots.delete(robot.code);
      skippedRobots.set(robot.code, problem);
      continue;
    }
    const fields = robotFields(robot, publicUrl!);
    const hash = fingerprint(fields);
    const record: LedgerObject = { created: true, hash };
    if (!portalApp.robots.includes(robot.code)) {
      b.add({ action: 'create', kind: 'robot', key, group: 'app', title, detail: t.detail.handler(String(fields.HANDLER)), call: { method: 'bizproc.robot.add', params: { CODE: robot.code, ...fields } }, record }, PHASE.robots);
      registeredRobots.add(robot.code);
    } else if (ledger.objects[key]?.hash !== hash) {
      b.add({ action: 'update', kind: 'robot', key, group: 'app', title, detail: t.detail.handler(String(fields.HANDLER)), call: { method: 'bizproc.robot.update', params: { CODE: robot.code, FIELDS: fields } }, record }, PHASE.robots);
    } else {
      b.add({ action: 'keep', kind: 'robot', key, group: 'app', title }, PHASE.robots);
    }
  }

  for (const trigger of app.triggers) {
    const key = keys.trigger(trigger.code);
    const title = t.title.trigger(trigger.code, trigger.name[lang]);
    const problem = needsApp ?? refused('triggers');
    if (problem) {
      b.add({ action: 'skip', kind: 'trigger', key, group: 'app', title, detail: problem }, PHASE.triggers);
      continue;
    }
    const current = portalApp.triggers.find((t) => t.code === trigger.code);
    const call = { method: 'crm.automation.trigger.add', params: { CODE: trigger.code, NAME: trigger.name[lang] } };
    if (!current) b.add({ action: 'create', kind: 'trigger', key, group: 'app', title, call, record: { created: true } }, PHASE.triggers);
    else if (current.name !== trigger.name[lang]) {
      b.add({ action: 'update', kind: 'trigger', key, group: 'app', title, detail: t.detail.nameChange(current.name, trigger.name[lang]), call, record: { created: true } }, PHASE.triggers);
    } else b.add({ action: 'keep', kind: 'trigger', key, group: 'app', title }, PHASE.triggers);
  }

  for (const event of app.events) {
    const key = keys.event(event);
    const title = t.title.event(event);
    const problem = needsApp ?? urlProblem ?? refused('events');
    if (problem) {
      b.add({ action: 'skip', kind: 'event', key, group: 'app', title, detail: problem }, PHASE.events);
      continue;
    }
    const handler = `${publicUrl}/events`;
    const bindings = portalApp.events.filter((e) => e.event === event.toUpperCase());
    const ours = ledger.objects[key]?.handler;
    for (const stale of bindings.filter((e) => e.handler !== handler && e.handler === ours)) {
      b.add({
        action: 'delete', kind: 'event', key: `${key}@${stale.handler}`, group: 'app', title: t.title.eventAt(event, stale.handler),
        detail: t.detail.staleHandler, call: { method: 'event.unbind', params: { event, handler: stale.handler } },
        before: stale,
      }, PHASE.events);
    }
    if (bindings.some((e) => e.handler === handler)) b.add({ action: 'keep', kind: 'event', key, group: 'app', title }, PHASE.events);
    else b.add({ action: 'create', kind: 'event', key, group: 'app', title, detail: t.detail.handler(handler), call: { method: 'event.bind', params: { event, handler } }, record: { created: true, handler } }, PHASE.events);
  }

  for (const bp of app.businessProcesses) {
    const key = keys.bp(bp.code);
    const title = t.title.businessProcess(bp.name[lang]);
    const skip = (detail: string) => b.add({ action: 'skip', kind: 'bp', key, group: 'app', title, detail }, PHASE.bp);
    const problem = needsApp ?? refused('templates');
    if (problem) {
      skip(problem);
      continue;
    }
    if (!registeredRobots.has(bp.robot)) {
      const why = skippedRobots.get(bp.robot);
      skip(why ? t.detail.bpRobotSkipped(bp.robot, why) : t.detail.bpRobotMissing(bp.robot));
      continue;
    }
    if (!input.app?.clientId) {
      skip(t.detail.bpNoClientId);
      continue;
    }
    const built = businessProcessData(template, bp, input.app.clientId, lang);
    if ('reason' in built) {
      skip(built.reason);
      continue;
    }
    const name = bp.name[lang];
    const description = bp.description[lang];
    const hash = fingerprint({ name, description, data: built.data });
    const recorded = ledger.objects[key];
    const current = portalApp.templates.find((t) => (recorded?.id !== undefined && t.id === recorded.id))
      ?? portalApp.templates.find((t) => sameName(t.name, bp.name.ru) || sameName(t.name, bp.name.en));
    const fields = { NAME: name, DESCRIPTION: description, AUTO_EXECUTE: '0', TEMPLATE_DATA: [`autosalon_${bp.code}.bpt`, built.data] };
    if (!current) {
      b.add({
        action: 'create', kind: 'bp', key, group: 'app', title, detail: t.detail.bpUploaded,
        call: { method: 'bizproc.workflow.template.add', params: { DOCUMENT_TYPE: DOCUMENT_TYPES[bp.documentType], ...fields } },
        record: { created: true, hash },
      }, PHASE.bp);
    } else if (recorded?.hash !== hash || current.name !== name) {
      b.add({
        action: 'update', kind: 'bp', key, group: 'app', title, detail: t.detail.bpNewVersion,
        call: { method: 'bizproc.workflow.template.update', params: { ID: current.id, FIELDS: fields } },
        record: { created: true, hash, id: current.id }, before: current,
      }, PHASE.bp);
    } else {
      b.add({ action: 'keep', kind: 'bp', key, group: 'app', title }, PHASE.bp);
    }
  }
  return needsApp || urlProblem ? undefined : publicUrl;
}

/** A step as a report lists it: the object and why. */
export function noteOf(step: Step): ObjectNote {
  return { object: step.title, reason: step.detail ?? '' };
}

/** The portal's own elements (not in the template) that the plan leaves as they are. */
export function keptElements(plan: Plan): ObjectNote[] {
  return plan.steps.filter((s) => s.action === 'keep' && !s.template).map(noteOf);
}

export function countActions(steps: Step[], filter: (s: Step) => boolean = () => true): Record<StepAction, number> {
  const out: Record<StepAction, number> = { create: 0, update: 0, delete: 0, keep: 0, skip: 0 };
  for (const s of steps) if (filter(s)) out[s.action]++;
  return out;
}

/** The changes a person must agree to first: to what was on the portal before this product, and to their own edits. */
export function consentSteps(plan: Plan): { foreign: Step[]; edited: Step[] } {
  const now = plan.steps.filter((s) => (s.action === 'update' || s.action === 'delete') && !s.deferred);
  return { foreign: now.filter((s) => s.foreign && !s.edited), edited: now.filter((s) => s.edited) };
}

export function needsConsent(plan: Plan): boolean {
  const { foreign, edited } = consentSteps(plan);
  return foreign.length + edited.length > 0;
}

/** Steps that write to the portal now. */
export function executableSteps(plan: Plan): Step[] {
  return plan.steps.filter((s) => s.call && !s.deferred && s.action !== 'keep' && s.action !== 'skip');
}

/**
 * What a skipped step means for "does the portal match the template": an application object a webhook cannot see is
 * not verified; a template object the install cannot put in place (a field of another type, no public URL) is drift;
 * anything else (a default status kept because leads use it) is a note.
 */
export function skipMeaning(step: Step, mode: 'webhook' | 'app'): 'not-verified' | 'drift' | 'note' {
  if (step.group === 'app' && mode === 'webhook') return 'not-verified';
  // A person's edit kept at their request (--keep-edits) is what they asked for.
  if (step.editKept) return 'note';
  return step.template ? 'drift' : 'note';
}

/** A plan that changes nothing: every template object is in place (skips and kept elements aside). */
export function isSettled(plan: Plan): boolean {
  return plan.steps.every((s) => s.action === 'keep' || s.action === 'skip');
}

/** Why Bitrix24 would refuse this service address as a robot or event handler; undefined when it would take it. */
export function handlerUrlProblem(publicUrl: string | undefined): string | undefined {
  const t = tr();
  if (!publicUrl) return t.detail.publicUrlUnknown;
  let host: string;
  try {
    host = new URL(publicUrl).hostname;
  } catch {
    return t.detail.publicUrlNotUrl(publicUrl);
  }
  if (!host.slice(1).includes('.')) return t.detail.publicUrlNoDot(host);
  return undefined;
}
