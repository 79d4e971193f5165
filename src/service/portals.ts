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

function settingsLine(s: PortalSettings): string {
  return [
    s.timeZone, `re-call ${String(s.recallHour).padStart(2, '0')}:00`,
    s.leadManagerIds.length ? `lead managers ${s.leadManagerIds.join(',')}` : '',
    s.supervisorUserId ? `supervisor fallback ${s.supervisorUserId}` : '',
    s.disabledRules.length ? `${s.disabledRules.length} rule(s) off` : '',
  ].filter(Boolean).join(', ');
}

/** A plain-text table, one portal per line, its problem on the line below. */
export function renderPortals(portals: PortalSummary[]): string {
  if (portals.length === 0) return 'No portal has installed the application yet.';
  const header = ['Portal', 'member_id', 'Plan', 'Tier', 'State', 'Queue (due/queued/failed)', 'Settings'];
  const rows = portals.map((p) => [
    p.domain, p.memberId, p.plan || '—', p.tier, p.problem && p.installState !== 'failed' ? `${p.installState}, failing` : p.installState,
    `${p.queue.due}/${p.queue.queued}/${p.queue.failed}`, settingsLine(p.settings),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd();
  const out = [line(header), line(widths.map((w) => '-'.repeat(w)))];
  portals.forEach((p, i) => {
    out.push(line(rows[i]));
    if (p.problem) out.push(`  ! ${p.problem}`);
  });
  return out.join('\n');
}
