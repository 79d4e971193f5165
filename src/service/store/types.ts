// The service's durable state behind one interface: portals and their tokens, the job queue (which is also the
// schedule: a job runs at or after its runAt), what was last observed of each CRM item, the idempotency keys
// of side effects, and the refusal episodes that make the re-call list. SQLite implements it for one process
// (sqlite.ts); PostgreSQL for any number of processes sharing one database (postgres.ts). test/service/store.test.ts
// is the contract both pass.
import type { RequestGate } from '../../portal/client.js';
import type { Lang } from '../../template/schema.js';
import type { PortalSettings } from '../settings.js';

/**
 * awaiting: an administrator opened the install page (the portal and its tokens are verified and stored), and the
 * install has not been started from it yet; nothing runs for the portal until then.
 */
export type InstallState = 'awaiting' | 'installing' | 'installed' | 'failed' | 'uninstalled';

/** What the service knows of a portal besides its tokens: enough to list, report and configure it. */
export interface PortalInfo {
  memberId: string;
  domain: string;
  /** https://portal.example/rest/ — where REST calls go. */
  clientEndpoint: string;
  scope: string;
  /** The administrator whose tokens the service holds. */
  userId: number;
  lang: Lang;
  tier: string;
  plan: string;
  /** ms; stage entries and creations before this moment are history, not work. */
  installedAt: number;
  installState: InstallState;
  installError?: string;
  /** ms; the portal time of the last reconciliation sweep. */
  lastSweepAt?: number;
  /** The portal's own automation settings. */
  settings: PortalSettings;
  /** The last lasting problem with the portal (tokens revoked, a scope missing, REST unavailable), until it works again. */
  lastError?: string;
  /** ms */
  lastErrorAt?: number;
}

/** What changes of a portal without touching its tokens or settings. */
export type PortalPatch = Partial<Pick<PortalInfo, 'tier' | 'plan' | 'installState' | 'installError' | 'installedAt' | 'lastSweepAt' | 'lastError' | 'lastErrorAt'>>;

/** A portal with its tokens (stored encrypted; the store hands them out decrypted). */
export interface PortalRecord extends PortalInfo {
  accessToken: string;
  refreshToken: string;
  /** Unix seconds. */
  expires: number;
  /** Proves that an event or robot call comes from this portal (stored from the verified install). */
  applicationToken: string;
}

export interface TokenUpdate {
  accessToken: string;
  refreshToken: string;
  expires: number;
  clientEndpoint: string;
  scope: string;
}

export type JobKind = 'event' | 'check' | 'robot' | 'delayed' | 'install';

export interface NewJob {
  memberId: string;
  kind: JobKind;
  payload: unknown;
  /** ms */
  runAt: number;
  /** A second job with the same key is not queued (a schedule entry, a duplicate delivery). */
  dedupeKey?: string;
  /**
   * Jobs with the same key wait as one while queued (events and sweep checks of one item: one read serves them all);
   * once the job is taken, a new one may be queued, since the item may change after it was read.
   */
  coalesceKey?: string;
}

export type JobStatus = 'queued' | 'running' | 'done' | 'failed';

export interface Job extends NewJob {
  id: number;
  status: JobStatus;
  attempts: number;
  lastError?: string;
  createdAt: number;
}

export interface QueueStats {
  /** Due or scheduled, not yet taken. */
  queued: number;
  /** Of those, due now. */
  due: number;
  running: number;
  failed: number;
  done: number;
}

export interface PortalActivity {
  /** ms: when the latest event or robot call of the portal was received. */
  lastEventAt?: number;
  /** The latest failed jobs, newest first. */
  failures: { id: number; kind: JobKind; error: string; at: number }[];
}

/** One portal's place in the worker's rotation: when its earliest queued job is due, and when it was last served. */
export interface QueueLane {
  memberId: string;
  /** ms; undefined when the portal has nothing queued. */
  dueAt?: number;
  /** Increases each time the portal is served (round-robin order). */
  servedSeq: number;
}

