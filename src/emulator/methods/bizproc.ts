// bizproc.robot.*, bizproc.event.send, bizproc.activity.log, bizproc.workflow.template.*, bizproc.workflow.start
// (Bitrix\Bizproc\RestService; server notes §6 and §10; docs api-reference/bizproc/*).
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { decodeBpt, walkActivities, type BptActivity } from '../../bpt/index.js';
import { RestError, accessDenied, crmError } from '../errors.js';
import { asPhpArray, isObject, phpInt, phpString, phpValues, upperKeys, type Params } from '../params.js';
import type { Portal } from '../portal.js';
import { page, type CallContext, type MethodTable } from '../registry.js';
import type { CrmEntity, RobotRow, RobotRunRow, WorkflowRow, WorkflowTemplateRow } from '../state.js';
import { parseDateTime } from '../time.js';
import { checkHandlerUrl } from './events.js';
import { findRecord } from './crm-items.js';
import { addUserField, userFieldsOf } from './crm-userfield.js';

const validation = (message: string) => new RestError('ERROR_ACTIVITY_VALIDATION_FAILURE', message, 400);
const templateValidation = (message: string) => new RestError('ERROR_TEMPLATE_VALIDATION_FAILURE', message, 400);

export const DOCUMENT_TYPES: Record<string, { entity: string; type: string; crm: CrmEntity }> = {
  LEAD: { entity: 'CCrmDocumentLead', type: 'LEAD', crm: 'lead' },
  DEAL: { entity: 'CCrmDocumentDeal', type: 'DEAL', crm: 'deal' },
  CONTACT: { entity: 'CCrmDocumentContact', type: 'CONTACT', crm: 'contact' },
  COMPANY: { entity: 'CCrmDocumentCompany', type: 'COMPANY', crm: 'company' },
};

/** The document types the DocumentService of the emulated portal knows: the four CRM ones. */
export function resolveDocumentType(value: unknown): [string, string, string] | undefined {
  const list = phpValues(value).map(phpString);
  if (list.length !== 3 || list[0] !== 'crm') return undefined;
  const known = DOCUMENT_TYPES[list[2]];
  return known && known.entity === list[1] ? [list[0], list[1], list[2]] : undefined;
}

/** A document id as ['crm', 'CCrmDocumentDeal', 'DEAL_5'] (also accepted: "DEAL_5"). */
export function resolveDocumentId(portal: Portal, value: unknown): { id: [string, string, string]; type: [string, string, string]; entity: CrmEntity; recordId: number } | undefined {
  const list = phpValues(value, true).map(phpString);
  const code = list.length === 3 ? list[2] : list.length === 1 ? list[0] : '';
  const m = /^(LEAD|DEAL|CONTACT|COMPANY)_(\d+)$/.exec(code);
  if (!m) return undefined;
  const known = DOCUMENT_TYPES[m[1]];
  if (list.length === 3 && (list[0] !== 'crm' || list[1] !== known.entity)) return undefined;
  const recordId = Number(m[2]);
  if (!findRecord(portal, known.crm, recordId)) return undefined;
  return { id: ['crm', known.entity, code], type: ['crm', known.entity, known.type], entity: known.crm, recordId };
}

