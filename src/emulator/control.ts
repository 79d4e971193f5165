// The control API: what a real portal does through its UI or its own servers — installing a local application,
// event fault switches, running an app robot, converting a lead, moving the clock — plus statistics and read access
// to what REST cannot read (notifications sent, tasks, ...). Same functions in-process and over HTTP (/_control).
import type { DeliveryRecord } from './events.js';
import { eventPart, faultsProblem, restPart, type EventFaults, type Faults } from './faults.js';
import { activityName, resolveDocumentId, signEventToken, workflowInstanceId } from './methods/bizproc.js';
import { commitUpdate, createRecord, findRecord, updateRecord } from './methods/crm-items.js';
import { dealStageEntity, statusesOf } from './methods/crm-status.js';
import { userFieldsOf } from './methods/crm-userfield.js';
import type { Portal } from './portal.js';
import { ALL_SCOPES } from './seed.js';
import { appPath } from './shell.js';
import { randomHex, randomToken, type AppRow, type CrmEntity, type CrmOperation, type CrmRecord, type PortalState, type RobotRunRow } from './state.js';
import { TIME_ZONE_HINT, isTimeZone } from './time.js';

/** Input the control API refuses (HTTP 400 over /_control), with what to give instead. */
export class ControlInputError extends Error {}

export interface EmulatorStats {
  /** HTTP requests served to REST clients (/rest/…), a batch counting as one. */
  httpRequests: number;
  /** Method → executed calls (batch commands counted one by one, `batch` itself too). */
  calls: Record<string, number>;
  /** Requests refused with 503 QUERY_LIMIT_EXCEEDED by the rate limit. */
  rejected503: number;
  /** Calls refused with 429 OPERATION_TIME_LIMIT by the operating limit. */
  rejected429: number;
  /** Requests refused with 503 by an injected fault (not counted in rejected503). */
  injected503: number;
  /** Method calls refused with 429 by an injected fault (not counted in rejected429). */
  injected429: number;
  /** Requests executed whose answer was dropped by an injected fault. */
  lostAnswers: number;
  /** Answers delayed by an injected latency spike. */
  latencySpikes: number;
  /** Event and robot deliveries still waiting in the queue. */
  pendingDeliveries: number;
}

export interface InstallAppOptions {
  /**
   * The install callback of an application that needs no installer ("Script only", or a mass-market app's install
   * event handler): receives ONAPPINSTALL, and the application is installed at once. Not with installPageUrl.
   */
  handlerUrl?: string;
  /** The application page ("handler path"): the portal opens it in its frame from the left menu (appUrl). */
  pageUrl?: string;
  /**
   * The installer page ("initial installation path" of an application with an interface): the portal shows it to an
   * administrator opening the application until it calls installFinish; until then the application is not installed
   * (docs settings/app-installation/installation-finish.md). Needs pageUrl.
   */
  installPageUrl?: string;
  /** The menu item's title; default the application code. */
  name?: string;
  /** Scopes (array or comma list); default: every scope the emulator implements. */
  scope?: string[] | string;
  /** Application code shown by app.info; default local.<client id>. */
  code?: string;
  /** The installing user (an admin); default 1. */
  userId?: number;
  /**
   * Install an application registered before, here or on another portal of the emulator: the same client_id and
   * secret (one application, as a Market app is on Bitrix24), this portal's own tokens and a new application_token.
   */
  clientId?: string;
}

export interface InstalledApp {
  clientId: string;
  clientSecret: string;
  applicationToken: string;
  memberId: string;
  accessToken: string;
  refreshToken: string;
  /** Unix seconds. */
  expires: number;
  expiresIn: number;
  domain: string;
  clientEndpoint: string;
  serverEndpoint: string;
  scope: string;
  userId: number;
  /** Where ONAPPINSTALL went and how the handler answered (absent without handlerUrl). */
  installDelivery?: Pick<DeliveryRecord, 'status' | 'httpStatus' | 'error'>;
  /** The portal page that opens the application in its frame (an application with a page or an installer). */
  appUrl?: string;
  /** false while an installer page has not called installFinish. */
  installed: boolean;
}

export interface IssuedToken { accessToken: string; refreshToken: string; expires: number; userId: number; clientId: string }

