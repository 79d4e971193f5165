// Reading a portal for the installer: one batched request with everything the ledger lets us predict (the cards
// and the default stages of pipelines we created), and a second one only when the plan finds something it did not
// predict (a pipeline adopted by name, a stage to delete whose deals were not counted).
import type { PortalClient } from '../portal/client.js';
import { cardKey, readMore, readSnapshot, type PortalSnapshot, type SnapshotRequest } from '../portal/snapshot.js';
import type { Template } from '../template/model.js';
import type { Ledger, Plan } from './model.js';
import { keys, planInstall, removableDefaultStages, type PlanInput } from './plan.js';

/** The cards of leads, contacts, companies and of every pipeline the ledger knows on this portal. */
export function knownCards(template: Template, ledger: Ledger): string[] {
  const pipelineIds = template.pipelines.map((p) => ledger.objects[keys.category(p.code)]?.id).filter((id) => id !== undefined);
  return [cardKey('lead'), cardKey('contact'), cardKey('company'), ...pipelineIds.map((id) => cardKey('deal', id))];
}

export function firstRead(template: Template, ledger: Ledger, mode: 'webhook' | 'app'): SnapshotRequest {
  const dealCounts: string[] = [];
  for (const pipeline of template.pipelines) {
    const recorded = ledger.objects[keys.category(pipeline.code)];
    if (recorded?.id !== undefined && recorded.created) dealCounts.push(...removableDefaultStages(recorded.id, pipeline.stages.map((s) => s.code)));
  }
  return { core: true, cards: knownCards(template, ledger), leadCounts: [...template.leads.remove], dealCounts, app: mode === 'app', info: mode === 'webhook' };
}

export async function readPortal(client: PortalClient, template: Template, ledger: Ledger): Promise<PortalSnapshot> {
  return readSnapshot(client, firstRead(template, ledger, client.mode));
}

/** Plans; when the plan lacks a read, reads it (one more request) and plans again. */
export async function planWithReads(client: PortalClient, snapshot: PortalSnapshot, input: Omit<PlanInput, 'snapshot'>): Promise<Plan> {
  const plan = planInstall({ ...input, snapshot });
  const missing = plan.missingReads;
  if (!missing.cards.length && !missing.leadCounts.length && !missing.dealCounts.length) return plan;
  await readMore(client, snapshot, missing);
  return planInstall({ ...input, snapshot });
}