/** Built-in activities a .bpt may use (the bizproc module's own activity set, as far as templates need). */
const BUILT_IN_ACTIVITIES = new Set([
  'SequentialWorkflowActivity', 'StateMachineWorkflowActivity', 'StateActivity', 'StateInitializationActivity', 'StateFinalizationActivity',
  'EventDrivenActivity', 'SetStateActivity', 'SetStateTitleActivity', 'ParallelActivity', 'SequenceActivity', 'IfElseActivity',
  'IfElseBranchActivity', 'WhileActivity', 'ListenActivity', 'DelayActivity', 'RobotDelayActivity', 'HandleExternalEventActivity',
  'RequestInformationActivity', 'RequestInformationOptionalActivity', 'ApproveActivity', 'ReviewActivity', 'SetFieldActivity',
  'SetVariableActivity', 'SetGlobalVariableActivity', 'SetPermissionsActivity', 'LogActivity', 'MailActivity', 'IMNotifyActivity',
  'SocNetMessageActivity', 'Task2Activity', 'CreateDocumentActivity', 'PublishDocumentActivity', 'UnpublishDocumentActivity',
  'DeleteDocumentActivity', 'GetUserActivity', 'GetUserInfoActivity', 'AbsenceActivity', 'CalendarActivity', 'CodeActivity',
  'StartWorkflowActivity', 'TerminateActivity', 'WebHookActivity', 'CrmSetObserverField', 'CrmChangeStatusActivity',
  'CrmChangeResponsibleActivity', 'CrmCreateCallActivity', 'CrmCreateMeetingActivity', 'CrmCreateTodoActivity', 'CrmSendEmailActivity',
  'CrmSendSmsActivity', 'CrmAddCommentActivity', 'CrmControlNotifyActivity', 'CrmConvertDocumentActivity', 'CrmCopyDealActivity',
  'CrmGetDynamicInfoActivity', 'CrmUpdateDynamicActivity', 'CrmCreateDynamicActivity', 'CrmWaitActivity', 'CrmEventAddActivity',
  'EmptyBlockActivity', 'MathOperationActivity', 'FieldConditionActivity',
]);

const md5 = (text: string) => createHash('md5').update(text).digest('hex');

/** The activity type of an app robot inside templates: rest_ + md5(client_id@CODE). */
export const internalCode = (clientId: string, code: string) => md5(`${clientId}@${code}`);

/** prepareActivityData: keys upper-cased recursively, except the property keys themselves. */
function prepareActivityData(data: unknown, keepKeys = false): unknown {
  if (Array.isArray(data)) return data.map((v) => prepareActivityData(v));
  if (!isObject(data)) return data;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(data)) {
    const key = keepKeys ? k : k.toUpperCase();
    out[key] = prepareActivityData(v, key === 'PROPERTIES' || key === 'RETURN_PROPERTIES' || key === 'OPTIONS');
  }
  return out;
}

function empty(value: unknown): boolean {
  return value === undefined || value === null || value === '' || value === '0' || value === 0 || value === false || (Array.isArray(value) && value.length === 0) || (isObject(value) && Object.keys(value).length === 0);
}

function validateCode(code: unknown): string {
  if (empty(code)) throw validation('Empty activity code!');
  if (typeof code !== 'string' || !/^[a-z0-9.\-_]+$/i.test(code)) throw validation('Wrong activity code!');
  return code;
}

function validateProperties(properties: unknown): Record<string, unknown> {
  const map = asPhpArray(properties);
  if (!map) throw validation('Wrong properties array!');
  for (const [key, property] of Object.entries(map)) {
    if (!/^[a-z][a-z0-9_]*$/i.test(key)) throw validation(`Wrong property key (${key})!`);
    if (!isObject(property) || empty(property.NAME)) throw validation(`Empty property NAME (${key})!`);
  }
  return map;
}

function requireAdmin(ctx: CallContext): void {
  if (!ctx.portal.isAdmin(ctx.auth.userId)) throw accessDenied();
}

function findRobot(ctx: CallContext, code: string): RobotRow {
  const robot = ctx.portal.state.robots.find((r) => r.internalCode === internalCode(ctx.auth.clientId!, code));
  if (!robot) throw new RestError('ERROR_ACTIVITY_NOT_FOUND', 'Activity or Robot not found!', 400);
  return robot;
}

// ---- event tokens: "{workflowId}|{activityName}|{eventId}.{signature}" (Main\Security\Sign\Signer) ----

function signingKey(portal: Portal): string {
  return `${portal.state.memberId}:${portal.state.webhook.secret}:bizproc`;
}

export function signEventToken(portal: Portal, workflowId: string, activityName: string, eventId: string): string {
  const value = `${workflowId}|${activityName}|${eventId}`;
  return `${value}.${createHmac('sha256', signingKey(portal)).update(value).digest('hex')}`;
}

