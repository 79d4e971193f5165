// The portals' data: one JSON-serialisable object per portal, kept in memory and (with a state file) on disk together
// with the emulator's application registry.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

export type CrmEntity = 'lead' | 'deal' | 'contact' | 'company';
export const CRM_ENTITIES: readonly CrmEntity[] = ['lead', 'deal', 'contact', 'company'];
export const ENTITY_TYPE_ID: Record<CrmEntity, number> = { lead: 1, deal: 2, contact: 3, company: 4 };
/** What a user may do with CRM items of a type (the role permissions the emulator models). */
export type CrmOperation = 'read' | 'add' | 'update' | 'delete';
export const CRM_OPERATIONS: readonly CrmOperation[] = ['read', 'add', 'update', 'delete'];
export const USER_FIELD_ENTITY: Record<CrmEntity, string> = { lead: 'CRM_LEAD', deal: 'CRM_DEAL', contact: 'CRM_CONTACT', company: 'CRM_COMPANY' };

export interface StatusRow {
  ID: number;
  ENTITY_ID: string;
  STATUS_ID: string;
  NAME: string;
  NAME_INIT: string;
  SORT: number;
  SYSTEM: 'Y' | 'N';
  COLOR: string | null;
  /** S success, F failure, null in progress (the ORM stores P as NULL). */
  SEMANTICS: 'S' | 'F' | null;
  CATEGORY_ID: number | null;
}

export interface DealCategoryRow {
  id: number;
  name: string;
  sort: number;
  originId: string | null;
  originatorId: string | null;
}

export interface UserRow {
  ID: number;
  ACTIVE: boolean;
  ADMIN: boolean;
  NAME: string;
  LAST_NAME: string;
  SECOND_NAME: string;
  EMAIL: string;
  WORK_POSITION: string;
  PERSONAL_GENDER: string;
  UF_DEPARTMENT: number[];
  DATE_REGISTER: number;
  /** The user's own time zone (profile, user.get); "" or absent: not set, the portal's zone applies. */
  TIME_ZONE?: string;
}

export interface DepartmentRow { ID: number; NAME: string; SORT: number; PARENT: number | null; UF_HEAD: number | null }

export interface EnumItemRow { ID: number; SORT: number; VALUE: string; DEF: 'Y' | 'N'; XML_ID: string }

export interface UserFieldRow {
  ID: number;
  ENTITY_ID: string;
  FIELD_NAME: string;
  USER_TYPE_ID: string;
  XML_ID: string | null;
  SORT: number;
  MULTIPLE: 'Y' | 'N';
  MANDATORY: 'Y' | 'N';
  SHOW_FILTER: string;
  SHOW_IN_LIST: 'Y' | 'N';
  EDIT_IN_LIST: 'Y' | 'N';
  IS_SEARCHABLE: 'Y' | 'N';
  SETTINGS: Record<string, unknown>;
  EDIT_FORM_LABEL: Record<string, string>;
  LIST_COLUMN_LABEL: Record<string, string>;
  LIST_FILTER_LABEL: Record<string, string>;
  ERROR_MESSAGE: Record<string, string>;
  HELP_MESSAGE: Record<string, string>;
  LIST: EnumItemRow[];
}

export interface MultiFieldValue { ID: string; VALUE_TYPE: string; VALUE: string; TYPE_ID: string }

/** A CRM record as stored: scalars as the legacy REST returns them (strings), datetimes as epoch ms. */
export type CrmRecord = Record<string, unknown> & { ID: number };

export interface AppRow {
  /** b_rest_app.ID, numeric. */
  id: number;
  clientId: string;
  clientSecret: string;
  code: string;
  handlerUrl: string;
  scope: string[];
  applicationToken: string;
  installedBy: number;
  installed: boolean;
  version: number;
  /** The application page ("handler path") the portal opens in its frame; absent: an application without an interface. */
  pageUrl?: string;
  /** The installer page ("initial installation path" of an application with an interface). */
  installPageUrl?: string;
  /** The menu item's title. */
  name?: string;
  /**
   * Added with an installer page and not finished yet: until the installer calls installFinish the application counts
   * as not installed (app.info INSTALLED false, no events) — docs settings/app-installation/installation-finish.md.
   */
  setupPending?: boolean;
}

