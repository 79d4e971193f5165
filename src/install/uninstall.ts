// Uninstall: remove only what the ledger says this product created, and put back what it changed as the backups
// recorded it — unless someone changed it again since, which is then left alone and said so. Nothing the portal would
// refuse to delete is planned: a status or stage holding leads or deals is kept and named, and a pipeline Autosalon
// created is removed whole or, while it holds deals, left whole (its stages, card and support stages with it); a
// second run after the deals are moved finishes. Deleting fields erases their values: the question says how many
// records hold them, and --export-values saves them to a CSV file first.
import { existsSync, writeFileSync } from 'node:fs';
import { tr } from '../i18n/index.js';
import { LostResponseError, type BatchCommand, type PortalClient, type PortalError } from '../portal/client.js';
import { cardKey, CRM_ENTITY_TYPE_ID, readMore, readSnapshot, type CardSection, type PortalSnapshot, type StatusRow, type UserFieldRow } from '../portal/snapshot.js';
import { LEADS_PIPELINE, type CrmEntity, type Lang, type Template } from '../template/model.js';
import { CRM_ENTITIES } from '../template/constants.js';
import { cardSection, fieldLabels, sameColor, SECTION_PREFIX, sameSection, sortAt, userfieldMethod } from './desired.js';
import { batchCommands, packBatches } from './apply.js';
import { InstallError, type Ledger, type ObjectNote, type Step, type StepKind } from './model.js';
import { dealStageEntity, keys, LEAD_STATUS_ENTITY, noteOf, stageId, stagePrefix } from './plan.js';
import { knownCards } from './read.js';
import { legend, PLAIN, stepLines, type Style } from './render.js';
import { defaultStateDir, PortalState, type BackupEntry } from './state.js';

export interface UninstallOptions {
  stateDir?: string;
  template?: Template;
  /** Asked before steps that lose data (deleting fields); absent means agreed. */
  confirm?: (plan: UninstallPlan) => boolean | Promise<boolean>;
  dryRun?: boolean;
  onProgress?: (text: string) => void;
  /** Before deleting fields: save every value they hold to this CSV file (entity, id, field, value). */
  exportValuesTo?: string;
}

export interface UninstallPlan {
  steps: Step[];
  losesData: Step[];
  /** Records holding a value in each field to delete, by step key (counted before asking). */
  valueCounts: Record<string, number>;
}

export interface UninstallReport {
  portal: string;
  dryRun: boolean;
  cancelled: boolean;
  removed: number;
  restored: number;
  skipped: ObjectNote[];
  /** Kept because they hold leads or deals: moving those and running uninstall again removes them. */
  blocked: ObjectNote[];
  failed: ObjectNote[];
  /** The CSV file the field values were saved to, with how many values. */
  exported?: { file: string; values: number };
  httpRequests: number;
  plan: UninstallPlan;
}

/** A backed-up status or stage, as it was before the install changed or deleted it. */
function rowOf(entry: BackupEntry | undefined): StatusRow | undefined {
  return entry?.before as StatusRow | undefined;
}

/** Step order: what refers to other objects goes before them (robots and the process, cards, then fields), pipelines last. */
const PHASE = { app: 10, cards: 20, fields: 30, restores: 40, deletes: 50, recreates: 60, pipelines: 80, kept: 90 };

interface UninstallContext {
  template: Template;
  snapshot: PortalSnapshot;
  ledger: Ledger;
  originals: Map<string, BackupEntry>;
  mode: 'webhook' | 'app';
  lang: Lang;
  add: (s: Omit<Step, 'id' | 'template' | 'phase'>, phase: number) => void;
  /** The template's pipelines found on the portal, by code. */
  categoryIds: Map<string, number>;
  /** Pipelines this uninstall deletes: their stages and cards go with them. */
  deletedCategories: Set<number>;
  /** Pipelines Autosalon created that hold deals: left whole, stages and card included. */
  keptCategories: Set<number>;
}


