// Applying a plan: read the portal, plan, back up what will change, send the steps in batches of at most 50
// (a journal written before each one), record what was created in the ledger, then read and plan again until the
// plan is empty. Re-reading is what makes the run safe to repeat and to resume: objects are matched by their natural
// keys, so nothing is created twice, and a create whose answer was lost is looked up instead of being re-sent.
import { tr } from '../i18n/index.js';
import { LostResponseError, PortalError, UnreachableError, type BatchCommand, type BatchResult, type PortalClient } from '../portal/client.js';
import type { AppInfo } from '../portal/snapshot.js';
import type { Lang, Template } from '../template/model.js';
import { filterByTier, isTier, knownPlanCodes, knownPlanTier, tierForAppInfo } from '../template/tiers.js';
import { InstallError, type InstallReport, type Ledger, type Plan, type PlanDifference, type Step } from './model.js';
import { countActions, executableSteps, keptElements, keys, needsConsent, noteOf, skipMeaning, stagePrefix } from './plan.js';
import { planWithReads, readPortal } from './read.js';
import { recoverFromJournal } from './recover.js';
import { planDifferences, savedSteps, type SavedStep } from './saved-plan.js';
import { defaultStateDir, PortalState, type BackupEntry, type BackupFile, type JournalStep } from './state.js';

export const MAX_BATCH = 50;
/** Rounds spent waiting for the operating limit: 12 one-minute waits outlast its ten-minute window. */
const MAX_LIMIT_WAITS = 12;

export type ProgressEvent =
  | { type: 'read'; round: number }
  | { type: 'resume'; creates: number; found: number; earlierRun: boolean }
  | { type: 'plan'; round: number; plan: Plan; tierSource: string }
  | { type: 'backup'; file: string; objects: number }
  /** `done` changes so far in this run, `total` the changes this round sends. */
  | { type: 'batch'; round: number; batch: number; batches: number; steps: number; done: number; total: number }
  | { type: 'batch-done'; round: number; batch: number; ok: number; failed: number }
  | { type: 'lost'; round: number; batch: number }
  | { type: 'wait'; ms: number; reason: string };

export interface InstallOptions {
  /** base | crm_plus; wins over everything. */
  tier?: string;
  /** A plan code (LICENSE_TYPE such as "pro100") mapped to a tier by the template. */
  plan?: string;
  lang?: Lang;
  dryRun?: boolean;
  /** App mode: where the automation service listens, and the app's client_id (robots, events, the .bpt). */
  app?: { publicUrl?: string; clientId?: string };
  stateDir?: string;
  template?: Template;
  onProgress?: (event: ProgressEvent) => void;
  /** Asked before a plan that changes what was on the portal before the product, or a person's edits; absent means agreed. */
  confirm?: (plan: Plan) => boolean | Promise<boolean>;
  /** Leave objects a person edited after Autosalon set them as they are (listed), instead of asking. */
  keepEdits?: boolean;
  /** A saved plan (install --out): the first plan must be exactly it, else nothing is changed (PlanChangedError). */
  expectedPlan?: SavedStep[];
  /** Aborted (Ctrl-C): the run stops before its next batch; what was done is recorded and a re-run finishes. */
  signal?: AbortSignal;
  /** Test hook: runs after a batch was executed by the portal and before its answer is processed. */
  onBatchSent?: (info: { round: number; batch: number; stepIds: string[] }) => void | Promise<void>;
  maxRounds?: number;
  /** Commands per batch request (at most 50, the portal's limit). */
  maxBatch?: number;
  /**
   * The portal's install lock shared with processes on other machines (the service's PostgreSQL database): the run
   * takes it around its own file lock, which only this machine's processes see.
   */
  sharedLock?: <T>(work: () => Promise<T>) => Promise<T>;
  /** Wait after commands were refused by the operating limit (its buckets are one minute each), before trying them again. */
  limitWaitMs?: number;
}

export interface TierChoice { tier: string; source: string }

/**
 * The tier the user named: --tier, else --plan; undefined when neither was given. An unknown plan code is an error
 * listing the known ones (a typo must not install another tier); --plan and --tier together must agree.
 */
