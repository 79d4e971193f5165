// A support stage: support staff add a stage (or a lead status) by name, after a named stage. It is recorded in the
// ledger as a local addition, so later installs and verifications keep it where it is and never call it drift.
import { randomInt } from 'node:crypto';
import { LostResponseError, type PortalClient } from '../portal/client.js';
import { readSnapshot, readStatuses, type StatusRow } from '../portal/snapshot.js';
import { loadTemplate } from '../template/loader.js';
import { LEADS_PIPELINE, type Template } from '../template/model.js';
import { sameName, SORT_STEP } from './desired.js';
import { InstallError, type LocalAddition } from './model.js';
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
}

export interface AddStageReport { pipeline: string; statusId: string; name: string; sort: number; semantics: 'process' | 'failure'; after: string; httpRequests: number }

const DEFAULT_COLOR = { process: '#ACE9FB', failure: '#FF8A80' } as const;
const CODE_CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

/** The form of code the Bitrix24 UI gives a stage it creates: UC_ and six random characters. */
function newCode(taken: Set<string>, prefix: string): string {
  for (;;) {
    const code = `UC_${Array.from({ length: 6 }, () => CODE_CHARS[randomInt(CODE_CHARS.length)]).join('')}`;
    if (!taken.has(`${prefix}${code}`.toUpperCase())) return code;
  }
}

/** Where the new stage goes: halfway between the anchor and the stage after it. */
export function placeAfter(rows: StatusRow[], anchor: StatusRow, semantics: 'process' | 'failure'): number {
  const sorted = [...rows].sort((a, b) => a.sort - b.sort || a.id - b.id);
  const next = sorted.find((r) => r.sort > anchor.sort);
  const success = rows.find((r) => r.semantics === 'success');
  if (semantics === 'process' && anchor.semantics !== 'process') {
    throw new InstallError(`a process stage cannot go after "${anchor.name}" (a ${anchor.semantics} stage): choose a process stage to put it after`);
  }
  if (semantics === 'failure' && anchor.semantics === 'process') {
    throw new InstallError(`a failure stage goes after the success stage: put it after "${success?.name ?? 'the success stage'}" or a failure stage`);
  }
  if (!next) return anchor.sort + SORT_STEP;
  const sort = anchor.sort + Math.floor((next.sort - anchor.sort) / 2);
  if (sort <= anchor.sort) {
    throw new InstallError(`there is no free place between "${anchor.name}" (sort ${anchor.sort}) and "${next.name}" (sort ${next.sort}): put the stage after another one`);
  }
  return sort;
}

export async function addStage(client: PortalClient, options: AddStageOptions): Promise<AddStageReport> {
  const state = new PortalState(options.stateDir ?? defaultStateDir(), client.portalKey, client.origin);
  return state.locked('add-stage', () => addStageLocked(client, options, state));
}

async function addStageLocked(client: PortalClient, options: AddStageOptions, state: PortalState): Promise<AddStageReport> {
  const template = options.template ?? loadTemplate();
  const ledger = state.loadLedger({ key: client.portalKey, origin: client.origin, mode: client.mode });
  const start = client.httpRequests;
  const name = options.name.trim();
  if (!name) throw new InstallError('the stage needs a name: --name "…"');
  if (options.color !== undefined && !/^#[0-9A-Fa-f]{6}$/.test(options.color)) throw new InstallError(`a colour looks like #RRGGBB (got "${options.color}")`);

  let entityId: string;
  let prefix: string;
  let rows: StatusRow[];
  if (options.pipeline === LEADS_PIPELINE) {
    [entityId, prefix] = [LEAD_STATUS_ENTITY, ''];
    rows = await readStatuses(client, entityId);
  } else {
    const pipeline = template.pipelines.find((p) => p.code === options.pipeline);
    if (!pipeline) {
      throw new InstallError(`unknown pipeline "${options.pipeline}": use ${[...template.pipelines.map((p) => p.code), LEADS_PIPELINE].join(', ')}`);
    }
    const recorded = ledger.objects[keys.category(pipeline.code)]?.id;
    // Without the ledger's id, one read finds the pipeline by name and brings every stage with it.
    const snapshot = recorded === undefined ? await readSnapshot(client, { core: true }) : undefined;
    const id = recorded ?? sameNamedCategory(snapshot!.categories, [pipeline.name.ru, pipeline.name.en], new Set())?.id;
    if (id === undefined) throw new InstallError(`the pipeline ${pipeline.code} is not on this portal: run autosalon install first`);
    [entityId, prefix] = [dealStageEntity(id), stagePrefix(id)];
    rows = snapshot ? snapshot.statuses.filter((r) => r.entityId === entityId) : await readStatuses(client, entityId);
  }
  if (!rows.length) throw new InstallError(`the portal shows no stages for ${options.pipeline}: run autosalon install first`);
  const byName = (text: string) => rows.find((r) => sameName(r.name, text) || r.statusId.toUpperCase() === `${prefix}${text}`.toUpperCase() || r.statusId.toUpperCase() === text.toUpperCase());
  const anchor = byName(options.after);
  if (!anchor) {
    throw new InstallError(`no stage "${options.after}" in ${options.pipeline}; its stages are: ${rows.map((r) => `"${r.name}"`).join(', ')}`);
  }
  const existing = rows.find((r) => sameName(r.name, name));
  if (existing) throw new InstallError(`${options.pipeline} already has a stage "${existing.name}" (${existing.statusId}); nothing was added`);
  const semantics = options.semantics ?? (anchor.semantics === 'process' ? 'process' : 'failure');
  const sort = placeAfter(rows, anchor, semantics);
  const color = options.color ?? DEFAULT_COLOR[semantics];
  const code = newCode(new Set(rows.map((r) => r.statusId.toUpperCase())), prefix);
  const statusId = `${prefix}${code}`;
  const fields: Record<string, unknown> = { ENTITY_ID: entityId, STATUS_ID: statusId, NAME: name, SORT: sort, COLOR: color };
  if (semantics === 'failure') fields.SEMANTICS = 'F';

  try {
    await client.call('crm.status.add', { fields });
  } catch (error) {
    if (!(error instanceof LostResponseError)) throw error;
    // The answer was lost: the code is ours, so the portal tells whether the stage was added.
    const after = await client.call<{ STATUS_ID: string }[]>('crm.status.list', { filter: { ENTITY_ID: entityId, STATUS_ID: statusId } });
    if (!after.result.length) throw new InstallError('the portal did not answer and the stage is not there: nothing was added, run the same command again');
  }
  const addition: LocalAddition = {
    pipeline: options.pipeline, statusId, name, after: anchor.name, semantics, color, sort, addedAt: new Date().toISOString(),
  };
  ledger.localAdditions.push(addition);
  state.saveLedger(ledger);
  return { pipeline: options.pipeline, statusId, name, sort, semantics, after: anchor.name, httpRequests: client.httpRequests - start };
}