/** Pure: what uninstalling means for this portal, given the ledger and the earliest backup of each object. */
export function planUninstall(
  template: Template,
  snapshot: PortalSnapshot,
  ledger: Ledger,
  originals: Map<string, BackupEntry>,
  mode: 'webhook' | 'app',
): UninstallPlan {
  const steps: Step[] = [];
  const ctx: UninstallContext = {
    template, snapshot, ledger, originals, mode, lang: ledger.lang ?? 'ru',
    add: (s, phase) => steps.push({ ...s, id: `u${steps.length + 1}`, template: true, phase }),
    categoryIds: new Map(),
    deletedCategories: new Set(),
    keptCategories: new Set(),
  };
  uninstallPipelines(ctx);
  uninstallStatuses(ctx);
  uninstallFields(ctx);
  uninstallCards(ctx);
  uninstallAppObjects(ctx);
  keepLeadAdditions(ctx);
  const ordered = steps.sort((a, b) => a.phase - b.phase);
  return { steps: ordered, losesData: ordered.filter((s) => s.action === 'delete' && s.kind === 'field'), valueCounts: {} };
}

/** "2 in «Анализ авто», 1 in «Оплата»": where a kept pipeline's deals are. */
function dealsByStage(snapshot: PortalSnapshot, categoryId: number): string {
  return snapshot.statuses
    .filter((r) => r.entityId === dealStageEntity(categoryId) && (snapshot.counts.deals[r.statusId] ?? 0) > 0)
    .map((r) => tr().uninstall.inStage(snapshot.counts.deals[r.statusId], r.name))
    .join(', ');
}

/** Pipelines: ours are deleted with all their stages when they hold no deals, else left whole; adopted ones keep theirs. */
function uninstallPipelines({ template, snapshot, ledger, originals, lang, add, categoryIds, deletedCategories, keptCategories }: UninstallContext): void {
  const t = tr();
  for (const pipeline of template.pipelines) {
    const key = keys.category(pipeline.code);
    const recorded = ledger.objects[key];
    const cat = recorded?.id !== undefined ? snapshot.categories.find((c) => c.id === recorded.id) : undefined;
    if (!cat) continue;
    categoryIds.set(pipeline.code, cat.id);
    const title = t.title.pipeline(cat.name);
    if (recorded!.created) {
      const deals = snapshot.counts.dealsByCategory[cat.id] ?? 0;
      if (deals > 0) {
        keptCategories.add(cat.id);
        add({ action: 'skip', kind: 'category', key, group: 'pipelines', title, detail: t.uninstall.pipelineKept(deals, dealsByStage(snapshot, cat.id)), blocked: true }, PHASE.pipelines);
      } else {
        deletedCategories.add(cat.id);
        // Stages that are not the template's (added by support or by the client) go with the pipeline: named, not hidden.
        const templateIds = new Set(pipeline.stages.map((s) => stageId(stagePrefix(cat.id), s.code, true).toUpperCase()));
        const others = snapshot.statuses
          .filter((r) => r.entityId === dealStageEntity(cat.id) && !templateIds.has(r.statusId.toUpperCase()))
          .map((r) => t.quote(r.name));
        const detail = others.length ? t.uninstall.pipelineRemovedWith(others.join(', ')) : t.uninstall.pipelineRemoved;
        add({ action: 'delete', kind: 'category', key, group: 'pipelines', title, detail, call: { method: 'crm.category.delete', params: { entityTypeId: 2, id: cat.id } }, before: cat }, PHASE.pipelines);
      }
      continue;
    }
    const before = originals.get(key)?.before as { name: string; sort: number } | undefined;
    if (before && (before.name !== cat.name || before.sort !== cat.sort)) {
      if (cat.name !== pipeline.name[lang] || cat.sort !== pipeline.sort) {
        add({ action: 'skip', kind: 'category', key, group: 'pipelines', title, detail: t.uninstall.changedSince }, PHASE.pipelines);
      } else {
        add({ action: 'update', kind: 'category', key, group: 'pipelines', title, detail: t.uninstall.backToPipeline(before.name, before.sort), call: { method: 'crm.category.update', params: { entityTypeId: 2, id: cat.id, fields: { name: before.name, sort: before.sort } } } }, PHASE.pipelines);
      }
    }
  }
}

