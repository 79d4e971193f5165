import type { Command } from 'commander';
import { applyAssignments, SettingsError, type PortalSettings } from '../service/settings.js';
import { loadTemplate } from '../template/index.js';
import { UserError } from './errors.js';
import { withServiceDatabase } from './service-db.js';

function render(domain: string, memberId: string, s: PortalSettings, hint: string): string {
  const rows: [string, string][] = [
    ['timeZone', s.timeZone],
    ['recallHour', `${s.recallHour} (re-calls are due at ${String(s.recallHour).padStart(2, '0')}:00 local time)`],
    ['leadManagerIds', s.leadManagerIds.join(', ') || '— (nobody besides the responsible user)'],
    ['supervisorUserId', s.supervisorUserId ? String(s.supervisorUserId) : '— (only the head of the responsible user\'s department)'],
    ['recallHint', s.recallHint ?? `— (the template's: ${hint})`],
    ['rules off', s.disabledRules.join(', ') || '— (every rule runs)'],
  ];
  return [`Settings of ${domain} (member_id ${memberId}):`, ...rows.map(([k, v]) => `  ${k.padEnd(17)} ${v}`)].join('\n');
}

export function register(program: Command): void {
  program
    .command('settings')
    .description('show or change one portal\'s automation settings: time zone, re-call hour and hint, lead managers, supervisor fallback, rules on/off')
    .requiredOption('--member-id <id>', 'the portal (see autosalon portals)')
    .option('--set <key=value...>', 'change settings: timeZone=Asia/Vladivostok, recallHour=9, leadManagerIds=1,7, supervisorUserId=5, recallHint=text, rule.<id>=on|off (empty value clears)')
    .option('--db <file>', 'the service database (default AUTOSALON_DB or <state dir>/service.sqlite)')
    .option('--json', 'print one JSON object')
    .action(async (opts: { memberId: string; set?: string[]; db?: string; json?: boolean }) => {
      const template = loadTemplate();
      const ruleIds = template.rules.map((r) => r.id);
      await withServiceDatabase(opts.db, { write: Boolean(opts.set?.length) }, async ({ store }) => {
        const portal = (await store.listPortals()).find((p) => p.memberId === opts.memberId);
        if (!portal || portal.installState === 'uninstalled') {
          throw new UserError(`no installed portal with member_id ${opts.memberId}: see autosalon portals`);
        }
        let settings = portal.settings;
        if (opts.set?.length) {
          try {
            settings = applyAssignments(settings, opts.set, ruleIds);
          } catch (error) {
            if (error instanceof SettingsError) throw new UserError(error.message);
            throw error;
          }
          // The running service takes them up with its next job for this portal.
          await store.saveSettings(portal.memberId, settings);
        }
        const hint = template.rules.flatMap((r) => r.do).find((a) => 'refusal' in a);
        const templateHint = hint && 'refusal' in hint ? hint.refusal.hint[portal.lang] : '';
        console.log(opts.json ? JSON.stringify({ memberId: portal.memberId, domain: portal.domain, settings }, null, 2) : render(portal.domain, portal.memberId, settings, templateHint));
      });
    });
}