export interface Observation {
  memberId: string;
  entity: 'lead' | 'deal';
  itemId: string;
  stageId: string;
  /** ms */
  stageEnteredAt: number;
  /** Normalised values of the fields rules watch for changes. */
  watched: Record<string, string>;
  /** ms, service clock: when it was observed. */
  updatedAt: number;
  /** DATE_MODIFY of the item as read then. */
  modifiedAt?: string;
}

export type ActionState =
  | { state: 'new' }
  /** Recorded before the side effect, never finished: the effect may or may not exist. */
  | { state: 'started'; startedAt: number }
  | { state: 'done'; result: unknown };

export interface RecallEpisode {
  id: number;
  memberId: string;
  dealId: string;
  stageId: string;
  /** ms: when the deal entered the failure stage (or the robot ran, outside a failure stage). */
  enteredAt: number;
  /** YYYY-MM-DD, local to the portal. */
  recallDate: string;
  status: 'open' | 'closed';
  activityId?: number;
  reason: string;
  dealTitle: string;
  client: string;
  responsibleId: number;
  responsibleName: string;
  source: 'event' | 'robot';
  createdAt: number;
  closedAt?: number;
}

export type NewEpisode = Omit<RecallEpisode, 'id' | 'status' | 'activityId' | 'closedAt'>;

/** A to-do that asked for fields required at a stage; done once a later look at the item finds them filled. */
export interface Requirement {
  id: number;
  memberId: string;
  entity: 'lead' | 'deal';
  itemId: string;
  activityId: number;
  fields: string[];
  createdAt: number;
}

export type NewRequirement = Omit<Requirement, 'id'>;

export interface RecallQuery {
  date?: string;
  memberId?: string;
}

/** Which portal a claim may take from. */
export interface ClaimScope {
  /** Portals whose jobs run now: not chosen. */
  busy?: ReadonlySet<string>;
  /** This portal's due jobs only (a runner taking more of its own portal's work). */
  memberId?: string;
}

/** Work that runs in one process at a time per portal: the sweep, the template install. */
export type ExclusiveWork = 'sweep' | 'install';

export interface ServiceStore {
  /** Opening re-encrypted the tokens under the current key (a rotation): the previous key is no longer needed. */
  readonly tokensRotated: boolean;
  // ---- portals
  savePortal(portal: PortalRecord): Promise<void>;
  /** The portal with its tokens. */
  getPortal(memberId: string): Promise<PortalRecord | undefined>;
  /** Every portal, without tokens. */
  listPortals(): Promise<PortalInfo[]>;
  updateTokens(memberId: string, tokens: TokenUpdate): Promise<void>;
  updatePortal(memberId: string, patch: PortalPatch): Promise<void>;
  saveSettings(memberId: string, settings: PortalSettings): Promise<void>;
  /** Forgets the tokens and the application token; drops the portal's pending jobs. */
  markUninstalled(memberId: string, now: number): Promise<void>;

  // ---- queue and schedule
  enqueue(job: NewJob): Promise<{ id: number; created: boolean }>;
  /**
   * Takes a due job (or one whose lease ran out) and leases it until now + leaseMs: the earliest of the portal that
   * pickLane() chooses among those with due work and not in `busy` (portals whose jobs run now), so one portal's
   * backlog never keeps another portal waiting.
   */
  claimDue(now: number, leaseMs: number, busy?: ReadonlySet<string>): Promise<Job | undefined>;
  /**
   * Like claimDue, but up to `limit` due jobs of the chosen portal at once (earliest first), all leased: the worker
   * runs them side by side and their REST calls share batches. One portal per claim, so portals still take turns.
   */
  claimDueBatch(now: number, leaseMs: number, limit: number, scope?: ClaimScope): Promise<Job[]>;
  complete(jobId: number, now: number): Promise<void>;
  /** Puts a job back for another attempt at runAt. */
  retry(jobId: number, runAt: number, error: string): Promise<void>;
  fail(jobId: number, error: string, now: number): Promise<void>;
  /**
   * Jobs a crashed process left running go back to the queue: with SQLite every running job (one process uses the
   * file), with PostgreSQL those of portals no live process serves now.
   */
  requeueRunning(): Promise<number>;
  queueStats(now: number): Promise<QueueStats>;
  /** Queue figures per portal (portals with no job at all are absent). */
  queueStatsByPortal(now: number): Promise<Map<string, QueueStats>>;
  /** ms of the next queued job, if any (of portals not in `busy`). */
  nextRunAt(busy?: ReadonlySet<string>): Promise<number | undefined>;
  listJobs(filter?: { status?: JobStatus; memberId?: string }): Promise<Job[]>;
  /** For the portal's administrator: when its last event or robot call arrived, and its latest failed jobs. */
  portalActivity(memberId: string, failures?: number): Promise<PortalActivity>;
  /** Deletes jobs that finished (done) before the given time; failed jobs stay for inspection. */
  pruneJobs(finishedBefore: number): Promise<number>;

