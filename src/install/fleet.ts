// Fleets: one install per portal of a list (install --portals FILE), several at a time. Each portal is its own run —
// its own connection, lock, journal, ledger and backups under the state directory — so one that fails or is slow
// never touches another; the result is one row per portal.
import { readFileSync } from 'node:fs';
import { parseDocument } from 'yaml';
import { z } from 'zod';
import { tr } from '../i18n/index.js';
import type { Template } from '../template/model.js';
import { isTier } from '../template/tiers.js';
import { LANGUAGES } from '../template/constants.js';
import { runInstall, type InstallOptions } from './apply.js';
import { InstallError, type InstallReport } from './model.js';
import { openSession, type Session, type SessionOptions } from './session.js';
import type { PortalClientOptions } from '../portal/client.js';

const entrySchema = z.strictObject({
  name: z.string().min(1).optional(),
  webhook: z.string().min(1).optional(),
  /** The webhook's URL from this environment variable: keeps its secret out of the file. */
  webhookEnv: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/).optional(),
  /** App mode with the tokens the automation service stored (AUTOSALON_DB). */
  memberId: z.string().min(1).optional(),
  tier: z.string().min(1).optional(),
  plan: z.string().min(1).optional(),
  lang: z.enum(LANGUAGES).optional(),
  publicUrl: z.string().url().optional(),
});
const fileSchema = z.union([z.array(entrySchema), z.strictObject({ portals: z.array(entrySchema) })]);

export type FleetEntry = z.infer<typeof entrySchema> & { name: string };

/** The portals of a fleet file (YAML or JSON: a list, or {portals: [...]}), each with a name for the table. */
export function readFleetFile(file: string, env: NodeJS.ProcessEnv = process.env): FleetEntry[] {
  const t = tr().fleet;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new InstallError(t.unreadable(file, (error as Error).message));
  }
  const doc = parseDocument(text);
  if (doc.errors.length) throw new InstallError(t.notYaml(file, doc.errors[0].message.split('\n')[0]));
  const parsed = fileSchema.safeParse(doc.toJS());
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new InstallError(t.badEntry(file, issue.path.join('.') || '—', issue.message));
  }
  const entries = Array.isArray(parsed.data) ? parsed.data : parsed.data.portals;
  if (!entries.length) throw new InstallError(t.empty(file));
  const seen = new Map<string, string>();
  return entries.map((e, i) => {
    const where = `${file}: portals[${i}]${e.name ? ` (${e.name})` : ''}`;
    const kinds = [e.webhook, e.webhookEnv, e.memberId].filter(Boolean).length;
    if (kinds !== 1) throw new InstallError(t.oneTarget(where));
    if (e.webhookEnv && !env[e.webhookEnv]) throw new InstallError(t.envMissing(where, e.webhookEnv));
    const webhook = e.webhook ?? (e.webhookEnv ? env[e.webhookEnv] : undefined);
    const name = e.name ?? (webhook ? safeHost(webhook) : e.memberId!);
    // One portal listed twice would race itself for its own lock: refused before anything runs.
    const portal = webhook ? safeHost(webhook) : `member ${e.memberId}`;
    const first = seen.get(portal);
    if (first !== undefined) throw new InstallError(t.listedTwice(file, first, name, portal));
    seen.set(portal, name);
    return { ...e, webhook, name };
  });
}

function safeHost(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return '?';
  }
}

export interface FleetRow {
  name: string;
  portal: string;
  tier: string;
  created: number;
  updated: number;
  deleted: number;
  /** Template objects already as wanted. */
  unchanged: number;
  skipped: number;
  requests: number;
  ms: number;
  result: 'done' | 'dry-run' | 'changes-left' | 'needs-consent' | 'failed';
  /** Why it failed or what is left (no secrets). */
  message?: string;
}

export interface FleetOptions {
  template: Template;
  stateDir?: string;
  concurrency: number;
  dryRun?: boolean;
  /** --yes: changes to what was on a portal before Autosalon, or a person's edits, are applied without asking. */
  yes?: boolean;
  keepEdits?: boolean;
  client?: PortalClientOptions;
  /** Called as each portal finishes. */
  onDone?: (row: FleetRow) => void;
  /** Opens a portal (a test replaces it); the default is the CLI's. */
  open?: (options: SessionOptions, client: PortalClientOptions) => Promise<Session>;
  install?: (session: Session, options: InstallOptions) => Promise<InstallReport>;
  /** Turns an error into a message without secrets (the CLI's asUserError). */
  describeError?: (error: unknown, session?: Session) => string;
}