export interface RunRobotOptions {
  /** The robot's CODE as registered with bizproc.robot.add. */
  code: string;
  /** The app that registered it (needed only when two apps use the same CODE). */
  clientId?: string;
  /** "DEAL_5" or ["crm", "CCrmDocumentDeal", "DEAL_5"]. */
  documentId: string | string[];
  /** Values of the robot's PROPERTIES (defaults fill the rest). */
  properties?: Record<string, unknown>;
  /**
   * The user the robot runs as (its "run as" setting); default the robot's AUTH_USER_ID. Without one the handler gets
   * no tokens: CBPRestActivity::execute passes local user 0 (bizproc/classes/general/restactivity.php:181-191).
   */
  userId?: number | null;
  /** Seconds the robot waits for bizproc.event.send (0: no limit). */
  timeoutDuration?: number;
}

export interface RobotRunInfo { workflowId: string; eventToken: string; activityName: string; delivery: DeliveryRecord }

export interface ConvertLeadOptions {
  /** Deal pipeline of the new deal; default the default pipeline (0). */
  categoryId?: number;
  /** What to create; by default a contact and a deal, and a company when the lead has COMPANY_TITLE. */
  contact?: boolean;
  company?: boolean;
  deal?: boolean;
  /** The user converting; default 1. */
  userId?: number;
}

export interface ConversionResult { contactId?: number; companyId?: number; dealId?: number }

export type Collection = Exclude<keyof PortalState, 'format' | 'version' | 'memberId' | 'plan' | 'language' | 'timeZone' | 'clockOffsetMs' | 'webhook' | 'seq' | 'crmDenied'>;

export class EmulatorControl {
  constructor(private readonly portal: Portal) {}

  stats(): EmulatorStats {
    const s = this.portal.stats;
    return {
      ...s,
      calls: { ...s.calls },
      pendingDeliveries: this.portal.events.log.filter((d) => d.status === 'queued').length,
    };
  }

  /** Zeroes the counters. */
  resetStats(): void {
    this.portal.resetStats();
  }

  /** Empties the request-rate bucket and the operating-time buckets (as if the portal had been idle for a while). */
  resetLimits(): void {
    this.portal.bucket.reset();
    this.portal.operating.reset();
  }