/**
 * An application as the emulator registers it, once for all portals (a Market application has one client_id and
 * secret everywhere; each portal that installs it gets its own AppRow, tokens and application token).
 */
export interface RegisteredApp {
  clientId: string;
  clientSecret: string;
  code: string;
  /** The install handler of the application's latest install; another portal's install defaults to it. */
  handlerUrl: string;
  /** Its pages and menu title, as its latest install gave them (the same defaulting). */
  pageUrl?: string;
  installPageUrl?: string;
  name?: string;
}

export interface TokenRow {
  accessToken: string;
  refreshToken: string;
  clientId: string;
  userId: number;
  scope: string[];
  /** Epoch ms. */
  expires: number;
  refreshExpires: number;
  /** A refresh token is spent once it has been exchanged. */
  refreshUsed: boolean;
  /** Issued for the auth block of a delivery (reused for later deliveries while it has time left). */
  forDelivery?: boolean;
  /**
   * The application was deleted from the portal: the pair opens nothing any more, and the OAuth server still knows
   * which portal its refresh token came from (invalid_client, not invalid_grant).
   */
  revoked?: boolean;
}

export interface EventBindingRow { id: number; clientId: string; event: string; handler: string; authType: number; offline: boolean }

export interface RobotRow {
  clientId: string;
  code: string;
  internalCode: string;
  handler: string;
  authUserId: number;
  useSubscription: string;
  name: unknown;
  description: unknown;
  properties: Record<string, unknown>;
  returnProperties: Record<string, unknown>;
  documentType: unknown;
  filter: unknown;
  usePlacement: string;
  placementHandler: string;
}

export interface TriggerRow { clientId: string; code: string; name: string }
export interface TriggerFiredRow { id: number; clientId: string; code: string; ownerTypeId: number; ownerId: number; at: number }

export interface WorkflowTemplateRow {
  ID: number;
  MODULE_ID: string;
  ENTITY: string;
  DOCUMENT_TYPE: string;
  AUTO_EXECUTE: number;
  NAME: string;
  DESCRIPTION: string;
  TEMPLATE: unknown;
  PARAMETERS: unknown;
  VARIABLES: unknown;
  CONSTANTS: unknown;
  MODIFIED: number;
  IS_MODIFIED: 'Y' | 'N';
  USER_ID: number;
  SYSTEM_CODE: string;
  ACTIVE: 'Y' | 'N';
}

export interface RobotRunRow {
  workflowId: string;
  clientId: string;
  code: string;
  activityName: string;
  eventToken: string;
  documentId: string[];
  documentType: string[];
  properties: Record<string, unknown>;
  /** use_subscription of the call; a robot that does not wait takes no reply (absent in older state files: waits). */
  useSubscription?: 'Y' | 'N';
  startedAt: number;
  /** What bizproc.event.send reported, once it did. */
  completed: null | { at: number; returnValues: Record<string, unknown>; logMessage: string };
  delivery: 'queued' | 'delivered' | 'failed' | 'dropped';
}

export interface WorkflowRow { id: string; templateId: number; documentId: string[]; parameters: unknown; startedBy: number; startedAt: number; clientId: string | null }

export interface NotificationRow {
  id: number;
  kind: 'system' | 'personal';
  userId: number;
  fromUserId: number | null;
  /** The MESSAGE parameter as sent. */
  message: string;
  /** MESSAGE_OUT as stored: prefixed like shownMessage for an app's system notice (im_rest.php notifyAdd). */
  messageOut: string;
  /** The text the portal shows (a system notice of an app is prefixed with the app's name and #BR#). */
  shownMessage: string;
  tag: string;
  subTag: string;
  clientId: string | null;
  at: number;
}

export interface TaskRow { id: number; fields: Record<string, unknown>; createdBy: number; createdAt: number; changedAt: number }