  // ---- what was last seen of each CRM item
  getObservation(memberId: string, entity: 'lead' | 'deal', itemId: string): Promise<Observation | undefined>;
  saveObservation(observation: Observation): Promise<void>;
  /** How many items were observed since then (ms, service clock). */
  countObservedSince(memberId: string, entity: 'lead' | 'deal', since: number): Promise<number>;
  /** What was last observed of these items, by item id (items never observed are absent). */
  getObservations(memberId: string, entity: 'lead' | 'deal', itemIds: string[]): Promise<Map<string, Observation>>;

  // ---- idempotency of side effects
  /** Records the key as started unless it exists; returns what was there before. */
  beginAction(key: string, memberId: string, now: number): Promise<ActionState>;
  finishAction(key: string, result: unknown, now: number): Promise<void>;
  getAction(key: string): Promise<ActionState>;

  // ---- refusal episodes and the re-call list
  /** Opens an episode unless the deal already has an open one, which is then returned. */
  openEpisode(episode: NewEpisode): Promise<{ episode: RecallEpisode; created: boolean }>;
  getOpenEpisode(memberId: string, dealId: string): Promise<RecallEpisode | undefined>;
  updateEpisode(id: number, patch: Partial<Pick<RecallEpisode, 'activityId' | 'reason' | 'client' | 'responsibleName'>>): Promise<void>;
  closeEpisode(memberId: string, dealId: string, now: number): Promise<void>;
  listRecalls(query: RecallQuery): Promise<RecallEpisode[]>;

  // ---- to-dos asking for required fields
  /** Remembers a to-do that names missing fields (once per to-do). */
  addRequirement(requirement: NewRequirement): Promise<void>;
  openRequirements(memberId: string, entity: 'lead' | 'deal', itemId: string): Promise<Requirement[]>;
  /** The to-do was marked done, or could not be (outcome says why); either way it is not looked at again. */
  closeRequirement(id: number, outcome: string, now: number): Promise<void>;

  // ---- what the processes sharing the store coordinate on
  /**
   * The portal's REST budget shared by every process on the store, asked before each request (PostgreSQL);
   * undefined where one process alone spends it (SQLite), whose client's own limiter is then the budget.
   */
  requestGate(memberId: string, limit: { burstLimit: number; drainRate: number }): RequestGate | undefined;
  /**
   * Runs `work` while no other process on the store runs work under the same (what, key); when another one does, waits
   * up to `waitMs` (default 0) for it, then gives up without running. With SQLite (one process) it just runs.
   */
  exclusive<T>(what: ExclusiveWork, key: string, work: () => Promise<T>, options?: { waitMs?: number }): Promise<{ ran: true; value: T } | { ran: false }>;

  /**
   * Tells `listener` when another process on the store queued jobs (PostgreSQL: LISTEN/NOTIFY), so this one's worker
   * looks at once instead of at its next poll. SQLite: never (one process; its server wakes its own worker).
   */
  onQueuedElsewhere(listener: () => void): void;

  // ---- keys
  /** A key for `purpose` derived from the service's secret key (the application page's sessions are signed with one). */
  derivedKey(purpose: string): Buffer;

  close(): Promise<void>;
}
