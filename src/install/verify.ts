// Verify: read the portal and plan, as an install would, and report every difference from the template (drift).
// Nothing is written. Objects a webhook cannot see (robots, triggers, events, the business process) are listed as
// not verified, not as drift.
import { tr } from '../i18n/index.js';
import type { PortalClient } from '../portal/client.js';
import type { Lang, Template } from '../template/model.js';
import { filterByTier } from '../template/tiers.js';
import { explicitTier, lastInstallTier, tierFromAppInfo } from './apply.js';
import { InstallError, type ObjectNote, type Plan, type StepAction } from './model.js';
import { keptElements, noteOf, skipMeaning } from './plan.js';
import { PLAIN, type Style } from './render.js';
import { planWithReads, readPortal } from './read.js';
import { defaultStateDir, PortalState } from './state.js';

export interface VerifyOptions {
  tier?: string;
  plan?: string;
  lang?: Lang;
  app?: { publicUrl?: string; clientId?: string };
  stateDir?: string;
  template?: Template;
}

export interface Drift { action: StepAction; object: string; title: string; detail: string }

export interface VerifyReport {
  portal: string;
  tier: string;
  tierSource: string;
  lang: Lang;
  /** App mode: the automation service's address the robots and events were checked against. */
  publicUrl?: string;
  /** The portal matches the template. */
  ok: boolean;
  /** No install of Autosalon is recorded for this portal in the state directory. */
  neverInstalled: boolean;
  stateDir: string;
  drift: Drift[];
  /** Differences the template accepts (a default status kept because leads use it). */
  notes: ObjectNote[];
  notVerified: ObjectNote[];
  kept: ObjectNote[];
  httpRequests: number;
  plan: Plan;
}

export async function verifyPortal(client: PortalClient, options: VerifyOptions = {}): Promise<VerifyReport> {
  const fullTemplate = options.template ?? (await import('../template/loader.js')).loadTemplate();
  const state = new PortalState(options.stateDir ?? defaultStateDir(), client.portalKey, client.origin);
  const ledger = state.loadLedger({ key: client.portalKey, origin: client.origin, mode: client.mode });
  const start = client.httpRequests;
  const snapshot = await readPortal(client, fullTemplate, ledger);

  const choice = explicitTier(fullTemplate, options)
    ?? (ledger.tier ? lastInstallTier(fullTemplate, ledger.tier, snapshot.info) : undefined)
    ?? (snapshot.info && (snapshot.info.licenseType || snapshot.info.license) ? tierFromAppInfo(fullTemplate, snapshot.info) : undefined);
  if (!choice) throw new InstallError(tr().errors.verifyNoTier(fullTemplate.tiers.join('|')));
  const { tier, source: tierSource } = choice;
  const lang = options.lang ?? ledger.lang ?? 'ru';
  const plan = await planWithReads(client, snapshot, {
    template: filterByTier(fullTemplate, tier), tier, lang, ledger, portal: client.origin, mode: client.mode, app: options.app,
  });

  const drift: Drift[] = [];
  const notes: ObjectNote[] = [];
  const notVerified: ObjectNote[] = [];
  for (const s of plan.steps) {
    if (s.action === 'create' || s.action === 'update' || s.action === 'delete') {
      drift.push({ action: s.action, object: s.key, title: s.title, detail: s.detail ?? '' });
    } else if (s.action === 'skip') {
      const meaning = skipMeaning(s, client.mode);
      if (meaning === 'not-verified') notVerified.push({ object: s.title, reason: tr().verify.needsAppToRead });
      else if (meaning === 'drift') drift.push({ action: 'skip', object: s.key, title: s.title, detail: s.detail ?? '' });
      else notes.push(noteOf(s));
    }
  }
  // A missing pipeline first: the lines of its stages follow from it.
  drift.sort((a, b) => Number(!a.object.startsWith('category:')) - Number(!b.object.startsWith('category:')));
  return {
    portal: client.origin, tier, tierSource, lang, publicUrl: plan.publicUrl, ok: drift.length === 0, drift, notes, notVerified,
    neverInstalled: Object.keys(ledger.objects).length === 0, stateDir: state.dir,
    kept: keptElements(plan),
    httpRequests: client.httpRequests - start,
    plan,
  };
}

/** The verify report for people; `advice` is the command that fixes the drift (the CLI builds it from its own flags). */
export function renderVerify(report: VerifyReport, advice: string, style: Style = PLAIN): string {
  const t = tr();
  const out: string[] = [];
  out.push(t.verify.header(report.portal, report.tier, report.tierSource, t.languageName[report.lang], report.publicUrl));
  if (report.ok) out.push(style.good(t.verify.ok));
  else {
    out.push(style.bad(t.verify.drift(report.drift.length)));
    if (report.neverInstalled) out.push(t.verify.neverInstalled(report.stateDir));
    const verb: Record<StepAction, string> = { create: t.verify.missing, update: t.verify.differs, delete: t.verify.extra, skip: t.verify.cannotFix, keep: '' };
    const width = Math.max(...Object.values(verb).map((v) => v.length));
    for (const d of report.drift) out.push(`  ${style[d.action === 'skip' ? 'skip' : d.action](verb[d.action].padEnd(width))} ${d.title}${d.detail ? style.dim(` — ${d.detail}`) : ''}`);
    out.push(t.verify.advice(advice));
  }
  for (const n of report.notes) out.push(`  ${t.verify.note}: ${n.object} — ${n.reason}`);
  if (report.notVerified.length) out.push(t.verify.notVerified(report.notVerified.length, report.notVerified.map((n) => n.object).join(', ')));
  if (report.kept.length) out.push(t.verify.kept(report.kept.length));
  return out.join('\n');
}
