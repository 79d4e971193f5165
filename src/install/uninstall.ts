// Uninstall: remove only what the ledger says this product created, and put back what it changed as the backups
// recorded it — unless someone changed it again since, which is then left alone and said so. Nothing holding leads
// or deals is deleted; deleting fields (which erases their values) needs consent.
import { existsSync } from 'node:fs';
import { LostResponseError, type PortalClient } from '../portal/client.js';
import { cardKey, CRM_ENTITY_TYPE_ID, readMore, readSnapshot, type CardSection, type PortalSnapshot, type StatusRow, type UserFieldRow } from '../portal/snapshot.js';
import { loadTemplate } from '../template/loader.js';
import { LEADS_PIPELINE, type Lang, type Template } from '../template/model.js';
import { CRM_ENTITIES } from '../template/schema.js';
import { cardSection, fieldLabels, sameColor, SECTION_PREFIX, sameSection, sortAt, userfieldMethod } from './desired.js';
import { batchCommands, packBatches } from './apply.js';
import { InstallError, type Ledger, type ObjectNote, type Step, type StepKind } from './model.js';
import { dealStageEntity, keys, LEAD_STATUS_ENTITY, noteOf, stagePrefix } from './plan.js';
import { knownCards } from './read.js';
import { stepLine } from './render.js';
import { defaultStateDir, PortalState, type BackupEntry } from './state.js';

export interface UninstallOptions {
  stateDir?: string;
  template?: Template;
  /** Asked before steps that lose data (deleting fields); absent means agreed. */
  confirm?: (plan: UninstallPlan) => boolean | Promise<boolean>;
  dryRun?: boolean;
  onProgress?: (text: string) => void;
}

export interface UninstallPlan { steps: Step[]; losesData: Step[] }

export interface UninstallReport {
  portal: string;
  dryRun: boolean;
  cancelled: boolean;
  removed: number;
  restored: number;
  skipped: ObjectNote[];
  failed: ObjectNote[];
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
  };
  uninstallPipelines(ctx);
  uninstallStatuses(ctx);
  uninstallFields(ctx);
  uninstallCards(ctx);
  uninstallAppObjects(ctx);
  keepLeadAdditions(ctx);
  const ordered = steps.sort((a, b) => a.phase - b.phase);
  return { steps: ordered, losesData: ordered.filter((s) => s.action === 'delete' && s.kind === 'field') };
}

/** Pipelines: ours are deleted with all their stages (when empty); adopted ones keep theirs. */
function uninstallPipelines({ template, snapshot, ledger, originals, lang, add, categoryIds, deletedCategories }: UninstallContext): void {
  for (const pipeline of template.pipelines) {
    const key = keys.category(pipeline.code);
    const recorded = ledger.objects[key];
    const cat = recorded?.id !== undefined ? snapshot.categories.find((c) => c.id === recorded.id) : undefined;
    if (!cat) continue;
    categoryIds.set(pipeline.code, cat.id);
    const title = `pipeline "${cat.name}"`;
    if (recorded!.created) {
      const deals = snapshot.counts.dealsByCategory[cat.id] ?? 0;
      if (deals > 0) add({ action: 'skip', kind: 'category', key, group: 'pipelines', title, detail: `holds ${deals} deal(s): kept with its stages` }, PHASE.pipelines);
      else {
        deletedCategories.add(cat.id);
        add({ action: 'delete', kind: 'category', key, group: 'pipelines', title, detail: 'created by Autosalon, no deals: removed with its stages', call: { method: 'crm.category.delete', params: { entityTypeId: 2, id: cat.id } }, before: cat }, PHASE.pipelines);
      }
      continue;
    }
    const before = originals.get(key)?.before as { name: string; sort: number } | undefined;
    if (before && (before.name !== cat.name || before.sort !== cat.sort)) {
      if (cat.name !== pipeline.name[lang] || cat.sort !== pipeline.sort) {
        add({ action: 'skip', kind: 'category', key, group: 'pipelines', title, detail: 'changed again since the install: left as it is' }, PHASE.pipelines);
      } else {
        add({ action: 'update', kind: 'category', key, group: 'pipelines', title, detail: `back to "${before.name}", sort ${before.sort}`, call: { method: 'crm.category.update', params: { entityTypeId: 2, id: cat.id, fields: { name: before.name, sort: before.sort } } } }, PHASE.pipelines);
      }
    }
  }
}