export function verifyEventToken(portal: Portal, token: unknown): [string, string, string] | undefined {
  if (typeof token !== 'string') return undefined;
  const dot = token.lastIndexOf('.');
  if (dot < 0) return undefined;
  const value = token.slice(0, dot);
  const given = Buffer.from(token.slice(dot + 1));
  const expected = Buffer.from(createHmac('sha256', signingKey(portal)).update(value).digest('hex'));
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
  const parts = value.split('|');
  return parts.length === 3 ? [parts[0], parts[1], parts[2]] : undefined;
}

/** A workflow instance id like PHP uniqid('', true): 14 hex digits, a dot, 8 digits. */
export function workflowInstanceId(now: number): string {
  const hex = Math.floor(now / 1000).toString(16).padStart(8, '0') + randomBytes(3).toString('hex');
  return `${hex.slice(0, 14)}.${String(randomBytes(4).readUInt32BE(0) % 100_000_000).padStart(8, '0')}`;
}

/** Activity names of the designer: A + four groups of five digits. */
export const activityName = () => `A${[0, 1, 2, 3].map(() => String(randomBytes(3).readUIntBE(0, 3) % 100_000).padStart(5, '0')).join('_')}`;

// ---- templates ----

function prepareTemplateData(value: unknown): Buffer {
  // CRestUtil::saveFile: a base64 string, or [fileName, base64].
  let content: unknown = value;
  if (Array.isArray(value)) content = value[1];
  else if (isObject(value)) content = Object.values(value)[1];
  if (typeof content !== 'string' || content === '' || content === 'false') throw templateValidation('Incorrect field TEMPLATE_DATA!');
  const data = Buffer.from(content, 'base64');
  if (data.length === 0) throw templateValidation('Incorrect field TEMPLATE_DATA!');
  return data;
}

function validateAutoExecute(flag: unknown): number {
  // `$flag === (string)(int)$flag`: only the strings "0".."3" pass; a JSON number does not.
  if (typeof flag === 'string' && flag === String(phpInt(flag)) && [0, 1, 2, 3].includes(phpInt(flag))) return phpInt(flag);
  throw templateValidation('Incorrect field AUTO_EXECUTE!');
}

const USER_FIELD_TYPE: Record<string, string> = {
  string: 'string', text: 'string', int: 'integer', double: 'double', bool: 'boolean', date: 'date', datetime: 'datetime',
  select: 'enumeration', user: 'employee', file: 'file', money: 'money',
};

/** Unpacks and checks a .bpt as importTemplate does; adds DOCUMENT_FIELDS the document lacks. */
function importTemplate(ctx: CallContext, documentType: [string, string, string], data: Buffer) {
  let pkg;
  try {
    pkg = decodeBpt(data);
  } catch {
    throw crmError('Incorrect workflow template');
  }
  const robots = new Set(ctx.portal.state.robots.filter((r) => r.clientId === ctx.auth.clientId).map((r) => `rest_${r.internalCode}`));
  for (const activity of walkActivities(pkg.TEMPLATE as BptActivity[])) {
    const type = String(activity.Type ?? '');
    const known = BUILT_IN_ACTIVITIES.has(type) || BUILT_IN_ACTIVITIES.has(type.replace(/^CBP/, '')) || robots.has(type.toLowerCase());
    if (!known) throw crmError(`Activity "${type}" was not found. `);
  }
  const entity = DOCUMENT_TYPES[documentType[2]].crm;
  const fields = asPhpArray(pkg.DOCUMENT_FIELDS) ?? {};
  for (const [name, field] of Object.entries(fields)) {
    if (!name.startsWith('UF_CRM_') || !isObject(field) || userFieldsOf(ctx.portal, entity).some((f) => f.FIELD_NAME === name)) continue;
    addUserField(ctx.portal, entity, {
      FIELD_NAME: name,
      USER_TYPE_ID: USER_FIELD_TYPE[phpString(field.Type)] ?? 'string',
      LABEL: phpString(field.Name) || name,
      MULTIPLE: phpString(field.Multiple) === '1' || field.Multiple === true ? 'Y' : 'N',
      MANDATORY: phpString(field.Required) === '1' || field.Required === true ? 'Y' : 'N',
    });
  }
  return pkg;
}