/** Statuses and stages: restore what we changed, delete what we created, re-create what we deleted. */
function uninstallStatuses({ template, snapshot, ledger, originals, lang, add, categoryIds, deletedCategories, keptCategories }: UninstallContext): void {
  const t = tr();
  const dictionaries: {
    entityId: string; prefix: string; kind: 'status' | 'stage'; pipeline?: string; stages: Template['leads']['statuses']; counts: Record<string, number>; items: 'leads' | 'deals';
  }[] = [
    { entityId: LEAD_STATUS_ENTITY, prefix: '', kind: 'status', stages: template.leads.statuses, counts: snapshot.counts.leads, items: 'leads' },
    ...template.pipelines
      .filter((p) => categoryIds.has(p.code) && !deletedCategories.has(categoryIds.get(p.code)!) && !keptCategories.has(categoryIds.get(p.code)!))
      .map((p) => {
        const id = categoryIds.get(p.code)!;
        return { entityId: dealStageEntity(id), prefix: stagePrefix(id), kind: 'stage' as const, pipeline: p.code, stages: p.stages, counts: snapshot.counts.deals, items: 'deals' as const };
      }),
  ];
  for (const d of dictionaries) {
    const rows = snapshot.statuses.filter((r) => r.entityId === d.entityId);
    const { prefix, kind } = d;
    const group = d.pipeline ? `pipeline:${d.pipeline}` : 'leads';
    const label = (r: StatusRow) => (kind === 'status' ? t.title.status(r.statusId, r.name) : t.title.stage(r.statusId, r.name));
    d.stages.forEach((stage, i) => {
      const key = d.pipeline ? keys.stage(d.pipeline, stage.code) : keys.status(stage.code);
      const row = rows.find((r) => r.statusId === `${prefix}${stage.code}`);
      if (!row) return;
      const title = label(row);
      if (ledger.objects[key]?.created) {
        // A count the read did not bring would be a guess: such a status is kept, never deleted blindly.
        const n = d.counts[row.statusId];
        if (n === undefined || n > 0) add({ action: 'skip', kind, key, group, title, detail: n === undefined ? t.uninstall.notCounted(d.items) : t.uninstall.holdsItems(n, d.items), blocked: true }, PHASE.deletes);
        else add({ action: 'delete', kind, key, group, title, detail: t.uninstall.createdByAutosalon, call: { method: 'crm.status.delete', params: { id: row.id } }, before: row }, PHASE.deletes);
        return;
      }
      const before = rowOf(originals.get(key));
      if (!before) return;
      const fields: Record<string, unknown> = {};
      const kept: string[] = [];
      const ours = { name: stage.name[lang], sort: sortAt(i), color: stage.color };
      // Put back only what still holds the template's value: a later change by someone else stays.
      const restore = (differs: boolean, stillOurs: boolean, field: string, value: unknown, label: string) => {
        if (!differs) return;
        if (stillOurs) fields[field] = value;
        else kept.push(label);
      };
      restore(before.name !== row.name, row.name === ours.name, 'NAME', before.name, t.uninstall.partName);
      restore(before.sort !== row.sort, row.sort === ours.sort, 'SORT', before.sort, t.uninstall.partSort);
      restore(!sameColor(before.color, row.color), sameColor(row.color, ours.color), 'COLOR', before.color, t.uninstall.partColour);
      if (Object.keys(fields).length) {
        const part = { NAME: t.uninstall.partName, SORT: t.uninstall.partSort, COLOR: t.uninstall.partColour } as Record<string, string>;
        const what = Object.entries(fields).map(([k, v]) => `${part[k]} ${typeof v === 'string' && k === 'NAME' ? t.quote(v) : String(v)}`).join(', ');
        add({ action: 'update', kind, key, group, title, detail: t.uninstall.backTo(what), call: { method: 'crm.status.update', params: { id: row.id, fields } } }, PHASE.restores);
      }
      if (kept.length) add({ action: 'skip', kind, key, group, title, detail: t.uninstall.partsChangedSince(kept.join(', ')) }, PHASE.restores);
    });
    // What the installs deleted (a default status such as PROCESSED) comes back as it was.
    for (const entry of originals.values()) {
      const before = rowOf(entry);
      if (entry.action !== 'delete' || !before || before.entityId !== d.entityId) continue;
      if (rows.some((r) => r.statusId === before.statusId)) continue;
      const fields: Record<string, unknown> = { ENTITY_ID: before.entityId, STATUS_ID: before.statusId, NAME: before.name, SORT: before.sort, COLOR: before.color };
      if (before.semantics === 'failure') fields.SEMANTICS = 'F';
      add({ action: 'create', kind, key: `restore:${before.statusId}`, group, title: label(before), detail: t.uninstall.putBack, call: { method: 'crm.status.add', params: { fields } } }, PHASE.recreates);
    }
  }
}

