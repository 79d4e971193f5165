// Support stages: support staff add a stage (or a lead status) by name, after a named stage, and remove one that holds
// nothing. An added stage is recorded in the ledger as a local addition, so later installs and verifications keep it
// where it is and never call it drift.
import { LostResponseError, type PortalClient } from '../portal/client.js';
import { readSnapshot, readStatuses, type StatusRow } from '../portal/snapshot.js';
import { tr } from '../i18n/index.js';
import { LEADS_PIPELINE, type Template } from '../template/model.js';
import { MAX_DEAL_STAGE_CODE, MAX_LEAD_STATUS_ID } from '../template/validate.js';
import { sameName, SORT_STEP } from './desired.js';
import { InstallError, type Ledger, type LocalAddition } from './model.js';
import { dealStageEntity, keys, LEAD_STATUS_ENTITY, sameNamedCategory, stagePrefix } from './plan.js';
import { defaultStateDir, PortalState } from './state.js';

export interface AddStageOptions {
  /** repair | shop | wash | leads */
  pipeline: string;
  name: string;
  /** The name (or code) of the stage the new one goes after. */
  after: string;
  semantics?: 'process' | 'failure';
  color?: string;
  stateDir?: string;
  template?: Template;
  /** Work out the stage (code, place, semantics) and change nothing. */
  dryRun?: boolean;
}

export interface AddStageReport {
  pipeline: string; statusId: string; name: string; sort: number; semantics: 'process' | 'failure'; after: string; color: string;
  dryRun: boolean; httpRequests: number;
}

/**
 * The longest stage name this product writes: the NAME column of Bitrix24's status table (b_crm_status) is
 * varchar(100); the REST docs do not state a limit.
 */
export const MAX_STAGE_NAME = 100;

const DEFAULT_COLOR = { process: '#ACE9FB', failure: '#FF8A80' } as const;

/** Russian letters in Latin, as a Bitrix24 admin reads them (the GOST 7.79 B system, ъ and ь dropped). */
const TRANSLIT: Record<string, string> = {
  а: 'a', б: 'b', в: 'v', г: 'g', д: 'd', е: 'e', ё: 'e', ж: 'zh', з: 'z', и: 'i', й: 'y', к: 'k', л: 'l', м: 'm', н: 'n', о: 'o',
  п: 'p', р: 'r', с: 's', т: 't', у: 'u', ф: 'f', х: 'kh', ц: 'ts', ч: 'ch', ш: 'sh', щ: 'shch', ъ: '', ы: 'y', ь: '', э: 'e', ю: 'yu', я: 'ya',
};

/**
 * A STATUS_ID the server accepts (A-Z, 0-9, _; at most `maxLength`), readable from the name: "Сушка" → SUSHKA; a
 * number is added when the code is taken.
 */
export function stageCodeFromName(name: string, taken: ReadonlySet<string>, prefix: string, maxLength: number): string {
  const latin = [...name.toLowerCase()].map((ch) => TRANSLIT[ch] ?? ch).join('');
  const base = latin.normalize('NFKD').replace(/[^a-z0-9]+/gi, '_').replace(/^_+|_+$/g, '').toUpperCase() || 'STAGE';
  for (let n = 1; ; n++) {
    const suffix = n === 1 ? '' : `_${n}`;
    const code = `${base.slice(0, maxLength - suffix.length).replace(/_+$/, '')}${suffix}`;
    if (!taken.has(`${prefix}${code}`.toUpperCase())) return code;
  }
}

/**
 * The longest code of a new stage without its prefix: the server's limit (validateStatusId: leads 21, deal stages
 * 30 − prefix − 8), and no longer than a template takes, so that `export` of the portal stays a valid template.
 */
export function maxStageCode(prefix: string, leads: boolean): number {
  return leads ? MAX_LEAD_STATUS_ID : Math.min(30 - prefix.length - 8, MAX_DEAL_STAGE_CODE);
}