export function explicitTier(template: Template, options: Pick<InstallOptions, 'tier' | 'plan'>): TierChoice | undefined {
  const t = tr();
  let planTier: string | undefined;
  if (options.plan) {
    const known = knownPlanTier(template, options.plan);
    if (!known) throw new InstallError(t.errors.unknownPlan(options.plan, knownPlanCodes(template).join(', ')));
    planTier = known.tier;
  }
  if (options.tier) {
    if (!isTier(template, options.tier)) throw new InstallError(t.errors.unknownTier(options.tier, template.tiers.join(t.or)));
    if (planTier !== undefined && planTier !== options.tier) throw new InstallError(t.errors.planTierDisagree(options.plan!, planTier, options.tier));
    return { tier: options.tier, source: options.plan ? t.tierSource.planAndTier(options.plan) : t.tierSource.tier };
  }
  if (planTier !== undefined) return { tier: planTier, source: t.tierSource.plan(options.plan!) };
  return undefined;
}

/** Tier: --tier, then --plan; undefined means the portal's plan decides (app.info, read with the portal). */
export function chooseTier(template: Template, options: Pick<InstallOptions, 'tier' | 'plan'>): TierChoice | undefined {
  return explicitTier(template, options);
}

/** The tier of the portal's plan as app.info gives it: the most precise code the template knows (type, then family). */
export function tierFromAppInfo(template: Template, info: AppInfo): TierChoice {
  const code = info.licenseType || info.licenseFamily;
  return { tier: tierForAppInfo(template, info).tier, source: code ? tr().tierSource.appInfo(code) : tr().tierSource.license(info.license) };
}

/** The last install's tier; the source says so when the portal's plan now means another tier (and how to install that). */
export function lastInstallTier(template: Template, tier: string, info: AppInfo | undefined): TierChoice {
  const now = info && (info.licenseType || info.licenseFamily || info.license) ? tierFromAppInfo(template, info).tier : undefined;
  const code = info?.licenseType || info?.license || '';
  return { tier, source: now && now !== tier ? tr().tierSource.lastInstallOther(code, now) : tr().tierSource.lastInstall };
}

/** The portal did not say its plan and none was given: --tier or --plan is needed. */
export class NoTierError extends InstallError {
  constructor(tiers: string[]) {
    super(tr().errors.noTier(tiers.join('|')));
    this.name = 'NoTierError';
  }
}

/** The tier from app.info, when the portal said its plan (a webhook gets LICENSE only); else an error naming both options. */
export function tierFromPortal(template: Template, info: AppInfo | undefined): TierChoice {
  if (!info || !(info.licenseType || info.licenseFamily || info.license)) throw new NoTierError(template.tiers);
  return tierFromAppInfo(template, info);
}

/** What the journal keeps to find a step's object again after a lost answer (names, codes): read by recover.ts. */
function naturalOf(step: Step): Record<string, unknown> | undefined {
  const p = (step.call?.params ?? {}) as Record<string, Record<string, unknown> & { fields?: Record<string, unknown> }>;
  const fields = (p.fields ?? {}) as Record<string, unknown>;
  switch (step.kind) {
    case 'category': return { names: [fields.name] };
    case 'status':
    case 'stage': return { entityId: fields.ENTITY_ID, statusId: fields.STATUS_ID };
    case 'field': return { entity: step.call?.method.split('.')[1], fieldName: fields.FIELD_NAME };
    case 'robot':
    case 'trigger': return { code: p.CODE };
    case 'event': return { event: p.event, handler: p.handler };
    case 'bp': return { names: [p.NAME] };
    default: return undefined;
  }
}

/** Groups steps into batches of at most `max`; a step and the steps that reference its result stay together. */
export function packBatches(steps: Step[], max = MAX_BATCH): Step[][] {
  const units: Step[][] = [];
  const unitOf = new Map<string, Step[]>();
  for (const step of steps) {
    const parent = step.dependsOn ? unitOf.get(step.dependsOn) : undefined;
    const unit = parent ?? [];
    if (!parent) units.push(unit);
    unit.push(step);
    unitOf.set(step.id, unit);
  }
  const batches: Step[][] = [];
  let current: Step[] = [];
  for (const unit of units) {
    if (unit.length > max) throw new Error(`${unit.length} steps depend on one another: more than a batch of ${max} holds`);
    if (current.length + unit.length > max) {
      batches.push(current);
      current = [];
    }
    current.push(...unit);
  }
  if (current.length) batches.push(current);
  return batches;
}

/** A batch's commands, keyed by step id (the name `$result[...]` references use). */
export function batchCommands(steps: Step[]): Record<string, BatchCommand> {
  return Object.fromEntries(steps.map((s) => [s.id, { method: s.call!.method, params: s.call!.params }]));
}

const ALREADY_EXISTS = /already exists|already installed|ALREADY_INSTALLED/i;