/** Fields: ours are deleted (their values with them: consent), others get their labels back. */
function uninstallFields({ template, snapshot, ledger, originals, add }: UninstallContext): void {
  const t = tr();
  for (const entity of CRM_ENTITIES) {
    for (const field of template.fields.filter((f) => f.entities.includes(entity))) {
      const key = keys.field(entity, field.code);
      const row = snapshot.fields[entity].find((f) => f.fieldName === field.code);
      if (!row) continue;
      const title = t.title.field(entity, field.code);
      if (ledger.objects[key]?.created) {
        add({ action: 'delete', kind: 'field', key, group: 'fields', title, detail: t.uninstall.fieldErased, call: { method: userfieldMethod(entity, 'delete'), params: { id: row.id } }, before: row }, PHASE.fields);
        continue;
      }
      const before = originals.get(key)?.before as UserFieldRow | undefined;
      if (!before) continue;
      const wanted = fieldLabels(field).EDIT_FORM_LABEL;
      const labelsOurs = row.labels.editForm.ru === wanted.ru && row.labels.editForm.en === wanted.en;
      if (!labelsOurs) {
        add({ action: 'skip', kind: 'field', key, group: 'fields', title, detail: t.uninstall.labelsChangedSince }, PHASE.fields);
        continue;
      }
      add({
        action: 'update', kind: 'field', key, group: 'fields', title, detail: t.uninstall.labelsBack,
        call: { method: userfieldMethod(entity, 'update'), params: { id: row.id, fields: { EDIT_FORM_LABEL: before.labels.editForm, LIST_COLUMN_LABEL: before.labels.listColumn, LIST_FILTER_LABEL: before.labels.listFilter, SORT: before.sort } } },
      }, PHASE.fields);
    }
  }
}

/** Cards: the Autosalon sections come out; a card that was never configured goes back to never configured. */
function uninstallCards({ template, snapshot, originals, lang, add, categoryIds, deletedCategories, keptCategories }: UninstallContext): void {
  const t = tr();
  for (const card of template.cards) {
    const key = keys.card(card.entity, card.pipeline);
    const categoryId = card.pipeline ? categoryIds.get(card.pipeline) : undefined;
    if (card.entity === 'deal' && (categoryId === undefined || deletedCategories.has(categoryId) || keptCategories.has(categoryId))) continue;
    const ck = cardKey(card.entity, categoryId);
    const current = snapshot.cards[ck];
    if (!current) continue;
    const remaining = current.filter((s) => !s.name.startsWith(SECTION_PREFIX));
    if (remaining.length === current.length) continue;
    const original = originals.get(key)?.before as { sections: CardSection[] | null } | undefined;
    const base = (template.baseSections[card.entity] ?? []).map((s) => cardSection(s, lang, false));
    const untouchedBase = remaining.length === base.length && remaining.every((s, i) => s.name === base[i].name && sameSection(s, base[i]));
    const pipelineName = card.pipeline ? snapshot.categories.find((c) => c.id === categoryId)?.name ?? card.pipeline : undefined;
    const title = t.title.card(card.entity, pipelineName);
    const params: Record<string, unknown> = { entityTypeId: CRM_ENTITY_TYPE_ID[card.entity], scope: 'C', ...(card.entity === 'deal' ? { extras: { dealCategoryId: categoryId } } : {}) };
    if (original && original.sections === null && untouchedBase) {
      add({ action: 'update', kind: 'card', key, group: 'cards', title, detail: t.uninstall.cardReset, call: { method: 'crm.item.details.configuration.reset', params } }, PHASE.cards);
    } else {
      add({ action: 'update', kind: 'card', key, group: 'cards', title, detail: t.uninstall.cardSectionsRemoved, call: { method: 'crm.item.details.configuration.set', params: { ...params, data: remaining } } }, PHASE.cards);
    }
  }
}