/** Statuses and stages: restore what we changed, delete what we created, re-create what we deleted. */
function uninstallStatuses({ template, snapshot, ledger, originals, lang, add, categoryIds, deletedCategories }: UninstallContext): void {
  const dictionaries: {
    entityId: string; prefix: string; kind: 'status' | 'stage'; pipeline?: string; stages: Template['leads']['statuses']; counts: Record<string, number>; word: string;
  }[] = [
    { entityId: LEAD_STATUS_ENTITY, prefix: '', kind: 'status', stages: template.leads.statuses, counts: snapshot.counts.leads, word: 'lead' },
    ...template.pipelines.filter((p) => categoryIds.has(p.code) && !deletedCategories.has(categoryIds.get(p.code)!)).map((p) => {
      const id = categoryIds.get(p.code)!;
      return { entityId: dealStageEntity(id), prefix: stagePrefix(id), kind: 'stage' as const, pipeline: p.code, stages: p.stages, counts: snapshot.counts.deals, word: 'deal' };
    }),
  ];
  for (const d of dictionaries) {
    const rows = snapshot.statuses.filter((r) => r.entityId === d.entityId);
    const { prefix, kind } = d;
    const group = d.pipeline ? `pipeline:${d.pipeline}` : 'leads';
    d.stages.forEach((stage, i) => {
      const key = d.pipeline ? keys.stage(d.pipeline, stage.code) : keys.status(stage.code);
      const row = rows.find((r) => r.statusId === `${prefix}${stage.code}`);
      if (!row) return;
      const title = `${kind} ${row.statusId} "${row.name}"`;
      if (ledger.objects[key]?.created) {
        const n = d.counts[row.statusId] ?? 0;
        if (n > 0) add({ action: 'skip', kind, key, group, title, detail: `holds ${n} ${d.word}(s): kept` }, PHASE.deletes);
        else add({ action: 'delete', kind, key, group, title, detail: 'created by Autosalon', call: { method: 'crm.status.delete', params: { id: row.id } }, before: row }, PHASE.deletes);
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
      restore(before.name !== row.name, row.name === ours.name, 'NAME', before.name, 'name');
      restore(before.sort !== row.sort, row.sort === ours.sort, 'SORT', before.sort, 'sort');
      restore(!sameColor(before.color, row.color), sameColor(row.color, ours.color), 'COLOR', before.color, 'colour');
      if (Object.keys(fields).length) {
        add({ action: 'update', kind, key, group, title, detail: `back to ${Object.entries(fields).map(([k, v]) => `${k.toLowerCase()} ${JSON.stringify(v)}`).join(', ')}`, call: { method: 'crm.status.update', params: { id: row.id, fields } } }, PHASE.restores);
      }
      if (kept.length) add({ action: 'skip', kind, key, group, title, detail: `${kept.join(', ')} changed since the install: left as it is` }, PHASE.restores);
    });
    // What the installs deleted (a default status such as PROCESSED) comes back as it was.
    for (const entry of originals.values()) {
      const before = rowOf(entry);
      if (entry.action !== 'delete' || !before || before.entityId !== d.entityId) continue;
      if (rows.some((r) => r.statusId === before.statusId)) continue;
      const fields: Record<string, unknown> = { ENTITY_ID: before.entityId, STATUS_ID: before.statusId, NAME: before.name, SORT: before.sort, COLOR: before.color };
      if (before.semantics === 'failure') fields.SEMANTICS = 'F';
      add({ action: 'create', kind, key: `restore:${before.statusId}`, group, title: `${kind} ${before.statusId} "${before.name}"`, detail: 'deleted by the install: put back', call: { method: 'crm.status.add', params: { fields } } }, PHASE.recreates);
    }
  }
}

/** Fields: ours are deleted (their values with them: consent), others get their labels back. */
function uninstallFields({ template, snapshot, ledger, originals, add }: UninstallContext): void {
  for (const entity of CRM_ENTITIES) {
    for (const field of template.fields.filter((f) => f.entities.includes(entity))) {
      const key = keys.field(entity, field.code);
      const row = snapshot.fields[entity].find((f) => f.fieldName === field.code);
      if (!row) continue;
      const title = `${entity} field ${field.code}`;
      if (ledger.objects[key]?.created) {
        add({ action: 'delete', kind: 'field', key, group: 'fields', title, detail: 'created by Autosalon: its values in every record are erased', call: { method: userfieldMethod(entity, 'delete'), params: { id: row.id } }, before: row }, PHASE.fields);
        continue;
      }
      const before = originals.get(key)?.before as UserFieldRow | undefined;
      if (!before) continue;
      const wanted = fieldLabels(field).EDIT_FORM_LABEL;
      const labelsOurs = row.labels.editForm.ru === wanted.ru && row.labels.editForm.en === wanted.en;
      if (!labelsOurs) {
        add({ action: 'skip', kind: 'field', key, group: 'fields', title, detail: 'its labels changed since the install: left as they are' }, PHASE.fields);
        continue;
      }
      add({
        action: 'update', kind: 'field', key, group: 'fields', title, detail: 'labels and sort back to what they were',
        call: { method: userfieldMethod(entity, 'update'), params: { id: row.id, fields: { EDIT_FORM_LABEL: before.labels.editForm, LIST_COLUMN_LABEL: before.labels.listColumn, LIST_FILTER_LABEL: before.labels.listFilter, SORT: before.sort } } },
      }, PHASE.fields);
    }
  }
}

/** Cards: the Autosalon sections come out; a card that was never configured goes back to never configured. */
function uninstallCards({ template, snapshot, originals, lang, add, categoryIds, deletedCategories }: UninstallContext): void {
  for (const card of template.cards) {
    const key = keys.card(card.entity, card.pipeline);
    const categoryId = card.pipeline ? categoryIds.get(card.pipeline) : undefined;
    if (card.entity === 'deal' && (categoryId === undefined || deletedCategories.has(categoryId))) continue;
    const ck = cardKey(card.entity, categoryId);
    const current = snapshot.cards[ck];
    if (!current) continue;
    const remaining = current.filter((s) => !s.name.startsWith(SECTION_PREFIX));
    if (remaining.length === current.length) continue;
    const original = originals.get(key)?.before as { sections: CardSection[] | null } | undefined;
    const base = (template.baseSections[card.entity] ?? []).map((s) => cardSection(s, lang, false));
    const untouchedBase = remaining.length === base.length && remaining.every((s, i) => s.name === base[i].name && sameSection(s, base[i]));
    const title = card.pipeline ? `deal card of ${card.pipeline}` : `${card.entity} card`;
    const params: Record<string, unknown> = { entityTypeId: CRM_ENTITY_TYPE_ID[card.entity], scope: 'C', ...(card.entity === 'deal' ? { extras: { dealCategoryId: categoryId } } : {}) };
    if (original && original.sections === null && untouchedBase) {
      add({ action: 'update', kind: 'card', key, group: 'cards', title, detail: 'back to the portal\'s default card', call: { method: 'crm.item.details.configuration.reset', params } }, PHASE.cards);
    } else {
      add({ action: 'update', kind: 'card', key, group: 'cards', title, detail: 'the Autosalon sections removed, the others kept', call: { method: 'crm.item.details.configuration.set', params: { ...params, data: remaining } } }, PHASE.cards);
    }
  }
}

/** Application objects: only an application can remove them. */
function uninstallAppObjects({ template, snapshot, ledger, mode, add }: UninstallContext): void {
  const appItems: { kind: StepKind; key: string; title: string; call?: { method: string; params: Record<string, unknown> } }[] = [];
  for (const bp of template.app.businessProcesses) {
    const recorded = ledger.objects[keys.bp(bp.code)];
    if (recorded?.created && recorded.id !== undefined && snapshot.app?.templates.some((t) => t.id === recorded.id)) {
      appItems.push({ kind: 'bp', key: keys.bp(bp.code), title: `business process ${bp.code}`, call: { method: 'bizproc.workflow.template.delete', params: { ID: recorded.id } } });
    } else if (recorded?.created && mode === 'webhook') appItems.push({ kind: 'bp', key: keys.bp(bp.code), title: `business process ${bp.code}` });
  }
  for (const robot of template.app.robots) {
    if (!ledger.objects[keys.robot(robot.code)]?.created) continue;
    if (mode === 'app' && !snapshot.app?.robots.includes(robot.code)) continue;
    appItems.push({ kind: 'robot', key: keys.robot(robot.code), title: `robot ${robot.code}`, call: { method: 'bizproc.robot.delete', params: { CODE: robot.code } } });
  }
  for (const trigger of template.app.triggers) {
    if (!ledger.objects[keys.trigger(trigger.code)]?.created) continue;
    if (mode === 'app' && !snapshot.app?.triggers.some((t) => t.code === trigger.code)) continue;
    appItems.push({ kind: 'trigger', key: keys.trigger(trigger.code), title: `trigger ${trigger.code}`, call: { method: 'crm.automation.trigger.delete', params: { CODE: trigger.code } } });
  }
  for (const event of template.app.events) {
    const handler = ledger.objects[keys.event(event)]?.handler;
    if (!handler) continue;
    if (mode === 'app' && !snapshot.app?.events.some((e) => e.event === event && e.handler === handler)) continue;
    appItems.push({ kind: 'event', key: keys.event(event), title: `event ${event}`, call: { method: 'event.unbind', params: { event, handler } } });
  }
  for (const item of appItems) {
    if (mode === 'webhook' || !item.call) {
      add({ action: 'skip', kind: item.kind, key: item.key, group: 'app', title: item.title, detail: 'only the application can remove it: uninstall the Autosalon app in Bitrix24, which removes its robots, triggers and event bindings' }, PHASE.app);
    } else {
      add({ action: 'delete', kind: item.kind, key: item.key, group: 'app', title: item.title, detail: 'registered by Autosalon', call: item.call }, PHASE.app);
    }
  }
}

/** Support statuses added to the leads with add-stage are kept, and listed as kept. */
function keepLeadAdditions({ snapshot, ledger, add }: UninstallContext): void {
  for (const a of ledger.localAdditions) {
    if (a.pipeline !== LEADS_PIPELINE) continue;
    if (snapshot.statuses.some((r) => r.entityId === LEAD_STATUS_ENTITY && r.statusId === a.statusId)) {
      add({ action: 'keep', kind: 'status', key: `local:${a.statusId}`, group: 'leads', title: `status ${a.statusId} "${a.name}"`, detail: 'a support stage added for this portal: kept' }, PHASE.kept);
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

export async function uninstall(client: PortalClient, options: UninstallOptions = {}): Promise<UninstallReport> {
  const state = new PortalState(options.stateDir ?? defaultStateDir(), client.portalKey, client.origin);
  if (!existsSync(state.ledgerFile)) {
    // Without a ledger nothing says what Autosalon created here: touching the portal would be guessing.
    throw new InstallError(`nothing is recorded for ${client.origin} in ${state.dir}: uninstall removes only what an install `
      + 'from this state directory recorded in its ledger. If the install ran elsewhere, point --state-dir (or AUTOSALON_STATE_DIR) at its state; nothing was changed');
  }
  const run = () => uninstallLocked(client, options, state);
  return options.dryRun ? run() : state.locked('uninstall', run);
}

async function uninstallLocked(client: PortalClient, options: UninstallOptions, state: PortalState): Promise<UninstallReport> {
  const template = options.template ?? loadTemplate();
  const ledger = state.loadLedger({ key: client.portalKey, origin: client.origin, mode: client.mode });
  const originals = state.originalStates();
  const start = client.httpRequests;
  const snapshot = await readSnapshot(client, uninstallRead(template, ledger, client.mode));
  // Stages we created in pipelines we adopted: count their deals before deciding.
  const dealCounts: string[] = [];
  for (const p of template.pipelines) {
    const cat = ledger.objects[keys.category(p.code)];
    if (cat?.id === undefined || cat.created) continue;
    for (const s of p.stages) if (ledger.objects[keys.stage(p.code, s.code)]?.created) dealCounts.push(`${stagePrefix(cat.id)}${s.code}`);
  }
  if (dealCounts.length) await readMore(client, snapshot, { dealCounts });
  const plan = planUninstall(template, snapshot, ledger, originals, client.mode);
  const report: UninstallReport = {
    portal: client.origin, dryRun: !!options.dryRun, cancelled: false, removed: 0, restored: 0,
    skipped: plan.steps.filter((s) => s.action === 'skip' || s.action === 'keep').map(noteOf),
    failed: [], httpRequests: 0, plan,
  };
  const steps = plan.steps.filter((s) => s.call && (s.action === 'delete' || s.action === 'update' || s.action === 'create'));
  if (options.dryRun || steps.length === 0) {
    report.httpRequests = client.httpRequests - start;
    return report;
  }
  if (options.confirm && !(await options.confirm(plan))) {
    report.cancelled = true;
    report.httpRequests = client.httpRequests - start;
    return report;
  }
  for (const [i, batch] of packBatches(steps).entries()) {
    options.onProgress?.(`batch ${i + 1}: ${batch.length} step(s)…`);
    let errors: Record<string, { code: string; description: string }>;
    try {
      errors = (await client.batch(batchCommands(batch))).errors;
    } catch (error) {
      // Every step is a delete, an update back or a re-create by code: running uninstall again finishes the work.
      if (error instanceof LostResponseError) {
        report.failed.push({ object: 'uninstall', reason: 'the portal\'s answer was lost: run uninstall again to finish (it only removes what is still there)' });
        break;
      }
      throw error;
    }
    for (const s of batch) {
      const e = errors[s.id];
      if (e) {
        report.failed.push({ object: s.title, reason: `${e.code ? `${e.code}: ` : ''}${e.description}` });
        continue;
      }
      if (s.action === 'delete') {
        report.removed++;
        delete ledger.objects[s.key];
        if (s.kind === 'category') {
          const code = s.key.slice('category:'.length);
          for (const k of Object.keys(ledger.objects)) if (k.startsWith(`stage:${code}:`)) delete ledger.objects[k];
          ledger.localAdditions = ledger.localAdditions.filter((a) => a.pipeline !== code);
        }
      } else report.restored++;
    }
    state.saveLedger(ledger);
  }
  report.httpRequests = client.httpRequests - start;
  return report;
}

export function renderUninstallPlan(plan: UninstallPlan): string {
  if (!plan.steps.length) return 'Nothing to uninstall: the ledger records nothing of Autosalon on this portal.';
  return ['Uninstall plan:', ...plan.steps.map(stepLine)].join('\n');
}

export function renderUninstallSummary(r: UninstallReport): string {
  if (r.cancelled) return 'Cancelled: nothing was changed.';
  if (r.dryRun) return 'Dry run: nothing was changed.';
  const out = [`Done in ${r.httpRequests} request(s): ${r.removed} removed, ${r.restored} put back.`];
  for (const f of r.failed) out.push(`  x ${f.object} — ${f.reason}`);
  return out.join('\n');
}