const TEMPLATE_FIELDS = ['ID', 'MODULE_ID', 'ENTITY', 'DOCUMENT_TYPE', 'AUTO_EXECUTE', 'NAME', 'DESCRIPTION', 'TEMPLATE', 'PARAMETERS', 'VARIABLES', 'CONSTANTS', 'MODIFIED', 'IS_MODIFIED', 'USER_ID', 'SYSTEM_CODE'];

function templateValue(portal: Portal, row: WorkflowTemplateRow, field: string): unknown {
  if (field === 'MODIFIED') return portal.datetime(row.MODIFIED);
  const value = (row as unknown as Record<string, unknown>)[field];
  return typeof value === 'number' ? String(value) : value;
}

const systemCode = (ctx: CallContext) => `rest_app_${ctx.auth.app!.id}`;

/**
 * The lists of Bitrix\Bizproc\RestService (getSelect / getFilter / getOrder over an ORM table): SELECT names
 * upper-cased, unknown ones skipped, the default only when none is left; FILTER keys as written, the operator being
 * what precedes the first letter and one of "", !, <, <=, >, >= — any other key filters nothing; ORDER names
 * upper-cased, ASC unless DESC; pages at the exact offset.
 */
function serviceList<R>(
  ctx: CallContext,
  q: Params,
  rows: R[],
  columns: Record<string, (row: R) => unknown>,
  defaults: { select: string[]; order: [string, 'ASC' | 'DESC'][]; datetime: string[] },
) {
  const selectGiven = phpValues(q.SELECT);
  if (selectGiven.some((f) => f !== null && typeof f === 'object')) throw new RestError('ERROR_SELECT_VALIDATION_FAILURE', 'Invalid data in SELECT parameter', 400);
  const chosen = [...new Set(selectGiven.map((f) => phpString(f).toUpperCase()).filter((f) => f in columns))];
  const select = chosen.length ? chosen : defaults.select;
  const comparable = (field: string, value: unknown): number | string => {
    if (defaults.datetime.includes(field)) return typeof value === 'string' ? (parseDateTime(value, ctx.portal.timeZone) ?? Number.NaN) : Number.NaN;
    return typeof value === 'number' || (typeof value === 'string' && /^-?\d+$/.test(value)) ? Number(value) : phpString(value);
  };
  let out = rows;
  for (const [key, want] of Object.entries(isObject(q.FILTER) ? q.FILTER : {})) {
    const m = /^([^a-zA-Z]*)(.*)$/.exec(key)!;
    if (!['', '!', '<', '<=', '>', '>='].includes(m[1]) || !(m[2] in columns)) continue;
    const [op, field] = [m[1], m[2]];
    out = out.filter((row) => {
      const a = comparable(field, columns[field](row));
      const b = comparable(field, want);
      if (op === '!') return a !== b;
      if (op === '<') return a < b;
      if (op === '<=') return a <= b;
      if (op === '>') return a > b;
      if (op === '>=') return a >= b;
      return a === b;
    });
  }
  const orderGiven = isObject(q.ORDER) ? Object.entries(q.ORDER).map(([f, d]) => [f.toUpperCase(), phpString(d).toUpperCase() === 'DESC' ? 'DESC' : 'ASC'] as [string, 'ASC' | 'DESC']).filter(([f]) => f in columns) : [];
  const order = orderGiven.length ? orderGiven : defaults.order;
  out = [...out].sort((x, y) => {
    for (const [field, dir] of order) {
      const a = comparable(field, columns[field](x));
      const b = comparable(field, columns[field](y));
      const cmp = typeof a === 'number' && typeof b === 'number' ? a - b : String(a).localeCompare(String(b));
      if (cmp) return dir === 'DESC' ? -cmp : cmp;
    }
    return 0;
  });
  return page(out, ctx.start, (row) => Object.fromEntries(select.map((f) => [f, columns[f](row)])));
}

