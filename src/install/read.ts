// Reading a portal for the installer: one batched request with everything the ledger lets us predict (the cards
// and the default stages of pipelines we created), and a second one only when the plan finds something it did not
// predict (a pipeline adopted by name, a stage to delete whose deals were not counted).
import type { PortalClient } from '../portal/client.js';
import { cardKey, readMore, readSnapshot, type PortalSnapshot, type SnapshotRequest } from '../portal/snapshot.js';
import type { Template } from '../template/model.js';
import type { Ledger, Plan } from './model.js';
import { keys, planInstall, removableDefaultStages, type PlanInput } from './plan.js';

export function firstRead(template: Template, ledger: Ledger, mode: 'webhook' | 'app'): SnapshotRequest {
  const cards = [cardKey('lead'), cardKey('contact'), cardKey('company')];
  const dealCounts: string[] = [];
  for (const pipeline of template.pipelines) {
    const recorded = ledger.objects[keys.category(pipeline.code)];
    if (recorded?.id === undefined) continue;
    cards.push(cardKey('deal', recorded.id));
    if (recorded.created) dealCounts.push(...removableDefaultStages(recorded.id, pipeline.stages.map((s) => s.code)));
  }
  return { core: true, cards, leadCounts: [...template.leads.remove], dealCounts, app: mode === 'app' };
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
