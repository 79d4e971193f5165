import { existsSync, readdirSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { tr } from '../i18n/index.js';
import { UserError } from './errors.js';
import { parseLang } from './options.js';
import { addTargetOptions, type TargetFlags } from './target.js';

interface ExportFlags extends TargetFlags { out: string; lang?: string; force?: boolean; json?: boolean }

export function register(program: Command): void {
  const t = tr().cli;
  addTargetOptions(program.command('export').description(t.cmd.export))
    .requiredOption('--out <dir>', t.option.exportOut)
    .option('--lang <lang>', t.option.langExport)
    .option('--force', t.option.force)
    .option('--json', t.option.json)
    .addHelpText('after', t.help.exportAfter)
    .action(exportAction);
}

async function exportAction(flags: ExportFlags): Promise<void> {
  const t = tr().cli;
  const dir = resolve(flags.out);
  if (existsSync(dir) && readdirSync(dir).length && !flags.force) throw new UserError(t.exportDirNotEmpty(dir));
  const [{ exportPortal, writeExport }, { PortalState }, { templateSummary }, { asUserError, finish, openForCli, templateFor }] = await Promise.all([
    import('../install/export.js'), import('../install/state.js'), import('../template/show.js'), import('./session.js'),
  ]);
  const reference = await templateFor(flags);
  const session = await openForCli(flags);
  try {
    const state = new PortalState(session.stateDir, session.client.portalKey);
    const ledger = existsSync(state.ledgerFile) ? state.loadLedger({ key: session.client.portalKey, origin: session.client.origin, mode: session.client.mode }) : undefined;
    const lang = flags.lang === undefined ? ledger?.lang ?? 'ru' : parseLang(flags.lang);
    const result = await exportPortal(session.client, { reference, ledger, lang });
    const template = writeExport(dir, result);
    for (const w of result.warnings) console.error(`${t.warning}: ${w}`);
    if (flags.json) console.log(JSON.stringify({ ok: true, dir, warnings: result.warnings, httpRequests: result.httpRequests, summary: templateSummary(template) }));
    else console.log(t.exported(dir, templateSummary(template), result.httpRequests));
  } catch (error) {
    throw asUserError(error, session);
  } finally {
    await finish(session);
  }
}