/** Application objects: only an application can remove them. */
function uninstallAppObjects({ template, snapshot, ledger, mode, lang, add }: UninstallContext): void {
  const t = tr();
  const appItems: { kind: StepKind; key: string; title: string; call?: { method: string; params: Record<string, unknown> } }[] = [];
  for (const bp of template.app.businessProcesses) {
    const recorded = ledger.objects[keys.bp(bp.code)];
    const title = t.title.businessProcess(bp.name[lang]);
    if (recorded?.created && recorded.id !== undefined && snapshot.app?.templates.some((x) => x.id === recorded.id)) {
      appItems.push({ kind: 'bp', key: keys.bp(bp.code), title, call: { method: 'bizproc.workflow.template.delete', params: { ID: recorded.id } } });
    } else if (recorded?.created && mode === 'webhook') appItems.push({ kind: 'bp', key: keys.bp(bp.code), title });
  }
  for (const robot of template.app.robots) {
    if (!ledger.objects[keys.robot(robot.code)]?.created) continue;
    if (mode === 'app' && !snapshot.app?.robots.includes(robot.code)) continue;
    appItems.push({ kind: 'robot', key: keys.robot(robot.code), title: t.title.robot(robot.code, robot.name[lang]), call: { method: 'bizproc.robot.delete', params: { CODE: robot.code } } });
  }
  for (const trigger of template.app.triggers) {
    if (!ledger.objects[keys.trigger(trigger.code)]?.created) continue;
    if (mode === 'app' && !snapshot.app?.triggers.some((x) => x.code === trigger.code)) continue;
    appItems.push({ kind: 'trigger', key: keys.trigger(trigger.code), title: t.title.trigger(trigger.code, trigger.name[lang]), call: { method: 'crm.automation.trigger.delete', params: { CODE: trigger.code } } });
  }
  for (const event of template.app.events) {
    const handler = ledger.objects[keys.event(event)]?.handler;
    if (!handler) continue;
    if (mode === 'app' && !snapshot.app?.events.some((e) => e.event === event && e.handler === handler)) continue;
    appItems.push({ kind: 'event', key: keys.event(event), title: t.title.eventAt(event, handler), call: { method: 'event.unbind', params: { event, handler } } });
  }
  for (const item of appItems) {
    if (mode === 'webhook' || !item.call) {
      add({ action: 'skip', kind: item.kind, key: item.key, group: 'app', title: item.title, detail: t.uninstall.onlyTheApp }, PHASE.app);
    } else {
      add({ action: 'delete', kind: item.kind, key: item.key, group: 'app', title: item.title, detail: t.uninstall.registeredByAutosalon, call: item.call }, PHASE.app);
    }
  }
}

/** Support statuses added to the leads with add-stage are kept, and listed as kept. */
function keepLeadAdditions({ snapshot, ledger, add }: UninstallContext): void {
  for (const a of ledger.localAdditions) {
    if (a.pipeline !== LEADS_PIPELINE) continue;
    if (snapshot.statuses.some((r) => r.entityId === LEAD_STATUS_ENTITY && r.statusId === a.statusId)) {
      add({ action: 'keep', kind: 'status', key: `local:${a.statusId}`, group: 'leads', title: tr().title.status(a.statusId, a.name), detail: tr().uninstall.supportKept }, PHASE.kept);
    }
  }
}

function uninstallRead(template: Template, ledger: Ledger, mode: 'webhook' | 'app') {
  const ours = template.pipelines.map((p) => ledger.objects[keys.category(p.code)]).filter((o) => o?.id !== undefined);
  const leadCounts = template.leads.statuses.filter((s) => ledger.objects[keys.status(s.code)]?.created).map((s) => s.code);
  return {
    core: true,
    cards: knownCards(template, ledger),
    leadCounts,
    categoryCounts: ours.filter((o) => o!.created).map((o) => o!.id!),
    app: mode === 'app',
  };
}

/** A field to delete, as the value counts and the export see it. */
interface FieldRef { key: string; entity: CrmEntity; field: string }

function fieldRefs(steps: Step[]): FieldRef[] {
  return steps.map((s) => {
    const [, entity, field] = s.key.split(':') as [string, CrmEntity, string];
    return { key: s.key, entity, field };
  });
}

/** `!FIELD: ''` selects the records where the field holds a value (the legacy list filters' "not empty"). */
const holdsValue = (f: FieldRef): BatchCommand => ({ method: `crm.${f.entity}.list`, params: { filter: { [`!${f.field}`]: '' }, select: ['ID', f.field] } });

