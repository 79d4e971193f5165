import type { Command } from 'commander';
import { tr } from '../i18n/index.js';
import type { PortalSummary } from '../service/portals.js';
import type { PortalSettings } from '../service/settings.js';
import { withServiceDatabase } from './service-db.js';

function settingsLine(s: PortalSettings): string {
  const t = tr().cli.portals;
  return [
    s.timeZone, t.recallAt(String(s.recallHour).padStart(2, '0')),
    s.leadManagerIds.length ? t.leadManagers(s.leadManagerIds.join(',')) : '',
    s.supervisorUserId ? t.supervisor(s.supervisorUserId) : '',
    s.disabledRules.length ? t.rulesOff(s.disabledRules.length) : '',
  ].filter(Boolean).join(', ');
}

/** A plain-text table, one portal per line, its problem on the line below. */
function renderPortals(portals: PortalSummary[]): string {
  const t = tr().cli.portals;
  if (portals.length === 0) return t.none;
  const rows = portals.map((p) => [
    p.domain, p.memberId, p.plan || '—', p.tier, p.problem && p.installState !== 'failed' ? t.failing(p.installState) : p.installState,
    `${p.queue.due}/${p.queue.queued}/${p.queue.failed}`, settingsLine(p.settings),
  ]);
  const widths = t.header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd();
  const out = [line(t.header), line(widths.map((w) => '-'.repeat(w)))];
  portals.forEach((p, i) => {
    out.push(line(rows[i]));
    if (p.problem) out.push(`  ! ${p.problem}`);
  });
  return out.join('\n');
}

export function register(program: Command): void {
  const t = tr().cli;
  program
    .command('portals')
    .description(t.cmd.portals)
    .option('--db <file>', t.option.db)
    .option('--json', t.option.json)
    .option('--lang <lang>', t.option.langMessages)
    .action(async (opts: { db?: string; json?: boolean }) => {
      const { portalSummaries } = await import('../service/portals.js');
      await withServiceDatabase(opts.db, {}, async ({ store }) => {
        const portals = await portalSummaries(store, Date.now());
        console.log(opts.json ? JSON.stringify({ portals }, null, 2) : renderPortals(portals));
      });
    });
}
