// What the Market application's pages (src/web) and the service's /api/ endpoints (app-api.ts) exchange. Types only:
// the front end compiles this file too, so it imports nothing.

export type UiLang = 'ru' | 'en';

/** What the service writes into the page it answers Bitrix24 with (never a token). */
export interface Bootstrap {
  page: 'install' | 'app';
  lang: UiLang;
  /** The signed session the page sends to /api/ (Authorization: Bearer …). */
  session: string;
  /** ms, by the service's clock: the page counts the session's life from issuedAt, not from its own clock. */
  issuedAt: number;
  sessionExpiresAt: number;
  admin: boolean;
  /** The portal's address, for the page's header. */
  portal: string;
  /** The application page opens its re-call list on this day (YYYY-MM-DD) when Bitrix24 passed one. */
  date?: string;
}

/** A lasting problem or an install error, classified so the page can say it in the user's language. */
export interface Problem {
  kind: 'scope' | 'app_deleted' | 'auth_expired' | 'payment' | 'no_rest' | 'no_public_url' | 'other';
  /** The missing permission, for kind "scope". */
  scope?: string;
  /** The service's own words (English), shown under "details". */
  message: string;
}

export interface TierOffer {
  code: string;
  name: string;
  pipelines: { code: string; name: string; stages: number }[];
  leadStatuses: number;
  fields: number;
  cards: number;
  /** Rules, app robots and business processes the tier runs; 0 rules: no automation on this tier. */
  rules: number;
  robots: number;
  businessProcesses: number;
}

export interface ScopeNeed {
  scope: string;
  /** Granted to the application on this portal (the token's scope). */
  granted: boolean;
  /** The portal's tier needs it; others are used only by a higher tier. */
  required: boolean;
}

export interface InstallResult {
  created: number;
  updated: number;
  deleted: number;
  unchanged: number;
  skipped: { object: string; reason: string }[];
  kept: { object: string; reason: string }[];
  failed: { object: string; reason: string }[];
  converged: boolean;
  httpRequests: number;
  /** ms */
  finishedAt: number;
}

export interface InstallProgressView {
  phase: 'queued' | 'reading' | 'applying' | 'waiting' | 'done' | 'failed';
  round: number;
  stepsDone: number;
  stepsTotal: number;
  /** ms */
  startedAt?: number;
  finishedAt?: number;
}

export interface InstallStatus {
  state: 'awaiting' | 'installing' | 'installed' | 'failed' | 'uninstalled';
  /** An install is queued or running now. */
  running: boolean;
  /** ms: the portal's install time (items created after it are the automation's work). */
  installedAt: number;
  /** The running or last install of this service process. */
  progress?: InstallProgressView;
  result?: InstallResult;
  /** Why the install failed, or the portal's lasting problem. */
  problem?: Problem;
}

export interface InstallView {
  portal: string;
  plan: string;
  template: { name: string; version: string };
  tier: TierOffer;
  /** What the next tier adds (absent on the highest one), and the plans that have it. */
  upgrade?: { tier: TierOffer; plans: string[] };
  scopes: ScopeNeed[];
  status: InstallStatus;
}

export interface QueueView { queued: number; due: number; running: number; failed: number; done: number }

export interface Overview {
  portal: string;
  plan: string;
  tier: { code: string; name: string };
  template: { name: string; version: string };
  status: InstallStatus;
  health: {
    queue: QueueView;
    /** ms */
    lastEventAt?: number;
    failures: { kind: string; error: string; at: number }[];
    problem?: Problem;
  };
  timeZone: string;
}

export interface DriftView {
  ok: boolean;
  drift: { action: string; title: string; detail: string }[];
  notVerified: number;
  kept: number;
  /** ms */
  checkedAt: number;
}

/** A portal's own automation settings (src/service/settings.ts checks and applies them). */
export interface PortalSettings {
  /** IANA zone: refusal dates, the re-call time, deadlines and "today" of the re-call list are local to it. */
  timeZone: string;
  /** Local hour (0–23) at which a re-call to-do is due. */
  recallHour: number;
  /** Users told about every new lead besides the responsible one (role lead_managers). */
  leadManagerIds: number[];
  /** Who gets "supervisor" messages when the responsible user's department has no other head. */
  supervisorUserId?: number;
  /** The discount/bonus hint of the re-call to-do; absent: the template's text in the portal's language. */
  recallHint?: string;
  /** Template rule ids that do not run on this portal. */
  disabledRules: string[];
}

export interface SettingsView {
  settings: PortalSettings;
  /** pipelines: the names of the pipelines a deal rule is limited to. */
  rules: { id: string; entity: string; description: string; pipelines: string[] }[];
  users: { id: number; name: string; position: string }[];
  timeZones: string[];
  /** The template's hint, used while the portal sets none. */
  defaultHint: string;
}

export interface RecallRow {
  dealId: string;
  deal: string;
  client: string;
  pipeline: string;
  stage: string;
  /** YYYY-MM-DD, local to the portal. */
  refusedOn: string;
  reason: string;
  responsible: string;
  /** pending: to call; done: the re-call to-do is completed; reopened: the deal left the refusal before the call. */
  status: 'pending' | 'done' | 'reopened';
}

export interface RecallsView {
  date: string;
  timeZone: string;
  rows: RecallRow[];
}

export interface Analytics {
  from: string;
  to: string;
  timeZone: string;
  leads: {
    total: number;
    bySource: { name: string; count: number }[];
    byStatus: { name: string; semantics: string; count: number }[];
    qualified: number;
    /** Leads whose first status change came within the 1-hour rule, out of those measured. */
    reaction: { measured: number; withinHour: number; waitingOverHour: number; medianMinutes?: number; buckets: { key: string; count: number }[] };
  };
  pipelines: {
    code: string;
    name: string;
    deals: number;
    won: number;
    lost: number;
    stages: { name: string; reached: number; averageHours?: number }[];
  }[];
  refusals: { reason: string; count: number }[];
  recalls: { scheduled: number; done: number; wonBack: number };
  /** More items than one analysis reads: the figures cover the first ones. */
  truncated: boolean;
}

/** An /api/ error: the page shows it in words by its code. */
export interface ApiError {
  error: 'session_expired' | 'no_session' | 'forbidden' | 'bad_request' | 'portal_unavailable' | 'not_found' | 'unavailable';
  message: string;
}