/** How many records hold a value in each field, by step key: one batched request per 50 fields. */
async function countValues(client: PortalClient, fields: FieldRef[]): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (let i = 0; i < fields.length; i += 50) {
    const chunk = fields.slice(i, i + 50);
    const result = await client.batch(Object.fromEntries(chunk.map((f, j) => [`v${j}`, holdsValue(f)])));
    chunk.forEach((f, j) => {
      const error = result.errors[`v${j}`];
      if (error) throw error;
      const page = result.result[`v${j}`];
      out[f.key] = result.total[`v${j}`] ?? (Array.isArray(page) ? page.length : 0);
    });
  }
  return out;
}

/** A CSV cell (RFC 4180): quoted when it holds a comma, a quote or a line break. */
function csvCell(value: unknown): string {
  const text = value === null || value === undefined ? '' : typeof value === 'object' ? JSON.stringify(value) : String(value);
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** Every value the fields hold, as CSV rows entity,id,field,value (a multiple field's values joined by "; "). */
async function exportValues(client: PortalClient, fields: FieldRef[], counts: Record<string, number>, file: string): Promise<number> {
  const rows: string[] = ['entity,id,field,value'];
  for (const f of fields.filter((x) => (counts[x.key] ?? 0) > 0)) {
    const records = await client.listAll<Record<string, unknown>>(holdsValue(f).method, holdsValue(f).params);
    for (const r of records) {
      const value = r[f.field];
      rows.push([f.entity, r.ID, f.field, Array.isArray(value) ? value.map((v) => (typeof v === 'object' ? JSON.stringify(v) : String(v))).join('; ') : value].map(csvCell).join(','));
    }
  }
  // The values are the portal's business data: readable by the owner only.
  writeFileSync(file, `${rows.join('\n')}\n`, { mode: 0o600 });
  return rows.length - 1;
}

export async function uninstall(client: PortalClient, options: UninstallOptions = {}): Promise<UninstallReport> {
  const state = new PortalState(options.stateDir ?? defaultStateDir(), client.portalKey, client.origin);
  if (!existsSync(state.ledgerFile)) {
    // Without a ledger nothing says what Autosalon created here: touching the portal would be guessing.
    throw new InstallError(tr().uninstall.noLedger(client.origin, state.dir));
  }
  const run = () => uninstallLocked(client, options, state);
  return options.dryRun ? run() : state.locked('uninstall', run);
}

async function uninstallLocked(client: PortalClient, options: UninstallOptions, state: PortalState): Promise<UninstallReport> {
  const t = tr();
  const template = options.template ?? (await import('../template/loader.js')).loadTemplate();
  const ledger = state.loadLedger({ key: client.portalKey, origin: client.origin, mode: client.mode });
  const originals = state.originalStates();
  const start = client.httpRequests;
  const snapshot = await readSnapshot(client, uninstallRead(template, ledger, client.mode));
  // Counted before deciding: stages we created in pipelines we adopted, and every stage of a pipeline we created that
  // holds deals (to say where they are).
  const dealCounts: string[] = [];
  for (const p of template.pipelines) {
    const cat = ledger.objects[keys.category(p.code)];
    if (cat?.id === undefined) continue;
    if (cat.created) {
      if ((snapshot.counts.dealsByCategory[cat.id] ?? 0) > 0) {
        dealCounts.push(...snapshot.statuses.filter((r) => r.entityId === dealStageEntity(cat.id!)).map((r) => r.statusId));
      }
      continue;
    }
    for (const s of p.stages) if (ledger.objects[keys.stage(p.code, s.code)]?.created) dealCounts.push(`${stagePrefix(cat.id)}${s.code}`);
  }
  if (dealCounts.length) await readMore(client, snapshot, { dealCounts });
  const plan = planUninstall(template, snapshot, ledger, originals, client.mode);
  const fields = fieldRefs(plan.losesData);
  if (fields.length) plan.valueCounts = await countValues(client, fields);
  const report: UninstallReport = {
    portal: client.origin, dryRun: !!options.dryRun, cancelled: false, removed: 0, restored: 0,
    skipped: plan.steps.filter((s) => (s.action === 'skip' || s.action === 'keep') && !s.blocked).map(noteOf),
    blocked: plan.steps.filter((s) => s.blocked).map(noteOf),
    failed: [], httpRequests: 0, plan,
  };
  const finish = () => {
    report.httpRequests = client.httpRequests - start;
    return report;
  };
  if (options.exportValuesTo && fields.length) {
    report.exported = { file: options.exportValuesTo, values: await exportValues(client, fields, plan.valueCounts, options.exportValuesTo) };
    options.onProgress?.(t.uninstall.exported(report.exported.values, report.exported.file));
  }
  const steps = plan.steps.filter((s) => s.call && (s.action === 'delete' || s.action === 'update' || s.action === 'create'));
  if (options.dryRun || steps.length === 0) return finish();
  if (options.confirm && !(await options.confirm(plan))) {
    report.cancelled = true;
    return finish();
  }
  for (const [i, batch] of packBatches(steps).entries()) {
    options.onProgress?.(t.uninstall.batch(i + 1, batch.length));
    let errors: Record<string, PortalError>;
    try {
      errors = (await client.batch(batchCommands(batch))).errors;
    } catch (error) {
      // Every step is a delete, an update back or a re-create by code: running uninstall again finishes the work.
      if (error instanceof LostResponseError) {
        report.failed.push({ object: 'uninstall', reason: t.uninstall.answerLost });
        break;
      }
      throw error;
    }
    for (const s of batch) {
      const e = errors[s.id];
      if (e) {
        report.failed.push({ object: s.title, reason: tr().summary.refusedStep(s.title, e.code, e.description) });
        continue;
      }
      if (s.action === 'delete') {
        report.removed++;
        delete ledger.objects[s.key];
        if (s.kind === 'category') {
          const code = s.key.slice('category:'.length);
          for (const k of Object.keys(ledger.objects)) if (k.startsWith(`stage:${code}:`) || k === keys.card('deal', code)) delete ledger.objects[k];
          ledger.localAdditions = ledger.localAdditions.filter((a) => a.pipeline !== code);
        }
      } else {
        report.restored++;
        // Put back as it was: what the ledger kept of Autosalon's write to it no longer applies.
        if (s.action === 'update' && !ledger.objects[s.key]?.created) delete ledger.objects[s.key];
      }
    }
    state.saveLedger(ledger);
  }
  return finish();
}

/** The values the fields to delete hold, by entity, as one phrase: "3 in leads, 12 in deals" (empty when none). */
export function valuesHeld(plan: UninstallPlan): { records: number; text: string } {
  const byEntity = new Map<CrmEntity, number>();
  for (const f of fieldRefs(plan.losesData)) byEntity.set(f.entity, (byEntity.get(f.entity) ?? 0) + (plan.valueCounts[f.key] ?? 0));
  const parts = [...byEntity].filter(([, n]) => n > 0).map(([entity, n]) => tr().uninstall.valuesIn(n, entity));
  return { records: [...byEntity.values()].reduce((a, b) => a + b, 0), text: parts.join(', ') };
}

export function renderUninstallPlan(plan: UninstallPlan, style: Style = PLAIN): string {
  const t = tr();
  if (!plan.steps.length) return t.uninstall.nothing;
  const steps = plan.steps.map((s) => {
    const n = plan.valueCounts[s.key];
    return s.action === 'delete' && s.kind === 'field' && n !== undefined ? { ...s, detail: t.uninstall.fieldValues(n) } : s;
  });
  return [style.heading(t.uninstall.planTitle), legend(style), ...stepLines(steps, style)].join('\n');
}

export function renderUninstallSummary(r: UninstallReport, style: Style = PLAIN): string {
  const t = tr().uninstall;
  if (r.cancelled) return tr().summary.cancelled;
  if (r.dryRun) return tr().summary.dryRun(r.httpRequests);
  const out = [t.done(r.httpRequests, r.removed, r.restored, r.blocked.length, r.failed.length)];
  for (const b of r.blocked) out.push(`  ${style.skip('!')} ${b.object} — ${b.reason}`);
  for (const f of r.failed) out.push(`  ${style.bad('x')} ${f.reason}`);
  if (r.failed.length || r.blocked.length) out.push(style.bad(t.notFinished));
  return out.join('\n');
}