  /** Installs a local application as an admin does in the UI: the app gets tokens and ONAPPINSTALL is POSTed. */
  async installApp(options: InstallAppOptions = {}): Promise<InstalledApp> {
    const p = this.portal;
    const userId = options.userId ?? 1;
    if (!p.isAdmin(userId)) throw new Error(`user ${userId} is not an administrator: only an administrator can install applications`);
    const scope = typeof options.scope === 'string' ? options.scope.split(',').map((s) => s.trim()).filter(Boolean) : options.scope ?? [...ALL_SCOPES];
    for (const key of ['handlerUrl', 'pageUrl', 'installPageUrl'] as const) {
      const value = options[key];
      if (value !== undefined && value !== '' && !/^https?:\/\/[^\s]+$/.test(value)) throw new ControlInputError(`${key} must be an http(s) URL (got ${JSON.stringify(value)})`);
    }
    if (options.installPageUrl && options.handlerUrl) {
      throw new ControlInputError('give an application either handlerUrl (an install callback: installed at once) or installPageUrl (an installer page: installed by its installFinish), not both');
    }
    const registry = p.shared.applications;
    let registered = options.clientId ? registry.find((a) => a.clientId === options.clientId) : undefined;
    if (options.clientId && !registered) throw new Error(`no application with client_id ${options.clientId} is registered in this emulator`);
    if (!registered) {
      const clientId = `local.${randomHex(7)}.${String(10_000_000 + Math.floor(Math.random() * 89_999_999))}`;
      registered = { clientId, clientSecret: randomToken(50), code: options.code ?? clientId, handlerUrl: options.handlerUrl ?? '' };
      registry.push(registered);
    } else if (options.handlerUrl !== undefined) {
      registered.handlerUrl = options.handlerUrl;
    }
    for (const key of ['pageUrl', 'installPageUrl', 'name'] as const) {
      if (options[key] !== undefined) registered[key] = options[key] || undefined;
    }
    // The latest install says which kind of install the application has: a callback or an installer page.
    if (options.handlerUrl) registered.installPageUrl = undefined;
    if (options.installPageUrl) registered.handlerUrl = '';
    const installPageUrl = registered.installPageUrl;
    if (installPageUrl && !(options.pageUrl ?? registered.pageUrl)) {
      throw new ControlInputError('an application with an installer page (installPageUrl) needs its application page too (pageUrl): the portal opens it after installFinish');
    }
    const pages = {
      pageUrl: options.pageUrl ?? registered.pageUrl,
      installPageUrl,
      name: options.name ?? registered.name,
      // Every install through an installer page waits for its installFinish, a reinstall too.
      setupPending: Boolean(installPageUrl),
    };
    let app = p.app(registered.clientId);
    if (app) {
      Object.assign(app, { installed: true, applicationToken: randomHex(16), handlerUrl: installPageUrl ? '' : options.handlerUrl ?? app.handlerUrl, scope, installedBy: userId, ...pages });
    } else {
      // This portal's own row (b_rest_app.ID of its own) of the registered application.
      app = {
        id: p.nextId('app'),
        clientId: registered.clientId,
        clientSecret: registered.clientSecret,
        code: registered.code,
        handlerUrl: registered.handlerUrl,
        scope,
        applicationToken: randomHex(16),
        installedBy: userId,
        installed: true,
        version: 1,
        ...pages,
      } satisfies AppRow;
      p.state.apps.push(app);
    }
    const token = p.issueToken(app, userId);
    const result: InstalledApp = {
      clientId: app.clientId,
      clientSecret: app.clientSecret,
      applicationToken: app.applicationToken,
      memberId: p.state.memberId,
      accessToken: token.accessToken,
      refreshToken: token.refreshToken,
      expires: Math.floor(token.expires / 1000),
      expiresIn: p.config.accessTokenTtlSeconds,
      domain: p.domain,
      clientEndpoint: p.clientEndpoint,
      serverEndpoint: p.serverEndpoint,
      scope: scope.join(','),
      userId,
      appUrl: app.pageUrl ? `${p.origin}${appPath(app)}` : undefined,
      installed: !app.setupPending,
    };
    if (app.handlerUrl) {
      // The install URL is registered as an ONAPPINSTALL handler row (CRestUtil::InstallApp), so the call is an
      // ordinary event with its event_handler_id.
      const payload = {
        event: 'ONAPPINSTALL',
        event_handler_id: String(p.nextId('eventBinding')),
        data: { VERSION: String(app.version), ACTIVE: 'Y', INSTALLED: 'Y', LANGUAGE_ID: p.lang },
        ts: p.events.timestamp(),
        auth: p.events.authBlock(app, userId, { refreshToken: true, token }),
      };
      const record = await p.events.deliverNow('install', 'ONAPPINSTALL', app.handlerUrl, app.clientId, payload);
      result.installDelivery = { status: record.status, httpStatus: record.httpStatus, error: record.error };
    }
    p.persist();
    return result;
  }

  /**
   * Deletes the application as an admin does: ONAPPUNINSTALL goes to the handlers the app bound to it, then its
   * tokens, event handlers, robots and triggers are gone (API access is revoked before the event arrives).
   */
  async uninstallApp(clientId: string, options: { clean?: boolean } = {}): Promise<DeliveryRecord[]> {
    const p = this.portal;
    const app = p.app(clientId);
    if (!app || !app.installed) throw new Error(`no installed application with client_id ${clientId}`);
    const handlers = p.state.eventBindings.filter((b) => b.clientId === clientId && b.event === 'ONAPPUNINSTALL' && !b.offline);
    app.installed = false;
    for (const t of p.state.tokens) if (t.clientId === clientId) t.revoked = true;
    p.state.eventBindings = p.state.eventBindings.filter((b) => b.clientId !== clientId);
    p.state.robots = p.state.robots.filter((r) => r.clientId !== clientId);
    p.state.triggers = p.state.triggers.filter((t) => t.clientId !== clientId);
    const records: DeliveryRecord[] = [];
    for (const binding of handlers) {
      const payload = {
        event: 'ONAPPUNINSTALL',
        event_handler_id: String(binding.id),
        data: { LANGUAGE_ID: p.lang, CLEAN: options.clean ? '1' : '0' },
        ts: p.events.timestamp(),
        auth: p.events.authBlock(app, null),
      };
      records.push(await p.events.deliverNow('uninstall', 'ONAPPUNINSTALL', binding.handler, clientId, payload));
    }
    p.persist();
    return records;
  }

  /**
   * The installer page called installFinish (through the portal page's frame protocol): the application counts as
   * installed from now on — app.info INSTALLED, events delivered, the application page opened instead of the installer.
   */
  finishInstall(clientId: string): void {
    const app = this.portal.app(clientId);
    if (!app || !app.installed) throw new ControlInputError(`no installed application with client_id ${clientId}`);
    app.setupPending = false;
    this.portal.persist();
  }