/** Why a name cannot be a stage name, or undefined when it can. */
export function stageNameProblem(name: string): string | undefined {
  const t = tr().addStage;
  if (!name) return t.nameEmpty;
  if ([...name].length > MAX_STAGE_NAME) return t.nameTooLong([...name].length, MAX_STAGE_NAME);
  // Bitrix24 shows stage names as text: tags and entities would appear literally (or be stripped) in the kanban.
  if (/<[^>]*>|&(#\d+|#x[0-9a-f]+|[a-z]+);/i.test(name)) return t.nameMarkup;
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(name)) return t.nameControl;
  return undefined;
}

/** Where the new stage goes: halfway between the anchor and the stage after it. */
export function placeAfter(rows: StatusRow[], anchor: StatusRow, semantics: 'process' | 'failure'): number {
  const t = tr().addStage;
  const sorted = [...rows].sort((a, b) => a.sort - b.sort || a.id - b.id);
  const next = sorted.find((r) => r.sort > anchor.sort);
  const success = rows.find((r) => r.semantics === 'success');
  if (semantics === 'process' && anchor.semantics !== 'process') throw new InstallError(t.afterFinal(anchor.name));
  if (semantics === 'failure' && anchor.semantics === 'process') throw new InstallError(t.failureAfterSuccess(success?.name ?? t.theSuccessStage));
  if (!next) return anchor.sort + SORT_STEP;
  const sort = anchor.sort + Math.floor((next.sort - anchor.sort) / 2);
  if (sort <= anchor.sort) throw new InstallError(t.noRoom(anchor.name, anchor.sort, next.name, next.sort));
  return sort;
}

interface Dictionary { entityId: string; prefix: string; rows: StatusRow[] }

/** The statuses of a pipeline of the template (or the lead statuses), found through the ledger or by name. */
async function dictionaryOf(client: PortalClient, template: Template, ledger: Ledger, pipelineCode: string): Promise<Dictionary> {
  const t = tr().addStage;
  if (pipelineCode === LEADS_PIPELINE) return { entityId: LEAD_STATUS_ENTITY, prefix: '', rows: await readStatuses(client, LEAD_STATUS_ENTITY) };
  const pipeline = template.pipelines.find((p) => p.code === pipelineCode);
  if (!pipeline) throw new InstallError(t.unknownPipeline(pipelineCode, [...template.pipelines.map((p) => p.code), LEADS_PIPELINE].join(', ')));
  const recorded = ledger.objects[keys.category(pipeline.code)]?.id;
  // Without the ledger's id, one read finds the pipeline by name and brings every stage with it.
  const snapshot = recorded === undefined ? await readSnapshot(client, { core: true }) : undefined;
  const id = recorded ?? sameNamedCategory(snapshot!.categories, [pipeline.name.ru, pipeline.name.en], new Set())?.id;
  if (id === undefined) throw new InstallError(t.pipelineMissing(pipeline.code));
  const entityId = dealStageEntity(id);
  const rows = snapshot ? snapshot.statuses.filter((r) => r.entityId === entityId) : await readStatuses(client, entityId);
  return { entityId, prefix: stagePrefix(id), rows };
}

export async function addStage(client: PortalClient, options: AddStageOptions): Promise<AddStageReport> {
  const state = new PortalState(options.stateDir ?? defaultStateDir(), client.portalKey, client.origin);
  const run = () => addStageLocked(client, options, state);
  return options.dryRun ? run() : state.locked('add-stage', run);
}

async function addStageLocked(client: PortalClient, options: AddStageOptions, state: PortalState): Promise<AddStageReport> {
  const t = tr().addStage;
  const name = options.name.trim();
  const problem = stageNameProblem(name);
  if (problem) throw new InstallError(problem);
  if (options.color !== undefined && !/^#[0-9A-Fa-f]{6}$/.test(options.color)) throw new InstallError(t.badColour(options.color));
  const template = options.template ?? (await import('../template/loader.js')).loadTemplate();
  const ledger = state.loadLedger({ key: client.portalKey, origin: client.origin, mode: client.mode });
  const start = client.httpRequests;
  const { entityId, prefix, rows } = await dictionaryOf(client, template, ledger, options.pipeline);
  if (!rows.length) throw new InstallError(t.noStages(options.pipeline));
  const byName = (text: string) => rows.find((r) => sameName(r.name, text) || r.statusId.toUpperCase() === `${prefix}${text}`.toUpperCase() || r.statusId.toUpperCase() === text.toUpperCase());
  const anchor = byName(options.after);
  if (!anchor) throw new InstallError(t.noSuchStage(options.after, options.pipeline, rows.map((r) => tr().quote(r.name)).join(', ')));
  const existing = rows.find((r) => sameName(r.name, name));
  if (existing) throw new InstallError(t.exists(options.pipeline, existing.name, existing.statusId));
  // After a final stage only a failure stage can stand: that is said, never decided silently.
  const semantics = options.semantics ?? (anchor.semantics === 'process' ? 'process' : undefined);
  if (!semantics) throw new InstallError(t.afterFinal(anchor.name));
  const sort = placeAfter(rows, anchor, semantics);
  const color = options.color ?? DEFAULT_COLOR[semantics];
  const code = stageCodeFromName(name, new Set(rows.map((r) => r.statusId.toUpperCase())), prefix, maxStageCode(prefix, options.pipeline === LEADS_PIPELINE));
  const statusId = `${prefix}${code}`;
  const report: AddStageReport = { pipeline: options.pipeline, statusId, name, sort, semantics, after: anchor.name, color, dryRun: !!options.dryRun, httpRequests: 0 };
  if (options.dryRun) return { ...report, httpRequests: client.httpRequests - start };

  const fields: Record<string, unknown> = { ENTITY_ID: entityId, STATUS_ID: statusId, NAME: name, SORT: sort, COLOR: color };
  if (semantics === 'failure') fields.SEMANTICS = 'F';
  try {
    await client.call('crm.status.add', { fields });
  } catch (error) {
    if (!(error instanceof LostResponseError)) throw error;
    // The answer was lost: the code is ours, so the portal tells whether the stage was added.
    const after = await client.call<{ STATUS_ID: string }[]>('crm.status.list', { filter: { ENTITY_ID: entityId, STATUS_ID: statusId } });
    if (!after.result.length) throw new InstallError(t.lostNotAdded);
  }
  const addition: LocalAddition = { pipeline: options.pipeline, statusId, name, after: anchor.name, semantics, color, sort, addedAt: new Date().toISOString() };
  ledger.localAdditions.push(addition);
  state.saveLedger(ledger);
  return { ...report, httpRequests: client.httpRequests - start };
}

export interface RemoveStageOptions {
  pipeline: string;
  /** The support stage's name or code. */
  stage: string;
  stateDir?: string;
  template?: Template;
  dryRun?: boolean;
}

export interface RemoveStageReport {
  pipeline: string; statusId: string; name: string; dryRun: boolean;
  /** The stage was no longer on the portal: only the ledger's record of it was dropped. */
  alreadyGone: boolean;
  httpRequests: number;
}

export async function removeStage(client: PortalClient, options: RemoveStageOptions): Promise<RemoveStageReport> {
  const state = new PortalState(options.stateDir ?? defaultStateDir(), client.portalKey);
  const run = () => removeStageLocked(client, options, state);
  return options.dryRun ? run() : state.locked('remove-stage', run);
}

async function removeStageLocked(client: PortalClient, options: RemoveStageOptions, state: PortalState): Promise<RemoveStageReport> {
  const t = tr().addStage;
  const template = options.template ?? (await import('../template/loader.js')).loadTemplate();
  const ledger = state.loadLedger({ key: client.portalKey, origin: client.origin, mode: client.mode });
  const additions = ledger.localAdditions.filter((a) => a.pipeline === options.pipeline);
  const wanted = options.stage.trim();
  const supportStages = additions.length ? additions.map((a) => tr().quote(a.name)).join(', ') : t.noneAdded;
  if (!wanted) throw new InstallError(t.stageNameEmpty(options.pipeline, supportStages));
  const addition = additions.find((a) => sameName(a.name, wanted) || a.statusId.toUpperCase() === wanted.toUpperCase()
    || a.statusId.toUpperCase().endsWith(`:${wanted.toUpperCase()}`));
  if (!addition) {
    throw new InstallError(t.notSupportStage(wanted, options.pipeline, supportStages));
  }
  const start = client.httpRequests;
  const leads = options.pipeline === LEADS_PIPELINE;
  // One batched read: the stage's row and how many leads or deals it holds.
  const entityId = leads ? LEAD_STATUS_ENTITY : (await dictionaryOf(client, template, ledger, options.pipeline)).entityId;
  const read = await client.batch({
    rows: { method: 'crm.status.list', params: { filter: { ENTITY_ID: entityId, STATUS_ID: addition.statusId } } },
    items: { method: leads ? 'crm.lead.list' : 'crm.deal.list', params: { filter: { [leads ? 'STATUS_ID' : 'STAGE_ID']: addition.statusId }, select: ['ID'] } },
  });
  for (const error of Object.values(read.errors)) throw error;
  const row = (read.result.rows as { ID: string }[] | undefined)?.[0];
  const held = read.total.items ?? (Array.isArray(read.result.items) ? read.result.items.length : 0);
  const report: RemoveStageReport = { pipeline: options.pipeline, statusId: addition.statusId, name: addition.name, dryRun: !!options.dryRun, alreadyGone: !row, httpRequests: 0 };
  if (row && held > 0) throw new InstallError(t.holdsItems(addition.name, held, leads ? 'leads' : 'deals'));
  if (options.dryRun) return { ...report, httpRequests: client.httpRequests - start };
  if (row) await client.call('crm.status.delete', { id: Number(row.ID) });
  ledger.localAdditions = ledger.localAdditions.filter((a) => a !== addition);
  state.saveLedger(ledger);
  return { ...report, httpRequests: client.httpRequests - start };
}