export interface ActivityRow {
  ID: number;
  OWNER_TYPE_ID: number;
  OWNER_ID: number;
  TYPE_ID: number;
  PROVIDER_ID: string;
  PROVIDER_TYPE_ID: string;
  SUBJECT: string;
  DESCRIPTION: string;
  DEADLINE: number | null;
  START_TIME: number | null;
  END_TIME: number | null;
  RESPONSIBLE_ID: number;
  AUTHOR_ID: number;
  EDITOR_ID: number;
  COMPLETED: 'Y' | 'N';
  STATUS: number;
  PRIORITY: number;
  CREATED: number;
  LAST_UPDATED: number;
  PING_OFFSETS: number[];
  COLOR_ID: string | null;
  PARENT_ID: number;
}

/** One entry of the stage history (b_crm_deal_stage_history, b_crm_lead_status_history): see crm-stagehistory.ts. */
export interface StageHistoryRow {
  id: number;
  /** HistoryEntryType: 1 creation, 2 intermediate stage, 3 final stage, 5 pipeline change. */
  typeId: number;
  /** 1 lead, 2 deal. */
  ownerTypeId: number;
  ownerId: number;
  /** Epoch ms. */
  createdTime: number;
  /** Deals only (0 for leads). */
  categoryId: number;
  /** P, S or F. */
  semanticId: string;
  stageId: string;
}

export interface TimelineCommentRow { ID: number; ENTITY_TYPE: string; ENTITY_ID: number; COMMENT: string; AUTHOR_ID: number; CREATED: number; FILES: unknown[] }

export interface PortalState {
  format: typeof STATE_FORMAT;
  version: 1;
  memberId: string;
  plan: string;
  language: 'ru' | 'en';
  timeZone: string;
  /** Offset of the portal clock from the host clock, kept so a restarted emulator resumes "its" time. */
  clockOffsetMs: number;
  webhook: { userId: number; secret: string; scope: string[] };
  seq: Record<string, number>;
  users: UserRow[];
  departments: DepartmentRow[];
  statuses: StatusRow[];
  dealCategories: DealCategoryRow[];
  crm: Record<CrmEntity, CrmRecord[]>;
  userFields: UserFieldRow[];
  cardConfigs: Record<string, unknown>;
  apps: AppRow[];
  tokens: TokenRow[];
  eventBindings: EventBindingRow[];
  robots: RobotRow[];
  triggers: TriggerRow[];
  triggersFired: TriggerFiredRow[];
  workflowTemplates: WorkflowTemplateRow[];
  workflows: WorkflowRow[];
  robotRuns: RobotRunRow[];
  notifications: NotificationRow[];
  tasks: TaskRow[];
  activities: ActivityRow[];
  timelineComments: TimelineCommentRow[];
  /** Stage movements of leads and deals (absent in state files of earlier releases). */
  stageHistory?: StageHistoryRow[];
  /** Operations refused to a user (by user id), per CRM type; absent: every user may do everything (admin-like roles). */
  crmDenied?: Record<string, Partial<Record<CrmEntity, CrmOperation[]>>>;
}

export const STATE_FORMAT = 'autosalon-bitrix24-emulator';

/** The next ID of a table, like an AUTO_INCREMENT column. */
export function nextId(state: PortalState, table: string, start = 1): number {
  const next = Math.max(state.seq[table] ?? start - 1, start - 1) + 1;
  state.seq[table] = next;
  return next;
}

export const randomHex = (bytes: number) => randomBytes(bytes).toString('hex');
/** Lower-case letters and digits, the alphabet of Bitrix24 tokens and webhook codes. */
export function randomToken(length: number): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  const bytes = randomBytes(length);
  let out = '';
  for (let i = 0; i < length; i++) out += alphabet[bytes[i] % alphabet.length];
  return out;
}

export class EmulatorStateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EmulatorStateError';
  }
}