/** The robot methods exist when bizproc or any automation feature is on (bizproc/lib/restservice.php:96-102). */
const ROBOT_FEATURES = ['bizproc', 'crm_automation_lead', 'crm_automation_deal', 'crm_automation_order', 'tasks_automation'];

export const bizprocMethods: MethodTable = [
  {
    name: 'bizproc.robot.add',
    scope: 'bizproc',
    appOnly: true,
    feature: ROBOT_FEATURES,
    handler: (params, ctx) => {
      requireAdmin(ctx);
      const data = prepareActivityData(params) as Record<string, unknown>;
      delete data.AUTH;
      if (Object.keys(data).length === 0) throw validation('Empty data!');
      const code = validateCode(data.CODE);
      checkHandlerUrl(data.HANDLER);
      if (empty(data.NAME)) throw validation('Empty activity NAME!');
      const properties = data.PROPERTIES !== undefined ? validateProperties(data.PROPERTIES) : {};
      if (data.DOCUMENT_TYPE !== undefined && !resolveDocumentType(data.DOCUMENT_TYPE)) throw validation('Wrong activity DOCUMENT_TYPE!');
      const returnProperties = data.RETURN_PROPERTIES !== undefined ? validateProperties(data.RETURN_PROPERTIES) : {};
      if (data.FILTER !== undefined && !isObject(data.FILTER) && !Array.isArray(data.FILTER)) throw validation('Wrong activity FILTER!');
      const clientId = ctx.auth.clientId!;
      const internal = internalCode(clientId, code);
      if (ctx.portal.state.robots.some((r) => r.internalCode === internal)) {
        throw new RestError('ERROR_ACTIVITY_ALREADY_INSTALLED', 'Activity or Robot already installed!', 400);
      }
      const usePlacement = data.USE_PLACEMENT === 'Y' ? 'Y' : 'N';
      if (usePlacement === 'Y') checkHandlerUrl(data.PLACEMENT_HANDLER);
      ctx.portal.state.robots.push({
        clientId,
        code,
        internalCode: internal,
        handler: phpString(data.HANDLER),
        authUserId: phpInt(data.AUTH_USER_ID),
        useSubscription: phpString(data.USE_SUBSCRIPTION),
        name: data.NAME,
        description: data.DESCRIPTION ?? '',
        properties,
        returnProperties,
        documentType: data.DOCUMENT_TYPE ?? null,
        filter: data.FILTER ?? null,
        usePlacement,
        placementHandler: phpString(data.PLACEMENT_HANDLER),
      });
      return true;
    },
  },
  {
    name: 'bizproc.robot.update',
    scope: 'bizproc',
    appOnly: true,
    feature: ROBOT_FEATURES,
    handler: (params, ctx) => {
      const data = prepareActivityData(params) as Record<string, unknown>;
      requireAdmin(ctx);
      const robot = findRobot(ctx, validateCode(data.CODE));
      const fields = isObject(data.FIELDS) ? data.FIELDS : undefined;
      if (!fields || Object.keys(fields).length === 0) throw validation('No fields to update');
      const update: Partial<RobotRow> = {};
      if (fields.HANDLER !== undefined) {
        checkHandlerUrl(fields.HANDLER);
        update.handler = phpString(fields.HANDLER);
      }
      if (fields.AUTH_USER_ID !== undefined) update.authUserId = phpInt(fields.AUTH_USER_ID);
      if (fields.USE_SUBSCRIPTION !== undefined) update.useSubscription = phpString(fields.USE_SUBSCRIPTION);
      if (fields.USE_PLACEMENT !== undefined) update.usePlacement = fields.USE_PLACEMENT === 'Y' ? 'Y' : 'N';
      if (!empty(fields.NAME)) update.name = fields.NAME;
      if (fields.DESCRIPTION !== undefined) update.description = fields.DESCRIPTION;
      if (fields.PROPERTIES !== undefined) update.properties = validateProperties(fields.PROPERTIES);
      if (fields.RETURN_PROPERTIES !== undefined) update.returnProperties = validateProperties(fields.RETURN_PROPERTIES);
      if (fields.DOCUMENT_TYPE !== undefined) {
        if (empty(fields.DOCUMENT_TYPE)) update.documentType = null;
        else if (!resolveDocumentType(fields.DOCUMENT_TYPE)) throw validation('Wrong activity DOCUMENT_TYPE!');
        else update.documentType = fields.DOCUMENT_TYPE;
      }
      if (fields.FILTER !== undefined) {
        if (empty(fields.FILTER)) update.filter = null;
        else if (!isObject(fields.FILTER) && !Array.isArray(fields.FILTER)) throw validation('Wrong activity FILTER!');
        else update.filter = fields.FILTER;
      }
      if (Object.keys(update).length === 0) throw validation('No fields to update');
      if (fields.PLACEMENT_HANDLER !== undefined) {
        checkHandlerUrl(fields.PLACEMENT_HANDLER);
        update.placementHandler = phpString(fields.PLACEMENT_HANDLER);
      }
      Object.assign(robot, update);
      return true;
    },
  },
  {
    name: 'bizproc.robot.list',
    scope: 'bizproc',
    appOnly: true,
    read: true,
    feature: ROBOT_FEATURES,
    handler: (_params, ctx) => {
      requireAdmin(ctx);
      return ctx.portal.state.robots.filter((r) => r.clientId === ctx.auth.clientId).map((r) => r.code);
    },
  },
  {
    name: 'bizproc.robot.delete',
    scope: 'bizproc',
    appOnly: true,
    feature: ROBOT_FEATURES,
    handler: (params, ctx) => {
      const q = upperKeys(params);
      requireAdmin(ctx);
      const robot = findRobot(ctx, validateCode(q.CODE));
      ctx.portal.state.robots = ctx.portal.state.robots.filter((r) => r !== robot);
      return true;
    },
  },
  {
    name: 'bizproc.event.send',
    scope: 'bizproc',
    feature: ROBOT_FEATURES,
    handler: (params, { portal }) => {
      const q = upperKeys(params);
      const token = verifyEventToken(portal, q.EVENT_TOKEN);
      if (!token) throw accessDenied();
      const [workflowId, name, eventId] = token;
      const run = portal.state.robotRuns.find((r) => r.workflowId === workflowId && r.activityName === name && r.eventToken.startsWith(`${workflowId}|${name}|${eventId}.`));
      // The workflow takes the answer in the background: a run that no longer waits ignores it, the call still succeeds;
      // a robot with USE_SUBSCRIPTION N never waited (CBPRestActivity::execute closes at once, restactivity.php:248).
      if (run && !run.completed && run.useSubscription !== 'N') run.completed = { at: portal.now(), returnValues: pickReturnValues(portal, run, q.RETURN_VALUES), logMessage: phpString(q.LOG_MESSAGE) };
      return true;
    },
  },
  {
    name: 'bizproc.activity.log',
    scope: 'bizproc',
    feature: ROBOT_FEATURES,
    handler: (params, { portal }) => {
      const q = upperKeys(params);
      if (!verifyEventToken(portal, q.EVENT_TOKEN)) throw accessDenied();
      if (empty(q.LOG_MESSAGE)) throw new RestError('ERROR_EMPTY_LOG_MESSAGE', 'Empty log message!', 400);
      return true;
    },
  },
  {
    name: 'bizproc.workflow.template.add',
    scope: 'bizproc',
    appOnly: true,
    feature: 'bizproc',
    handler: (params, ctx) => {
      requireAdmin(ctx);
      const q = upperKeys(params);
      const documentType = resolveDocumentType(q.DOCUMENT_TYPE);
      if (!documentType) throw templateValidation('Incorrect field DOCUMENT_TYPE!');
      if (empty(q.NAME)) throw templateValidation('Empty template name!');
      const autoExecute = q.AUTO_EXECUTE !== undefined ? validateAutoExecute(q.AUTO_EXECUTE) : 0;
      const pkg = importTemplate(ctx, documentType, prepareTemplateData(q.TEMPLATE_DATA));
      const row: WorkflowTemplateRow = {
        ID: ctx.portal.nextId('workflowTemplate'),
        MODULE_ID: documentType[0],
        ENTITY: documentType[1],
        DOCUMENT_TYPE: documentType[2],
        AUTO_EXECUTE: autoExecute,
        NAME: phpString(q.NAME),
        DESCRIPTION: phpString(q.DESCRIPTION),
        TEMPLATE: pkg.TEMPLATE,
        PARAMETERS: pkg.PARAMETERS,
        VARIABLES: pkg.VARIABLES,
        CONSTANTS: pkg.CONSTANTS,
        MODIFIED: ctx.portal.now(),
        IS_MODIFIED: 'N',
        USER_ID: ctx.auth.userId,
        SYSTEM_CODE: systemCode(ctx),
        ACTIVE: 'Y',
      };
      ctx.portal.state.workflowTemplates.push(row);
      return row.ID;
    },
  },
  {
    name: 'bizproc.workflow.template.update',
    scope: 'bizproc',
    appOnly: true,
    feature: 'bizproc',
    handler: (params, ctx) => {
      requireAdmin(ctx);
      const q = upperKeys(params);
      const fields = isObject(q.FIELDS) ? upperKeys(q.FIELDS) : undefined;
      if (!fields || Object.keys(fields).length === 0) throw templateValidation('No fields to update.');
      const row = ctx.portal.state.workflowTemplates.find((t) => t.ID === phpInt(q.ID));
      if (!row) throw new RestError('ERROR_TEMPLATE_NOT_FOUND', 'Workflow template not found.', 400);
      if (row.SYSTEM_CODE !== systemCode(ctx)) throw new RestError('ERROR_TEMPLATE_NOT_OWNER', 'You can update ONLY templates created by current application', 400);
      if (fields.NAME !== undefined && empty(fields.NAME)) throw templateValidation('Empty template name!');
      const autoExecute = fields.AUTO_EXECUTE !== undefined ? validateAutoExecute(fields.AUTO_EXECUTE) : row.AUTO_EXECUTE;
      if (fields.TEMPLATE_DATA !== undefined) {
        const pkg = importTemplate(ctx, [row.MODULE_ID, row.ENTITY, row.DOCUMENT_TYPE], prepareTemplateData(fields.TEMPLATE_DATA));
        Object.assign(row, { TEMPLATE: pkg.TEMPLATE, PARAMETERS: pkg.PARAMETERS, VARIABLES: pkg.VARIABLES, CONSTANTS: pkg.CONSTANTS });
      }
      if (fields.NAME !== undefined) row.NAME = phpString(fields.NAME);
      if (fields.DESCRIPTION !== undefined) row.DESCRIPTION = phpString(fields.DESCRIPTION);
      row.AUTO_EXECUTE = autoExecute;
      row.MODIFIED = ctx.portal.now();
      row.IS_MODIFIED = 'Y';
      return row.ID;
    },
  },
  {
    name: 'bizproc.workflow.template.delete',
    scope: 'bizproc',
    appOnly: true,
    feature: 'bizproc',
    handler: (params, ctx) => {
      requireAdmin(ctx);
      const q = upperKeys(params);
      const row = ctx.portal.state.workflowTemplates.find((t) => t.ID === phpInt(q.ID));
      if (!row) throw new RestError('ERROR_TEMPLATE_NOT_FOUND', 'Workflow template not found.', 400);
      if (row.SYSTEM_CODE !== systemCode(ctx)) throw crmError('You can delete ONLY templates created by current application');
      ctx.portal.state.workflowTemplates = ctx.portal.state.workflowTemplates.filter((t) => t !== row);
      return null;
    },
  },
  {
    name: 'bizproc.workflow.template.list',
    scope: 'bizproc',
    read: true,
    feature: 'bizproc',
    handler: (params, ctx) => {
      requireAdmin(ctx);
      const q = upperKeys(params);
      const rows = ctx.portal.state.workflowTemplates.filter((t) => t.AUTO_EXECUTE < 8);
      const columns = Object.fromEntries(TEMPLATE_FIELDS.map((f) => [f, (row: WorkflowTemplateRow) => templateValue(ctx.portal, row, f)]));
      return serviceList(ctx, q, rows, columns, { select: ['ID'], order: [['ID', 'ASC']], datetime: ['MODIFIED'] });
    },
  },
  ...['bizproc.workflow.instances', 'bizproc.workflow.instance.list'].map((name) => ({
    // RestService::getWorkflowInstances: the running workflows (b_bp_workflow_instance keeps only those; the
    // emulator's started workflows never finish). TEMPLATE_ID is the WORKFLOW_TEMPLATE_ID column.
    name,
    scope: 'bizproc',
    read: true,
    feature: 'bizproc',
    handler: (params: Params, ctx: CallContext) => {
      requireAdmin(ctx);
      const columns: Record<string, (w: WorkflowRow) => unknown> = {
        ID: (w) => w.id,
        MODIFIED: (w) => ctx.portal.datetime(w.startedAt),
        OWNED_UNTIL: () => null,
        MODULE_ID: (w) => w.documentId[0],
        ENTITY: (w) => w.documentId[1],
        DOCUMENT_ID: (w) => w.documentId[2],
        STARTED: (w) => ctx.portal.datetime(w.startedAt),
        STARTED_BY: (w) => String(w.startedBy),
        TEMPLATE_ID: (w) => String(w.templateId),
      };
      return serviceList(ctx, upperKeys(params), ctx.portal.state.workflows, columns, {
        select: ['ID', 'MODIFIED', 'OWNED_UNTIL'],
        order: [['MODIFIED', 'DESC']],
        datetime: ['MODIFIED', 'OWNED_UNTIL', 'STARTED'],
      });
    },
  })),
  {
    name: 'bizproc.workflow.start',
    scope: 'bizproc',
    feature: 'bizproc',
    handler: (params, ctx) => {
      const q = upperKeys(params);
      if (empty(q.TEMPLATE_ID)) throw new RestError('ERROR_WRONG_WORKFLOW_ID', 'Empty TEMPLATE_ID', 400);
      const template = ctx.portal.state.workflowTemplates.find((t) => t.ID === phpInt(q.TEMPLATE_ID));
      if (!template) throw new RestError('ERROR_WRONG_WORKFLOW_ID', 'Template not found', 400);
      // CBPHelper::parseDocumentId needs [module, entity, id]: a bare "DEAL_5" names no document.
      const given = Array.isArray(q.DOCUMENT_ID) ? q.DOCUMENT_ID : isObject(q.DOCUMENT_ID) ? Object.values(q.DOCUMENT_ID) : [];
      const document = given.length >= 3 ? resolveDocumentId(ctx.portal, given.slice(0, 3)) : undefined;
      if (!document) throw crmError('Wrong DOCUMENT_ID!');
      if (document.type[1] !== template.ENTITY || document.type[2] !== template.DOCUMENT_TYPE) throw crmError('Template type and DOCUMENT_ID mismatch!');
      if (!ctx.portal.isAdmin(ctx.auth.userId)) throw accessDenied();
      const id = workflowInstanceId(ctx.portal.now());
      ctx.portal.state.workflows.push({
        id,
        templateId: template.ID,
        documentId: document.id,
        parameters: isObject(q.PARAMETERS) ? q.PARAMETERS : {},
        startedBy: ctx.auth.userId,
        startedAt: ctx.portal.now(),
        clientId: ctx.auth.clientId,
      });
      return id;
    },
  },
];

/** Only RETURN_PROPERTIES keys are taken (case-insensitive), spelled as the robot declares them. */
function pickReturnValues(portal: Portal, run: RobotRunRow, values: unknown): Record<string, unknown> {
  const robot = portal.state.robots.find((r) => r.clientId === run.clientId && r.code === run.code);
  const declared = Object.keys(robot?.returnProperties ?? {});
  const given = isObject(values) ? values : {};
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(given)) {
    const match = declared.find((d) => d.toLowerCase() === key.toLowerCase());
    if (match) out[match] = value;
  }
  return out;
}
