// The app-mode install run by the service when a portal installs the application: the installer of src/install,
// with the tier the service read from app.info, the service's public URL for robot handlers and event bindings.
import { PortalState, runInstall, type InstallOptions, type InstallReport, type ProgressEvent } from '../install/index.js';
import type { PortalClient } from '../portal/client.js';
import type { InstallOptions as ServiceInstallOptions, InstallRunner } from './processor.js';

/**
 * The service's install of a portal: the template in app mode, then the service's own ONAPPUNINSTALL binding.
 * `npm start` passes a progress hook (and its template and language) to show the plan and the result.
 */
export async function installForService(
  client: PortalClient, options: ServiceInstallOptions, extra: Pick<InstallOptions, 'onProgress' | 'template' | 'lang'> = {},
): Promise<InstallReport> {
  // Both see the progress: the service's tracker (the install page) and the caller's own (npm start's terminal).
  const onProgress = (event: ProgressEvent) => {
    options.onProgress?.(event);
    extra.onProgress?.(event);
  };
  const report = await runInstall(client, { tier: options.tier, lang: options.lang, app: options.app, stateDir: options.stateDir, ...extra, onProgress });
  await bindUninstall(client, `${options.app.publicUrl}/events`);
  options.onReport?.(report);
  return report;
}

/** One line for the service's log. */
export function summarizeInstall(report: InstallReport): string {
  const failed = report.failed.map((f) => f.reason || f.object);
  return `${report.created} created, ${report.updated} updated, ${report.deleted} deleted, ${report.unchanged} unchanged in ${report.httpRequests} requests`
    + `${report.skipped.length ? `; skipped: ${report.skipped.map((s) => s.object).join(', ')}` : ''}`
    + `${failed.length ? `; failed: ${failed.join('; ')}` : ''}${report.converged ? '' : '; the portal does not fully match the template yet'}`;
}

export const appModeInstall: InstallRunner = async (client, options) => summarizeInstall(await installForService(client, options));

/**
 * ONAPPUNINSTALL reaches only handlers bound to it (it is not part of the template's CRM events, and a base-tier
 * portal gets none of those): the service binds its own, so an uninstalled portal's tokens and pending work are
 * dropped. event.get lists this application's bindings only, so one at another address is the service's own from
 * before a move: it is unbound, as the installer does with the CRM events.
 */
async function bindUninstall(client: PortalClient, handler: string): Promise<void> {
  const { result } = await client.call<{ event: string; handler: string }[]>('event.get');
  const bound = (result ?? []).filter((b) => b.event.toUpperCase() === 'ONAPPUNINSTALL');
  if (!bound.some((b) => b.handler === handler)) await client.call('event.bind', { event: 'ONAPPUNINSTALL', handler });
  for (const stale of bound.filter((b) => b.handler !== handler)) {
    await client.call('event.unbind', { event: 'ONAPPUNINSTALL', handler: stale.handler });
  }
}

/**
 * What the installer created or adopted on the portal (ledger key → portal id): `category:<pipeline>` → category id,
 * `bp:<code>` → business-process template id. Empty when there is no ledger.
 */
export function ledgerIds(stateDir: string, memberId: string): Map<string, number> {
  const out = new Map<string, number>();
  try {
    const ledger = new PortalState(stateDir, memberId).loadLedger({ key: memberId, origin: '', mode: 'app' });
    for (const [key, object] of Object.entries(ledger.objects)) {
      if (object.id !== undefined) out.set(key, object.id);
    }
  } catch {
    // A damaged ledger is the installer's to report; the objects are then looked up on the portal.
  }
  return out;
}

/** The deal categories the installer created or adopted for each pipeline (ledger `category:<code>`). */
export function ledgerCategories(ids: Map<string, number>): Map<string, number> {
  const out = new Map<string, number>();
  for (const [key, id] of ids) {
    const m = /^category:(.+)$/.exec(key);
    if (m) out.set(m[1], id);
  }
  return out;
}
