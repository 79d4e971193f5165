import type { Command } from 'commander';
import { tr } from '../i18n/index.js';
import type { PortalSettings } from '../service/settings.js';
import { UserError } from './errors.js';
import { withServiceDatabase } from './service-db.js';

function render(domain: string, memberId: string, s: PortalSettings, templateHint: string): string {
  const t = tr().cli.settings;
  const rows: [string, string][] = [
    ['timeZone', s.timeZone],
    ['recallHour', t.recallHour(String(s.recallHour).padStart(2, '0'))],
    ['leadManagerIds', s.leadManagerIds.join(', ') || t.nobody],
    ['supervisorUserId', s.supervisorUserId ? String(s.supervisorUserId) : t.onlyHead],
    ['recallHint', s.recallHint ?? t.templateHint(templateHint)],
    [t.rulesOff, s.disabledRules.join(', ') || t.everyRuleRuns],
  ];
  const width = Math.max(...rows.map(([k]) => k.length)) + 2;
  return [t.title(domain, memberId), ...rows.map(([k, v]) => `  ${k.padEnd(width)}${v}`)].join('\n');
}

export function register(program: Command): void {
  const t = tr().cli;
  program
    .command('settings')
    .description(t.cmd.settings)
    .requiredOption('--member-id <id>', t.option.portal)
    .option('--set <key=value...>', t.option.settingsSet)
    .option('--db <file>', t.option.db)
    .option('--json', t.option.json)
    .option('--lang <lang>', t.option.langMessages)
    .action(async (opts: { memberId: string; set?: string[]; db?: string; json?: boolean }) => {
      const [{ applyAssignments, SettingsError }, { loadTemplate }] = await Promise.all([import('../service/settings.js'), import('../template/index.js')]);
      const template = loadTemplate();
      const ruleIds = template.rules.map((r) => r.id);
      await withServiceDatabase(opts.db, { write: Boolean(opts.set?.length) }, async ({ store }) => {
        const portal = (await store.listPortals()).find((p) => p.memberId === opts.memberId);
        if (!portal || portal.installState === 'uninstalled') throw new UserError(t.settings.noPortal(opts.memberId));
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
        const refusal = template.rules.flatMap((r) => r.do).find((a) => 'refusal' in a);
        const templateHint = refusal && 'refusal' in refusal ? refusal.refusal.hint[portal.lang] : '';
        console.log(opts.json ? JSON.stringify({ memberId: portal.memberId, domain: portal.domain, settings }, null, 2) : render(portal.domain, portal.memberId, settings, templateHint));
      });
    });
}