  /** A token pair of an installed app for any user (e.g. a non-admin), as if that user opened the app. */
  issueToken(clientId: string, userId: number): IssuedToken {
    const app = this.portal.app(clientId);
    if (!app || !app.installed) throw new Error(`no installed application with client_id ${clientId}`);
    if (!this.portal.user(userId)) throw new Error(`no user ${userId}`);
    const t = this.portal.issueToken(app, userId);
    this.portal.persist();
    return { accessToken: t.accessToken, refreshToken: t.refreshToken, expires: Math.floor(t.expires / 1000), userId, clientId };
  }

  /** Makes the access tokens (of one app, or all) expire now; refresh tokens stay valid. */
  expireAccessTokens(clientId?: string): number {
    const now = this.portal.now();
    let count = 0;
    for (const t of this.portal.state.tokens) {
      if (clientId && t.clientId !== clientId) continue;
      if (t.expires > now) {
        t.expires = now;
        count++;
      }
    }
    this.portal.persist();
    return count;
  }

  /** Replaces the event fault switches only (the REST ones stay as they are). */
  setEventFaults(faults: EventFaults): void {
    this.checkFaults(faults);
    this.portal.events.setFaults(faults);
  }

  eventFaults(): EventFaults {
    return this.portal.events.getFaults();
  }

  /** Replaces every fault switch of this portal, event and REST (what PUT /_control/faults does); absent ones are off. */
  setFaults(faults: Faults): void {
    this.checkFaults(faults);
    this.portal.events.setFaults(eventPart(faults));
    this.portal.restFaults.set(restPart(faults));
  }

  faults(): Faults {
    return { ...this.portal.events.getFaults(), ...this.portal.restFaults.get() };
  }

  private checkFaults(faults: Faults): void {
    const problem = faultsProblem(faults as Record<string, unknown>);
    if (problem) throw new ControlInputError(problem);
  }

  /** Sets a user's own time zone, as the user does in the profile ("" clears it: the portal's zone applies). */
  setUserTimeZone(userId: number, timeZone: string): void {
    const user = this.portal.user(userId);
    if (!user) throw new ControlInputError(`no user ${userId}`);
    if (timeZone !== '' && !isTimeZone(timeZone)) throw new ControlInputError(`timeZone ${TIME_ZONE_HINT} (got "${timeZone}")`);
    user.TIME_ZONE = timeZone;
    this.portal.persist();
  }

  /** Deliveries made (events, robot calls, install/uninstall), oldest first. */
  deliveries(filter: { kind?: DeliveryRecord['kind']; event?: string } = {}): DeliveryRecord[] {
    return this.portal.events.log.filter((d) => (!filter.kind || d.kind === filter.kind) && (!filter.event || d.event === filter.event.toUpperCase()));
  }

  /** Resolves when every queued event and robot delivery has been made. */
  waitForDeliveries(): Promise<void> {
    return this.portal.events.idle();
  }

  now(): number {
    return this.portal.now();
  }

  advanceClock(ms: number): number {
    this.portal.clock.advance(ms);
    this.portal.persist();
    return this.portal.now();
  }

  setClock(epochMs: number): number {
    this.portal.clock.set(epochMs);
    this.portal.persist();
    return this.portal.now();
  }

  setPlan(plan: string): void {
    this.portal.setPlan(plan);
    this.portal.persist();
  }