function emptyReport(client: PortalClient, template: Template, stateDir: string): InstallReport {
  return {
    portal: client.origin, mode: client.mode, tier: '', tierSource: '', lang: 'ru', template: `${template.code} ${template.version}`,
    dryRun: false, cancelled: false, interrupted: false, resumed: false, created: 0, updated: 0, deleted: 0, unchanged: 0,
    skipped: [], editsKept: 0, kept: [], failed: [], changes: [], httpRequests: 0, rounds: 0, converged: false, stateDir,
    plan: undefined as unknown as Plan, differences: [],
  };
}

/** A plan made now is not the saved one: nothing was changed. */
export class PlanChangedError extends InstallError {
  constructor(readonly differences: string[]) {
    super(tr().savedPlan.changed(differences.length, differences.slice(0, 10).join('\n  '), Math.max(0, differences.length - 10)));
    this.name = 'PlanChangedError';
  }
}

/**
 * The key a change is matched by across rounds: a new pipeline's default stage is planned before the portal gives it
 * an id (new:<pipeline>:<code>) and deleted in a later round under its real one (portal:DEAL_STAGE_<id>:C<id>:<code>).
 */
function changeKey(key: string, categories: Plan['categories']): string {
  const planned = /^new:([^:]+):(.+)$/.exec(key);
  if (planned) {
    const id = categories[planned[1]]?.id;
    // The portal cuts a new pipeline's default STATUS_ID to 21 characters (see DEFAULT_STAGE_ID_LENGTH in plan.ts).
    return id === undefined ? key : `stage-of:${id}:${`${stagePrefix(id)}${planned[2]}`.slice(0, 21)}`;
  }
  const real = /^portal:DEAL_STAGE_(\d+):(.+)$/.exec(key);
  return real ? `stage-of:${real[1]}:${real[2]}` : key;
}

/** Why the first plan's changes and the changes made differ, change by change (empty when they agree). */
function planResultDifferences(first: Plan, last: Plan, report: InstallReport, failedForGood: Map<string, string>): PlanDifference[] {
  const categories = { ...first.categories, ...last.categories };
  const planned = new Map(first.steps.filter((s) => s.action === 'create' || s.action === 'update' || s.action === 'delete')
    .map((s) => [changeKey(s.key, categories), s]));
  const done = new Map(report.changes.map((c) => [changeKey(c.object, categories), c]));
  const out: PlanDifference[] = [];
  for (const [key, s] of planned) {
    if (done.has(key)) continue;
    const why = failedForGood.has(s.key) ? 'failed' : report.interrupted ? 'interrupted' : 'not-needed';
    out.push({ action: s.action, object: s.key, title: s.title, why });
  }
  for (const [key, c] of done) if (!planned.has(key)) out.push({ action: c.action, object: c.object, title: c.title, why: 'added' });
  return out;
}

function recordEffect(step: Step, value: unknown, ledger: Ledger): void {
  const key = step.key;
  switch (step.action) {
    case 'create': {
      const id = step.kind === 'category'
        ? Number((value as { category?: { id?: unknown } })?.category?.id)
        : ['status', 'stage', 'field', 'bp'].includes(step.kind) ? Number(value) : undefined;
      ledger.objects[key] = { ...(step.record ?? { created: true }), ...(id !== undefined && Number.isFinite(id) ? { id } : {}) };
      break;
    }
    case 'update':
      if (step.record) ledger.objects[key] = { ...ledger.objects[key], ...step.record };
      break;
    case 'delete':
      delete ledger.objects[key];
      break;
    default:
  }
}

/**
 * What a batch's answer means: each success goes into the ledger and the report; a failure is sent again next round
 * (rate limit: after a wait; "already exists": the next read finds it), or remembered as failed for good.
 */
function takeAnswer(
  batch: Step[], result: BatchResult, ledger: Ledger, report: InstallReport, failedForGood: Map<string, string>,
): { ok: number; failed: number; limited: boolean } {
  let ok = 0;
  let limited = false;
  const failedHere = new Set<string>();
  for (const step of batch) {
    const error = result.errors[step.id];
    if (!error) {
      ok++;
      recordEffect(step, result.result[step.id], ledger);
      report.changes.push({ action: step.action, object: step.key, title: step.title });
      if (step.action === 'create') report.created++;
      else if (step.action === 'update') report.updated++;
      else if (step.action === 'delete') report.deleted++;
      continue;
    }
    failedHere.add(step.id);
    if (step.dependsOn && failedHere.has(step.dependsOn)) continue; // re-planned with its parent
    if (error.isRateLimit) limited = true;
    else if (ALREADY_EXISTS.test(error.description) || ALREADY_EXISTS.test(error.code)) continue; // the next read shows it
    else failedForGood.set(step.key, tr().summary.refusedStep(step.title, error.code, error.description));
  }
  return { ok, failed: failedHere.size, limited };
}