function resultOf(report: InstallReport): FleetRow['result'] {
  if (report.dryRun) return 'dry-run';
  if (report.cancelled) return 'needs-consent';
  if (report.failed.length) return 'failed';
  return report.converged ? 'done' : 'changes-left';
}

async function installOne(entry: FleetEntry, options: FleetOptions): Promise<FleetRow> {
  const started = performance.now();
  const open = options.open ?? openSession;
  const install = options.install ?? ((session: Session, o: InstallOptions) => runInstall(session.client, o));
  const describe = options.describeError ?? ((error: unknown) => (error instanceof Error ? error.message : String(error)));
  const row: FleetRow = { name: entry.name, portal: '', tier: entry.tier ?? '', created: 0, updated: 0, deleted: 0, unchanged: 0, skipped: 0, requests: 0, ms: 0, result: 'failed' };
  let session: Session | undefined;
  try {
    session = await open({ webhook: entry.webhook, memberId: entry.memberId, publicUrl: entry.publicUrl, stateDir: options.stateDir }, options.client ?? {});
    row.portal = session.client.origin;
    const report = await install(session, {
      tier: entry.tier, plan: entry.plan, lang: entry.lang, dryRun: options.dryRun, app: session.app, stateDir: session.stateDir,
      template: options.template, keepEdits: options.keepEdits,
      // No one to ask in a fleet: --yes agrees; without it a portal whose plan needs consent is left unchanged.
      confirm: () => !!options.yes,
    });
    Object.assign(row, {
      tier: report.tier, created: report.created, updated: report.updated, deleted: report.deleted, unchanged: report.unchanged,
      skipped: report.skipped.length, requests: report.httpRequests, result: resultOf(report),
    });
    if (row.result === 'failed') row.message = report.failed.map((f) => f.reason || f.object).join('; ');
    if (row.result === 'needs-consent') row.message = tr().fleet.needsConsent;
    if (row.result === 'changes-left') row.message = tr().summary.doesNotMatch;
  } catch (error) {
    row.result = 'failed';
    row.message = describe(error, session);
    if (session) row.requests = session.client.httpRequests;
  } finally {
    await session?.close().catch(() => undefined);
    row.ms = Math.round(performance.now() - started);
  }
  options.onDone?.(row);
  return row;
}

/** Installs every portal, at most `concurrency` at a time; the rows keep the file's order. */
export async function runFleet(entries: FleetEntry[], options: FleetOptions): Promise<FleetRow[]> {
  // A tier the template does not have is a mistake in the file: said before any portal is touched.
  for (const entry of entries) {
    if (entry.tier !== undefined && !isTier(options.template, entry.tier)) {
      throw new InstallError(`${entry.name}: ${tr().errors.unknownTier(entry.tier, options.template.tiers.join(', '))}`);
    }
  }
  const rows: FleetRow[] = new Array(entries.length);
  let next = 0;
  // A small pool: each worker takes the next portal until none is left.
  const worker = async () => {
    for (let i = next++; i < entries.length; i = next++) rows[i] = await installOne(entries[i], options);
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(options.concurrency, entries.length)) }, worker));
  return rows;
}

export function fleetOk(rows: FleetRow[]): boolean {
  return rows.every((r) => r.result === 'done' || r.result === 'dry-run');
}

/** The fleet as one table: portal, tier, created/updated/unchanged/skipped, requests, time, result. */
export function renderFleet(rows: FleetRow[]): string {
  const t = tr().fleet;
  const head = [t.colPortal, t.colTier, t.colCreated, t.colUpdated, t.colUnchanged, t.colSkipped, t.colRequests, t.colTime, t.colResult];
  const body = rows.map((r) => [
    r.name, r.tier || '—', String(r.created), String(r.updated), String(r.unchanged), String(r.skipped), String(r.requests),
    `${(r.ms / 1000).toFixed(1)} s`, `${t.result[r.result]}${r.message ? `: ${r.message}` : ''}`,
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => (i === head.length - 1 ? 0 : b[i].length))));
  const numeric = new Set([2, 3, 4, 5, 6, 7]);
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : numeric.has(i) ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ');
  const dryRun = rows.some((r) => r.result === 'dry-run');
  const done = rows.filter((r) => r.result === 'done' || r.result === 'dry-run').length;
  return [line(head), ...body.map(line), '', dryRun ? t.totalPlanned(done, rows.length) : t.total(done, rows.length)].join('\n');
}