  /**
   * Runs an app robot on a document as an automation rule would: Bitrix24's queue server POSTs the robot payload
   * (workflow_id, code, document_id[], document_type[], event_token, properties[…], use_subscription,
   * timeout_duration, ts, auth[…]) to the robot's HANDLER, form-encoded, after this returns.
   */
  runRobot(options: RunRobotOptions): RobotRunInfo {
    const p = this.portal;
    const candidates = p.state.robots.filter((r) => r.code === options.code && (!options.clientId || r.clientId === options.clientId));
    if (candidates.length === 0) throw new Error(`no robot with code "${options.code}" is registered${options.clientId ? ` by ${options.clientId}` : ''}`);
    if (candidates.length > 1) throw new Error(`several apps registered a robot "${options.code}": give clientId`);
    const robot = candidates[0];
    const app = p.app(robot.clientId);
    if (!app || !app.installed) throw new Error(`the app of robot "${options.code}" is not installed`);
    const document = resolveDocumentId(p, options.documentId);
    if (!document) throw new Error(`no document ${JSON.stringify(options.documentId)}: give e.g. "DEAL_5" of an existing deal`);
    const workflowId = workflowInstanceId(p.now());
    const name = activityName();
    const eventToken = signEventToken(p, workflowId, name, randomHex(16));
    const properties: Record<string, unknown> = {};
    for (const [key, property] of Object.entries(robot.properties)) {
      const given = options.properties?.[key];
      const fallback = (property as Record<string, unknown>).DEFAULT;
      const value = given ?? fallback;
      // Values are externalised by type; null becomes "".
      properties[key] = value === undefined || value === null ? '' : value;
    }
    const userId = options.userId ?? (robot.authUserId > 0 ? robot.authUserId : null);
    const useSubscription = robot.useSubscription === 'N' ? 'N' : 'Y';
    const payload = {
      workflow_id: workflowId,
      code: robot.code,
      document_id: document.id,
      document_type: document.type,
      event_token: eventToken,
      properties,
      use_subscription: useSubscription,
      timeout_duration: String(options.timeoutDuration ?? 0),
      ts: p.events.timestamp(),
      auth: p.events.authBlock(app, userId, { refreshToken: true }),
    };
    const run: RobotRunRow = {
      workflowId,
      clientId: robot.clientId,
      code: robot.code,
      activityName: name,
      eventToken,
      documentId: document.id,
      documentType: document.type,
      properties,
      useSubscription,
      startedAt: p.now(),
      completed: null,
      delivery: 'queued',
    };
    p.state.robotRuns.push(run);
    const delivery = p.events.enqueue('robot', robot.code, robot.handler, robot.clientId, payload, (record) => {
      run.delivery = record.status;
      p.persist();
    });
    p.persist();
    return { workflowId, eventToken, activityName: name, delivery };
  }

  /** A robot run with what bizproc.event.send returned for it (completed: null while it waits). */
  robotRun(workflowId: string): RobotRunRow | undefined {
    const run = this.portal.state.robotRuns.find((r) => r.workflowId === workflowId);
    return run ? structuredClone(run) : undefined;
  }

  /**
   * Converts a lead as a user does in the UI (REST cannot): creates the contact, company and deal linked with
   * LEAD_ID (user fields of the same name carried over), moves the lead to the success status, and fires the
   * events of each change with the user's tokens.
   */
  convertLead(leadId: number, options: ConvertLeadOptions = {}): ConversionResult {
    const p = this.portal;
    const lead = findRecord(p, 'lead', leadId);
    if (!lead) throw new Error(`no lead ${leadId}`);
    const actor = { userId: options.userId ?? 1 };
    const success = statusesOf(p, 'STATUS').find((s) => s.SEMANTICS === 'S');
    if (!success) throw new Error('the lead statuses have no success status');
    if (lead.STATUS_ID === success.STATUS_ID) throw new Error(`lead ${leadId} is already converted`);
    const copyUserFields = (target: CrmEntity): Record<string, unknown> => {
      const names = new Set(userFieldsOf(p, target).map((f) => f.FIELD_NAME));
      return Object.fromEntries(Object.entries(lead).filter(([k, v]) => names.has(k) && v !== null && v !== undefined));
    };
    const multi = (type: string) => ((lead[type] as { VALUE: string; VALUE_TYPE: string }[] | undefined) ?? []).map((v) => ({ VALUE: v.VALUE, VALUE_TYPE: v.VALUE_TYPE }));
    const link = (record: CrmRecord) => {
      record.LEAD_ID = String(leadId);
    };
    const result: ConversionResult = {};
    const common = { ASSIGNED_BY_ID: lead.ASSIGNED_BY_ID, SOURCE_ID: lead.SOURCE_ID, SOURCE_DESCRIPTION: lead.SOURCE_DESCRIPTION, OPENED: lead.OPENED };
    if (options.contact ?? true) {
      const contact = createRecord(p, 'contact', { ...copyUserFields('contact'), ...common, NAME: lead.NAME, LAST_NAME: lead.LAST_NAME, SECOND_NAME: lead.SECOND_NAME, HONORIFIC: lead.HONORIFIC, POST: lead.POST, BIRTHDATE: lead.BIRTHDATE, ADDRESS: lead.ADDRESS, PHONE: multi('PHONE'), EMAIL: multi('EMAIL') }, actor);
      link(contact);
      result.contactId = contact.ID;
    }
    if (options.company ?? (typeof lead.COMPANY_TITLE === 'string' && lead.COMPANY_TITLE.trim() !== '')) {
      const company = createRecord(p, 'company', { ...copyUserFields('company'), ...common, TITLE: lead.COMPANY_TITLE, PHONE: multi('PHONE'), EMAIL: multi('EMAIL') }, actor);
      link(company);
      result.companyId = company.ID;
    }
    if (options.deal ?? true) {
      const deal = createRecord(
        p,
        'deal',
        {
          ...copyUserFields('deal'),
          ...common,
          TITLE: lead.TITLE,
          CATEGORY_ID: options.categoryId ?? 0,
          OPPORTUNITY: lead.OPPORTUNITY,
          CURRENCY_ID: lead.CURRENCY_ID,
          COMMENTS: lead.COMMENTS,
          CONTACT_ID: result.contactId,
          COMPANY_ID: result.companyId,
        },
        actor,
      );
      link(deal);
      result.dealId = deal.ID;
    }
    updateRecord(p, 'lead', lead, { STATUS_ID: success.STATUS_ID, CONTACT_ID: result.contactId ?? lead.CONTACT_ID, COMPANY_ID: result.companyId ?? lead.COMPANY_ID }, actor);
    p.persist();
    return result;
  }