export async function runInstall(client: PortalClient, options: InstallOptions = {}): Promise<InstallReport> {
  const fullTemplate = options.template ?? (await import('../template/loader.js')).loadTemplate();
  const stateDir = options.stateDir ?? defaultStateDir();
  const state = new PortalState(stateDir, client.portalKey, client.origin);
  const run = () => install(client, options, fullTemplate, state);
  if (options.dryRun) return run();
  const locked = () => state.locked('install', run);
  return options.sharedLock ? options.sharedLock(locked) : locked();
}

const stopped = (options: InstallOptions) => options.signal?.aborted === true;

async function install(client: PortalClient, options: InstallOptions, fullTemplate: Template, state: PortalState): Promise<InstallReport> {
  const ledger = state.loadLedger({ key: client.portalKey, origin: client.origin, mode: client.mode });
  const report = emptyReport(client, fullTemplate, state.dir);
  const progress = options.onProgress ?? (() => undefined);
  const startRequests = client.httpRequests;
  const maxRounds = options.maxRounds ?? 6;
  let tierChoice = chooseTier(fullTemplate, options);
  const lang: Lang = options.lang ?? ledger.lang ?? 'ru';
  report.lang = lang;

  // Keys that failed for a reason a retry will not fix: not sent again in this run.
  const failedForGood = new Map<string, string>();
  const backedUp: BackupEntry[] = [];
  let limitedRounds = 0;
  let lastPlan: Plan | undefined;
  let changesDone = 0;

  // Rounds that only waited for the operating limit do not count against maxRounds.
  for (let round = 1; round <= maxRounds + limitedRounds; round++) {
    report.rounds = round;
    progress({ type: 'read', round });
    const snapshot = await readPortal(client, fullTemplate, ledger);
    const journal = state.readJournal();
    if (journal) {
      const found = recoverFromJournal(journal, snapshot, ledger);
      // Found in the first read: an earlier run's batch. Later: this run's own batch whose answer was lost, so what
      // it is found to have created was created by this run.
      const earlierRun = round === 1;
      if (earlierRun) report.resumed = true;
      else report.created += found.found;
      progress({ type: 'resume', ...found, earlierRun });
      if (!options.dryRun) {
        state.saveLedger(ledger);
        state.clearJournal();
      }
    }
    // No --tier or --plan: the tier of the last install, so a re-run does what the first did; else the portal's plan.
    tierChoice ??= ledger.tier && isTier(fullTemplate, ledger.tier) ? lastInstallTier(fullTemplate, ledger.tier, snapshot.info) : tierFromPortal(fullTemplate, snapshot.info);
    report.tier = tierChoice.tier;
    report.tierSource = tierChoice.source;
    const template = filterByTier(fullTemplate, tierChoice.tier);
    const plan = await planWithReads(client, snapshot, {
      template, tier: tierChoice.tier, lang, ledger, portal: client.origin, mode: client.mode, app: options.app, keepEdits: options.keepEdits,
    });
    lastPlan = plan;
    if (round === 1 && options.expectedPlan) {
      const differences = planDifferences(options.expectedPlan, savedSteps(plan));
      if (differences.length) throw new PlanChangedError(differences);
    }
    progress({ type: 'plan', round, plan, tierSource: tierChoice.source });

    if (round === 1) {
      report.plan = plan;
      report.unchanged = plan.steps.filter((s) => s.action === 'keep' && s.template).length;
      if (options.dryRun) {
        const counts = countActions(plan.steps);
        Object.assign(report, { dryRun: true, created: counts.create, updated: counts.update, deleted: counts.delete });
        break;
      }
      if (options.confirm && needsConsent(plan) && !(await options.confirm(plan))) {
        report.cancelled = true;
        break;
      }
    }
    if (stopped(options)) {
      report.interrupted = true;
      break;
    }

    // What the ledger learns from the plan itself: pipelines adopted by name, the tier and language of the install.
    for (const match of Object.values(plan.categories)) {
      if (match.id !== undefined) ledger.objects[keys.category(match.code)] = { ...ledger.objects[keys.category(match.code)], created: match.created, id: match.id };
    }
    ledger.template = { ...plan.template };
    ledger.tier = tierChoice.tier;
    ledger.lang = lang;
    if (plan.publicUrl) ledger.publicUrl = plan.publicUrl;
    ledger.installedAt ??= new Date().toISOString();

    const blocked = new Set<string>();
    const steps = executableSteps(plan).filter((s) => {
      if (failedForGood.has(s.key) || (s.dependsOn && blocked.has(s.dependsOn))) {
        blocked.add(s.id);
        return false;
      }
      return true;
    });
    if (steps.length === 0) {
      state.saveLedger(ledger);
      break;
    }

    // The backup: every object this round changes, as it is now, on disk before the first write.
    const entries = steps.filter((s) => s.before !== undefined)
      .map((s): BackupEntry => ({ key: s.key, kind: s.kind, action: s.action, title: s.title, before: s.before }));
    if (entries.length) {
      backedUp.push(...entries);
      // One file per run, rewritten as later rounds add objects.
      report.backupFile ??= state.newBackupFile();
      const backup: BackupFile = {
        portal: client.origin, createdAt: new Date().toISOString(), template: report.template, tier: tierChoice.tier, lang, objects: backedUp,
      };
      state.writeBackup(report.backupFile, backup);
      progress({ type: 'backup', file: report.backupFile, objects: backedUp.length });
    }
    state.saveLedger(ledger);

    const batches = packBatches(steps, Math.min(options.maxBatch ?? MAX_BATCH, MAX_BATCH));
    let lost = false;
    let limited = false;
    const roundStart = changesDone;
    for (const [i, batch] of batches.entries()) {
      const number = i + 1;
      if (stopped(options)) {
        report.interrupted = true;
        break;
      }
      progress({ type: 'batch', round, batch: number, batches: batches.length, steps: batch.length, done: changesDone - roundStart, total: steps.length });
      state.writeJournal({
        startedAt: new Date().toISOString(), round, batch: number,
        steps: batch.map((s): JournalStep => ({ id: s.id, action: s.action, kind: s.kind, key: s.key, title: s.title, natural: naturalOf(s), record: s.record })),
      });
      let result: BatchResult;
      try {
        result = await client.batch(batchCommands(batch));
      } catch (error) {
        if (error instanceof LostResponseError && !(error instanceof UnreachableError)) {
          // The journal stays: the next round reads the portal and looks up what this batch may have created.
          progress({ type: 'lost', round, batch: number });
          lost = true;
          break;
        }
        // The portal refused the request as a whole: nothing of it ran.
        state.clearJournal();
        if (error instanceof PortalError && error.isRateLimit) {
          throw new InstallError(tr().errors.keptRefusing(error.code));
        }
        throw error;
      }
      await options.onBatchSent?.({ round, batch: number, stepIds: batch.map((s) => s.id) });

      const outcome = takeAnswer(batch, result, ledger, report, failedForGood);
      changesDone += outcome.ok;
      if (outcome.limited) limited = true;
      state.saveLedger(ledger);
      state.clearJournal();
      progress({ type: 'batch-done', round, batch: number, ok: outcome.ok, failed: outcome.failed });
    }
    if (report.interrupted) break;
    if (limited && !lost && limitedRounds < MAX_LIMIT_WAITS) {
      limitedRounds++;
      const ms = options.limitWaitMs ?? 60_000;
      progress({ type: 'wait', ms, reason: tr().progress.operatingLimit });
      await new Promise((r) => setTimeout(r, ms));
    }
  }

  if (lastPlan && !report.dryRun && !report.cancelled) {
    const pending = executableSteps(lastPlan).filter((s) => !failedForGood.has(s.key));
    // The same test as verify: a template object the install had to skip (a field of another type) is not in place.
    const unplaced = lastPlan.steps.filter((s) => s.action === 'skip' && skipMeaning(s, client.mode) === 'drift');
    report.converged = !report.interrupted && pending.length === 0 && unplaced.length === 0 && lastPlan.steps.every((s) => !s.deferred) && failedForGood.size === 0;
    if (pending.length && !report.interrupted && report.rounds >= maxRounds + limitedRounds) {
      report.failed.push({ object: 'install', reason: tr().summary.roundsExhausted(pending.length, report.rounds) });
    }
    if (report.plan) report.differences = planResultDifferences(report.plan, lastPlan, report, failedForGood);
  }
  const final = lastPlan ?? report.plan;
  if (final) {
    report.skipped = final.steps.filter((s) => s.action === 'skip' && !failedForGood.has(s.key)).map(noteOf);
    report.editsKept = final.steps.filter((s) => s.editKept).length;
    report.kept = keptElements(final);
  }
  for (const [key, reason] of failedForGood) report.failed.push({ object: key, reason });
  report.httpRequests = client.httpRequests - startRequests;
  return report;
}