// The shape check is shallow on purpose: it catches a truncated, hand-broken or foreign file with a clear message,
// while the rows themselves are the emulator's own output. zod is loaded only when there is a file to check (it is
// slow to load, and most emulators, the tests' among them, keep their portals in memory).
async function stateShapes() {
  const { z } = await import('zod');
  const array = z.array(z.unknown());
  const portal = z.object({
    format: z.literal(STATE_FORMAT),
    version: z.literal(1),
    memberId: z.string().min(1),
    plan: z.string().min(1),
    language: z.enum(['ru', 'en']),
    timeZone: z.string().min(1),
    clockOffsetMs: z.number(),
    webhook: z.object({ userId: z.number().int().positive(), secret: z.string().min(1), scope: z.array(z.string()) }),
    seq: z.record(z.string(), z.number()),
    users: array,
    departments: array,
    statuses: array,
    dealCategories: array,
    crm: z.object({ lead: array, deal: array, contact: array, company: array }),
    userFields: array,
    cardConfigs: z.record(z.string(), z.unknown()),
    apps: array,
    tokens: array,
    eventBindings: array,
    robots: array,
    triggers: array,
    triggersFired: array,
    workflowTemplates: array,
    workflows: array,
    robotRuns: array,
    notifications: array,
    tasks: array,
    activities: array,
    timelineComments: array,
  });
  const emulator = z.object({
    format: z.literal(STATE_FORMAT),
    version: z.literal(2),
    apps: z.array(z.object({ clientId: z.string().min(1), clientSecret: z.string().min(1), code: z.string(), handlerUrl: z.string() })),
    portals: z.array(portal).min(1),
  });
  return { portal, emulator };
}

/** Everything the emulator keeps: its portals (portal 1 first) and the applications registered for all of them. */
export interface StoredEmulator {
  apps: RegisteredApp[];
  portals: PortalState[];
}

/**
 * The file of a multi-portal emulator (version 2). A one-portal emulator writes the portal itself (version 1, the
 * format of earlier releases), whose apps carry everything the registry needs.
 */
interface EmulatorFileV2 extends StoredEmulator {
  format: typeof STATE_FORMAT;
  version: 2;
}

/** The registry of a version-1 file: the applications its only portal knows. */
function registryOf(state: PortalState): RegisteredApp[] {
  return state.apps.map((a) => ({ clientId: a.clientId, clientSecret: a.clientSecret, code: a.code, handlerUrl: a.handlerUrl, pageUrl: a.pageUrl, installPageUrl: a.installPageUrl, name: a.name }));
}

/** Reads a state file (version 1 or 2); undefined when it does not exist; EmulatorStateError (with what to do) when it is broken. */
export async function readStateFile(path: string): Promise<StoredEmulator | undefined> {
  if (!existsSync(path)) return undefined;
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new EmulatorStateError(`cannot read the emulator state file ${path}: ${(error as Error).message}`);
  }
  const advice = 'fix the file, or move it away to start a new portal';
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw new EmulatorStateError(`the emulator state file ${path} is not valid JSON (${(error as Error).message}): ${advice}`);
  }
  const shapes = await stateShapes();
  const multi = typeof data === 'object' && data !== null && (data as { version?: unknown }).version === 2;
  const parsed = (multi ? shapes.emulator : shapes.portal).safeParse(data);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue.path.length ? issue.path.join('.') : '(top level)';
    throw new EmulatorStateError(`the emulator state file ${path} is not an emulator portal (${where}: ${issue.message}): ${advice}`);
  }
  if (multi) {
    const file = data as EmulatorFileV2;
    return { apps: file.apps, portals: file.portals };
  }
  const state = data as PortalState;
  return { apps: registryOf(state), portals: [state] };
}

/** Writes atomically (temp file + rename), so a crash never leaves half a file. */
export function writeStateFile(path: string, stored: StoredEmulator): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  const file: PortalState | EmulatorFileV2 = stored.portals.length === 1 ? stored.portals[0] : { format: STATE_FORMAT, version: 2, ...stored };
  writeFileSync(tmp, JSON.stringify(file));
  renameSync(tmp, path);
}
