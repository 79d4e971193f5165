// Every portal the service knows, as its operators and the `portals` command see it: plan, tier, install state,
// the last problem, its queue and a summary of its settings. No tokens.
import type { PortalSettings } from './settings.js';
import type { PortalInfo, QueueStats, ServiceStore } from './store/types.js';

export interface PortalSummary {
  memberId: string;
  domain: string;
  plan: string;
  tier: string;
  installState: PortalInfo['installState'];
  installedAt: number;
  /** Why the install failed, or the portal's lasting problem. */
  problem?: string;
  queue: QueueStats;
  settings: PortalSettings;
}

const EMPTY_QUEUE: QueueStats = { queued: 0, due: 0, running: 0, failed: 0, done: 0 };

export async function portalSummaries(store: ServiceStore, now: number): Promise<PortalSummary[]> {
  const queues = await store.queueStatsByPortal(now);
  return (await store.listPortals()).map((p) => ({
    memberId: p.memberId, domain: p.domain, plan: p.plan, tier: p.tier, installState: p.installState, installedAt: p.installedAt,
    problem: p.lastError ?? (p.installState === 'failed' ? p.installError ?? 'the install failed' : undefined),
    queue: queues.get(p.memberId) ?? EMPTY_QUEUE, settings: p.settings,
  }));
}