  /**
   * Moves a deal to another pipeline as the UI does (crm.deal.update cannot): CATEGORY_ID and STAGE_ID change
   * (default: the pipeline's first stage) and ONCRMDEALMOVETOCATEGORY fires with ID, CATEGORY_ID and STAGE_ID
   * (not ONCRMDEALUPDATE).
   */
  moveDeal(id: number, categoryId: number, options: { stageId?: string; userId?: number | null } = {}): void {
    const p = this.portal;
    const deal = findRecord(p, 'deal', id);
    if (!deal) throw new Error(`no deal ${id}`);
    if (!p.state.dealCategories.some((c) => c.id === categoryId)) throw new Error(`no deal pipeline ${categoryId}`);
    const stages = statusesOf(p, dealStageEntity(categoryId));
    const stageId = options.stageId ?? stages[0]?.STATUS_ID;
    const stage = stages.find((s) => s.STATUS_ID === stageId);
    if (!stage) throw new Error(`stage ${String(stageId)} is not in pipeline ${categoryId}`);
    const userId = options.userId === undefined ? 1 : options.userId;
    commitUpdate(p, 'deal', deal, { ...deal, CATEGORY_ID: String(categoryId), STAGE_ID: stage.STATUS_ID }, { userId }, { moveOnly: true });
    p.persist();
  }

  /** Adds a CRM record as a user in the UI (userId) or as automation/an agent (userId null: events without tokens). */
  addRecord(entity: CrmEntity, fields: Record<string, unknown>, options: { userId?: number | null } = {}): number {
    const record = createRecord(this.portal, entity, fields, { userId: options.userId === undefined ? 1 : options.userId });
    this.portal.persist();
    return record.ID;
  }

  /** Changes a CRM record as a user in the UI (userId) or as automation (userId null: events without tokens). */
  updateRecord(entity: CrmEntity, id: number, fields: Record<string, unknown>, options: { userId?: number | null } = {}): void {
    const record = findRecord(this.portal, entity, id);
    if (!record) throw new Error(`no ${entity} ${id}`);
    updateRecord(this.portal, entity, record, fields, { userId: options.userId === undefined ? 1 : options.userId });
    this.portal.persist();
  }

  /**
   * Restricts a user's CRM role for one type, as an administrator does in the CRM permission settings: the listed
   * operations are refused (read: items left out of lists, get refused); [] gives the rights back. Administrators
   * are never restricted.
   */
  restrictCrm(userId: number, entity: CrmEntity, denied: CrmOperation[]): void {
    const p = this.portal;
    if (!p.user(userId)) throw new Error(`no user ${userId}`);
    if (p.isAdmin(userId)) throw new Error(`user ${userId} is an administrator: administrators have every CRM right`);
    const all = (p.state.crmDenied ??= {});
    const forUser = (all[String(userId)] ??= {});
    if (denied.length) forUser[entity] = [...new Set(denied)];
    else delete forUser[entity];
    p.persist();
  }

  /** A copy of one collection of the portal (notifications, tasks, activities, statuses, ...). */
  collection<K extends Collection>(name: K): PortalState[K] {
    if (!(name in this.portal.state)) throw new Error(`unknown collection "${String(name)}"`);
    return structuredClone(this.portal.state[name]);
  }
}
