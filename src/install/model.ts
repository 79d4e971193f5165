// The installer's vocabulary: a plan is an ordered list of steps on portal objects; the ledger is what this
// product created or adopted on a portal; the report is what a run did.
import type { Lang } from '../template/model.js';
import type { RestParams } from '../portal/client.js';

export type StepAction = 'create' | 'update' | 'delete' | 'keep' | 'skip';
export type StepKind = 'status' | 'stage' | 'category' | 'field' | 'card' | 'robot' | 'trigger' | 'event' | 'bp';

export interface Step {
  /** Unique within a plan; also the command key inside a batch, so `$result[<id>]` names this step. */
  id: string;
  action: StepAction;
  kind: StepKind;
  /** The object's natural key, e.g. "stage:repair:INSPECTION", "field:deal:UF_CRM_AS_VIN", "robot:autosalon_refusal". */
  key: string;
  /** Display group: "leads", "pipeline:<code>", "fields", "cards", "app". */
  group: string;
  /** What the object is, readable: 'stage INSPECTION "Анализ авто"'. */
  title: string;
  /** What changes (update), or why the step is what it is (keep, skip, delete). */
  detail?: string;
  /** The REST call; absent for keep and skip. */
  call?: { method: string; params: RestParams };
  /** Planned, but executed in a later round: it needs identifiers the portal assigns first (a new pipeline's stages). */
  deferred?: boolean;
  /** A step whose result this step's call references (`$result[...]`); both go into the same batch. */
  dependsOn?: string;
  /** The object was on the portal before this product (not in the ledger as created by it): changing it needs consent. */
  foreign?: boolean;
  /** A person changed the object after Autosalon last set it (the ledger's fingerprint differs): changing it back needs consent. */
  edited?: boolean;
  /** Such an edit, kept as it is at the person's request (--keep-edits): a skip that is not drift. */
  editKept?: boolean;
  /** Uninstall: kept because it holds leads or deals; a later run removes it once they are moved. */
  blocked?: boolean;
  /** The object as the portal holds it now: written to the backup before the first write. */
  before?: unknown;
  /** False for portal elements the template does not know (kept and listed). */
  template: boolean;
  /** What the ledger records when the call succeeds. */
  record?: LedgerObject;
  /** Execution phase: steps run in phase order; steps of a phase keep the plan's order. */
  phase: number;
}

export interface CategoryMatch {
  code: string;
  id?: number;
  /** Created by this product (ledger); false for a same-named pipeline that was adopted. */
  created: boolean;
  /** Not on the portal yet: this plan creates it. */
  isNew: boolean;
}

export interface Plan {
  portal: string;
  mode: 'webhook' | 'app';
  tier: string;
  lang: Lang;
  template: { code: string; version: string };
  steps: Step[];
  categories: Record<string, CategoryMatch>;
  /** App mode: the automation service's address the robots and events are bound to (absent when unknown or unusable). */
  publicUrl?: string;
  /** Reads the planner needs before it can decide (cards of adopted pipelines, item counts). */
  missingReads: { cards: string[]; leadCounts: string[]; dealCounts: string[] };
}

export interface LedgerObject {
  created: boolean;
  id?: number;
  /** Fingerprint of what was registered, for objects the portal cannot show back (robots, BP templates). */
  hash?: string;
  handler?: string;
}

export interface LocalAddition {
  /** Pipeline code, or "leads" for the lead statuses. */
  pipeline: string;
  statusId: string;
  name: string;
  after: string;
  semantics: 'process' | 'failure';
  color: string;
  sort: number;
  addedAt: string;
}

export interface Ledger {
  version: 1;
  portal: { key: string; origin: string; mode: 'webhook' | 'app' };
  template?: { code: string; version: string };
  tier?: string;
  lang?: Lang;
  /** App mode: the automation service's address the last install bound robots and events to. */
  publicUrl?: string;
  installedAt?: string;
  updatedAt?: string;
  objects: Record<string, LedgerObject>;
  localAdditions: LocalAddition[];
}

export interface ObjectNote { object: string; reason: string }

export interface InstallReport {
  portal: string;
  mode: 'webhook' | 'app';
  tier: string;
  /** How the tier was chosen: "--tier", "--plan pro", "app.info ent250", "ledger". */
  tierSource: string;
  lang: Lang;
  template: string;
  dryRun: boolean;
  /** The user declined the plan. */
  cancelled: boolean;
  /** Stopped by Ctrl-C between batches: what was done is recorded; running again finishes. */
  interrupted: boolean;
  /** An interrupted run was found (journal) and its lost results looked up. */
  resumed: boolean;
  created: number;
  updated: number;
  deleted: number;
  unchanged: number;
  skipped: ObjectNote[];
  /** People's edits left as they are at the user's request (--keep-edits): the portal differs from the template there. */
  editsKept: number;
  kept: ObjectNote[];
  failed: ObjectNote[];
  /** Every change made, in order. */
  changes: { action: StepAction; object: string; title: string }[];
  httpRequests: number;
  rounds: number;
  /** The portal matched the template at the end (re-read after the last write). */
  converged: boolean;
  backupFile?: string;
  stateDir: string;
  /** The first plan, as shown to the user. */
  plan: Plan;
  /** Why the counts of the first plan and of what was done differ (empty when they agree). */
  differences: PlanDifference[];
}

/** A change the first plan counted that was not made, or one made that it did not count, and why. */
export interface PlanDifference {
  action: StepAction;
  object: string;
  title: string;
  why: 'not-needed' | 'failed' | 'added' | 'interrupted';
}

export class InstallError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InstallError';
  }
}
