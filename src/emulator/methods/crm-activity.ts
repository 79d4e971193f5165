// crm.activity.todo.* (Crm\Controller\Activity\ToDo), crm.activity.get/list/delete (the legacy activity proxy) and
// crm.timeline.comment.add (docs api-reference/crm/timeline/*).
import { bindArray, bindValue, d7Error } from '../binder.js';
import { crmError } from '../errors.js';
import { matches, parseFilter, sortRecords, type FieldResolver, type ValueType } from '../filter.js';
import { asPhpArray, phpInt, phpString, phpValues, resolveId, resolveParam, type Params } from '../params.js';
import type { Portal } from '../portal.js';
import { legacyPage, type CallContext, type MethodTable } from '../registry.js';
import { CRM_ENTITIES, ENTITY_TYPE_ID, type ActivityRow, type CrmEntity, type CrmOperation } from '../state.js';
import { parseDateTime } from '../time.js';
import { findRecord } from './crm-items.js';

const TODO_TYPE_ID = 6;
const notFound = () => d7Error('NOT_FOUND', 'Element not found');
const COLOR_IDS = ['1', '2', '3', '4', '5', '6', '7'];

const entityOfType = (typeId: number): CrmEntity | undefined => CRM_ENTITIES.find((e) => ENTITY_TYPE_ID[e] === typeId);

/** CCrmOwnerType::ResolveID for the four CRM types: the name or its abbreviation, any case; 0 when unknown. */
const OWNER_ABBREVIATIONS: Record<string, CrmEntity> = { L: 'lead', D: 'deal', C: 'contact', CO: 'company' };
function ownerTypeIdOf(name: string): number {
  const upper = name.trim().toUpperCase();
  const entity = OWNER_ABBREVIATIONS[upper] ?? CRM_ENTITIES.find((e) => e.toUpperCase() === upper);
  return entity ? ENTITY_TYPE_ID[entity] : 0;
}

/** CCrmActivity::Check{Read,Update,Delete}Permission: the rights on the owner decide. */
function ownerAllows(ctx: CallContext, ownerTypeId: number, operation: CrmOperation): boolean {
  const entity = entityOfType(ownerTypeId);
  return !entity || ctx.portal.crmAllowed(ctx.auth.userId, entity, operation);
}
const d7AccessDenied = () => d7Error('ACCESS_DENIED', 'Access denied');

function owner(ctx: CallContext, params: Params): { typeId: number; id: number } {
  const typeId = phpInt(bindValue(params, 'ownerTypeId'));
  const id = phpInt(bindValue(params, 'ownerId'));
  const entity = entityOfType(typeId);
  // ItemIdentifier::createFromArray (crm/lib/itemidentifier.php:82): no valid type or no positive id is NOT_FOUND.
  if (!entity || id <= 0) throw notFound();
  if (!findRecord(ctx.portal, entity, id)) throw d7Error('OWNER_NOT_FOUND', 'Owner was not found');
  return { typeId, id };
}

function deadlineOf(portal: Portal, value: unknown): number {
  const ms = typeof value === 'string' ? parseDateTime(value, portal.timeZone) : undefined;
  if (ms === undefined) throw d7Error('WRONG_DATETIME_FORMAT', 'Incorrect date format');
  return ms;
}

function pingOffsets(value: unknown): number[] {
  return [...new Set(phpValues(value).map((v) => phpInt(v)).filter((n) => n >= 0))].sort((a, b) => a - b);
}

function loadTodo(ctx: CallContext, params: Params): ActivityRow {
  const { typeId, id: ownerId } = owner(ctx, params);
  const id = phpInt(bindValue(params, 'id'));
  const todo = ctx.portal.state.activities.find((a) => a.ID === id && a.OWNER_TYPE_ID === typeId && a.OWNER_ID === ownerId && a.PROVIDER_ID === 'CRM_TODO');
  if (!todo) throw notFound();
  // ToDo::loadEntity, then BaseActivity::save: the owner's update right before the completed check (baseactivity.php:491).
  if (!ownerAllows(ctx, typeId, 'update')) throw d7AccessDenied();
  return todo;
}

function touch(ctx: CallContext, todo: ActivityRow): { id: number } {
  todo.LAST_UPDATED = ctx.portal.now();
  todo.EDITOR_ID = ctx.auth.userId;
  ctx.portal.events.fire('ONCRMACTIVITYUPDATE', { FIELDS: { ID: String(todo.ID) } }, ctx.auth.userId);
  return { id: todo.ID };
}

export function activityOut(portal: Portal, a: ActivityRow): Record<string, unknown> {
  const dt = (ms: number | null) => (ms === null ? '' : portal.datetime(ms));
  return {
    ID: String(a.ID),
    OWNER_ID: String(a.OWNER_ID),
    OWNER_TYPE_ID: String(a.OWNER_TYPE_ID),
    TYPE_ID: String(a.TYPE_ID),
    PROVIDER_ID: a.PROVIDER_ID,
    PROVIDER_TYPE_ID: a.PROVIDER_TYPE_ID,
    PROVIDER_GROUP_ID: null,
    ASSOCIATED_ENTITY_ID: '0',
    SUBJECT: a.SUBJECT,
    CREATED: dt(a.CREATED),
    LAST_UPDATED: dt(a.LAST_UPDATED),
    START_TIME: dt(a.START_TIME),
    END_TIME: dt(a.END_TIME),
    DEADLINE: dt(a.DEADLINE),
    COMPLETED: a.COMPLETED,
    STATUS: String(a.STATUS),
    RESPONSIBLE_ID: String(a.RESPONSIBLE_ID),
    PRIORITY: String(a.PRIORITY),
    NOTIFY_TYPE: '0',
    NOTIFY_VALUE: '0',
    DESCRIPTION: a.DESCRIPTION,
    DESCRIPTION_TYPE: '1',
    DIRECTION: '0',
    LOCATION: '',
    // Ping offsets live in their own table (PingOffset::register, crm_activity.php:584), not in SETTINGS; the colour does.
    SETTINGS: a.COLOR_ID ? { COLOR: a.COLOR_ID } : [],
    ORIGINATOR_ID: null,
    ORIGIN_ID: null,
    AUTHOR_ID: String(a.AUTHOR_ID),
    EDITOR_ID: String(a.EDITOR_ID),
    PROVIDER_PARAMS: [],
    PROVIDER_DATA: null,
    RESULT_MARK: '0',
    RESULT_VALUE: null,
    RESULT_SUM: null,
    RESULT_CURRENCY_ID: null,
    RESULT_STATUS: '0',
    RESULT_STREAM: '0',
    RESULT_SOURCE_ID: null,
    AUTOCOMPLETE_RULE: '0',
  };
}

/**
 * The columns a select asks for: all for an empty select or `*`; otherwise those named, plus ID (the list builder adds
 * it, crm_entity_list_builder.php:230) and PROVIDER_ID / PROVIDER_TYPE_ID with DESCRIPTION (innerGetList).
 */
function selectedColumns(select: string[]): (row: Record<string, unknown>) => Record<string, unknown> {
  if (select.length === 0 || select.includes('*')) return (row) => row;
  const names = new Set([...select, 'ID']);
  if (names.has('DESCRIPTION') && !(names.has('PROVIDER_ID') && names.has('PROVIDER_TYPE_ID'))) names.add('PROVIDER_ID').add('PROVIDER_TYPE_ID');
  return (row) => Object.fromEntries(Object.entries(row).filter(([key]) => names.has(key)));
}

const ACTIVITY_FIELDS: Record<string, ValueType> = {
  ID: 'int', OWNER_ID: 'int', OWNER_TYPE_ID: 'int', TYPE_ID: 'int', PROVIDER_ID: 'string', PROVIDER_TYPE_ID: 'string', SUBJECT: 'string',
  COMPLETED: 'string', STATUS: 'int', RESPONSIBLE_ID: 'int', AUTHOR_ID: 'int', DEADLINE: 'datetime', CREATED: 'datetime', LAST_UPDATED: 'datetime',
  START_TIME: 'datetime', END_TIME: 'datetime', PRIORITY: 'int', DESCRIPTION: 'string',
};
const activityResolver: FieldResolver<ActivityRow> = (field) =>
  ACTIVITY_FIELDS[field] ? { type: ACTIVITY_FIELDS[field], get: (a) => (a as unknown as Record<string, unknown>)[field] ?? null } : undefined;

export const crmActivityMethods: MethodTable = [
  {
    name: 'crm.activity.todo.add',
    scope: 'crm',
    handler: (params, ctx) => {
      const { typeId, id: ownerId } = owner(ctx, params);
      const deadline = deadlineOf(ctx.portal, bindValue(params, 'deadline'));
      // crm/lib/activity/entity/baseactivity.php:491: no right to change the owner, no to-do.
      if (!ownerAllows(ctx, typeId, 'update')) throw d7AccessDenied();
      const now = ctx.portal.now();
      const responsible = phpInt(params.responsibleId) || ctx.auth.userId;
      const parent = phpInt(params.parentActivityId);
      const color = phpString(params.colorId);
      const todo: ActivityRow = {
        ID: ctx.portal.nextId('activity'),
        OWNER_TYPE_ID: typeId,
        OWNER_ID: ownerId,
        TYPE_ID: TODO_TYPE_ID,
        PROVIDER_ID: 'CRM_TODO',
        PROVIDER_TYPE_ID: 'TODO',
        SUBJECT: phpString(params.title),
        DESCRIPTION: phpString(params.description),
        DEADLINE: deadline,
        START_TIME: deadline,
        END_TIME: deadline,
        RESPONSIBLE_ID: responsible,
        AUTHOR_ID: ctx.auth.userId,
        EDITOR_ID: ctx.auth.userId,
        COMPLETED: 'N',
        STATUS: 1,
        PRIORITY: 2,
        CREATED: now,
        LAST_UPDATED: now,
        PING_OFFSETS: pingOffsets(params.pingOffsets),
        COLOR_ID: COLOR_IDS.includes(color) ? color : null,
        // A parent that does not exist is dropped.
        PARENT_ID: parent > 0 && ctx.portal.state.activities.some((a) => a.ID === parent) ? parent : 0,
      };
      ctx.portal.state.activities.push(todo);
      ctx.portal.events.fire('ONCRMACTIVITYADD', { FIELDS: { ID: String(todo.ID) } }, ctx.auth.userId);
      return { id: todo.ID };
    },
  },
  {
    name: 'crm.activity.todo.update',
    scope: 'crm',
    handler: (params, ctx) => {
      const todo = loadTodo(ctx, params);
      if (todo.COMPLETED === 'Y') throw d7Error('CAN_NOT_UPDATE_COMPLETED_TODO', 'Completed activity cannot be modified');
      const deadline = deadlineOf(ctx.portal, bindValue(params, 'deadline'));
      // The controller's defaults apply: title and description not given become empty.
      todo.SUBJECT = phpString(params.title);
      todo.DESCRIPTION = phpString(params.description);
      todo.DEADLINE = todo.START_TIME = todo.END_TIME = deadline;
      if (phpInt(params.responsibleId) > 0) todo.RESPONSIBLE_ID = phpInt(params.responsibleId);
      if (params.pingOffsets !== undefined) todo.PING_OFFSETS = pingOffsets(params.pingOffsets);
      if (params.colorId !== undefined && COLOR_IDS.includes(phpString(params.colorId))) todo.COLOR_ID = phpString(params.colorId);
      return touch(ctx, todo);
    },
  },
  {
    name: 'crm.activity.todo.updateDescription',
    scope: 'crm',
    handler: (params, ctx) => {
      const todo = loadTodo(ctx, params);
      if (todo.COMPLETED === 'Y') throw d7Error('CAN_NOT_UPDATE_COMPLETED_TODO', 'Completed activity cannot be modified');
      todo.DESCRIPTION = phpString(bindValue(params, 'value'));
      return touch(ctx, todo);
    },
  },
  {
    name: 'crm.activity.todo.updateDeadline',
    scope: 'crm',
    handler: (params, ctx) => {
      const todo = loadTodo(ctx, params);
      if (todo.COMPLETED === 'Y') throw d7Error('CAN_NOT_UPDATE_COMPLETED_TODO', 'Completed activity cannot be modified');
      todo.DEADLINE = todo.START_TIME = todo.END_TIME = deadlineOf(ctx.portal, bindValue(params, 'value'));
      return touch(ctx, todo);
    },
  },
  {
    name: 'crm.activity.todo.updateResponsibleUser',
    scope: 'crm',
    handler: (params, ctx) => {
      const todo = loadTodo(ctx, params);
      const responsible = phpInt(bindValue(params, 'responsibleId'));
      if (responsible <= 0) throw d7Error('0', 'Parameter "responsibleId" must be greater than 0');
      todo.RESPONSIBLE_ID = responsible;
      return touch(ctx, todo);
    },
  },
  {
    // CCrmActivityRestProxy::innerGet reads through CCrmActivity::GetList with the caller's rights; a missing or
    // unreadable activity fetches nothing, and get() throws with the (empty) error list: code "" and description ""
    // (crm/classes/general/restservice.php, innerGet and CCrmRestProxyBase::get). The docs name "Activity is not
    // found", a branch the code reaches only when GetList itself fails.
    name: 'crm.activity.get',
    scope: 'crm',
    read: true,
    handler: (params, ctx) => {
      const id = resolveId(params);
      if (id <= 0) throw crmError('ID is not defined or invalid.');
      const activity = ctx.portal.state.activities.find((a) => a.ID === id);
      if (!activity || !ownerAllows(ctx, activity.OWNER_TYPE_ID, 'read')) throw crmError('');
      return activityOut(ctx.portal, activity);
    },
  },
  {
    name: 'crm.activity.list',
    scope: 'crm',
    read: true,
    handler: (params, ctx) => {
      const { portal, start } = ctx;
      const order = asPhpArray(resolveParam(params, 'order') ?? []);
      if (!order) throw crmError("Parameter 'order' must be array.");
      const filter = asPhpArray(resolveParam(params, 'filter') ?? []);
      if (!filter) throw crmError("Parameter 'filter' must be array.");
      const select = asPhpArray(resolveParam(params, 'select') ?? []);
      // The legacy proxy: field names as written, CSqlUtil's rules, CDBResult pages; activities of owners the caller
      // cannot read are left out (GetList's permission SQL); no order means START_TIME ASC (innerGetList).
      const conditions = parseFilter(filter, activityResolver, { exactNames: true, legacySql: true });
      const visible = portal.state.activities.filter((a) => ownerAllows(ctx, a.OWNER_TYPE_ID, 'read') && matches(a, conditions, portal.timeZone));
      const rows = sortRecords(visible, Object.keys(order).length ? order : { START_TIME: 'ASC' }, activityResolver, portal.timeZone);
      const pick = selectedColumns(phpValues(select).map(phpString));
      return legacyPage(rows, start, (a) => pick(activityOut(portal, a)));
    },
  },
  {
    // CCrmActivityRestProxy::innerUpdate + CCrmActivity::Update: a partial update; read-only and immutable fields
    // (owner, type, author, dates of creation) are dropped; COMPLETED sets STATUS (N → waiting, Y → completed).
    name: 'crm.activity.update',
    scope: 'crm',
    handler: (params, ctx) => {
      const fields = asPhpArray(resolveParam(params, 'fields') ?? []);
      if (!fields) throw crmError("Parameter 'fields' must be array.");
      if (!asPhpArray(resolveParam(params, 'params') ?? [])) throw crmError("Parameter 'params' must be array.");
      const id = resolveId(params);
      if (id <= 0) throw crmError('ID is not defined or invalid.');
      const activity = ctx.portal.state.activities.find((a) => a.ID === id);
      if (!activity) throw crmError('Activity is not found.');
      if (!ownerAllows(ctx, activity.OWNER_TYPE_ID, 'update')) throw crmError('Access denied.');
      if ('SUBJECT' in fields) activity.SUBJECT = phpString(fields.SUBJECT);
      if ('DESCRIPTION' in fields) activity.DESCRIPTION = phpString(fields.DESCRIPTION);
      if (phpInt(fields.RESPONSIBLE_ID) > 0) activity.RESPONSIBLE_ID = phpInt(fields.RESPONSIBLE_ID);
      if (fields.PRIORITY !== undefined && fields.PRIORITY !== null) activity.PRIORITY = phpInt(fields.PRIORITY);
      for (const key of ['START_TIME', 'END_TIME'] as const) {
        const ms = fields[key] === undefined ? undefined : parseDateTime(fields[key], ctx.portal.timeZone);
        if (ms !== undefined) activity[key] = ms;
      }
      if (activity.PROVIDER_ID === 'CRM_TODO' && fields.END_TIME !== undefined && activity.END_TIME !== null) activity.DEADLINE = activity.END_TIME;
      if (fields.COMPLETED !== undefined && fields.COMPLETED !== null) {
        let completed = phpString(fields.COMPLETED).toUpperCase();
        if (completed !== 'Y' && completed !== 'N') completed = phpInt(fields.COMPLETED) > 0 ? 'Y' : 'N';
        activity.COMPLETED = completed as 'Y' | 'N';
        activity.STATUS = completed === 'Y' ? 2 : 1;
      }
      activity.LAST_UPDATED = ctx.portal.now();
      activity.EDITOR_ID = ctx.auth.userId;
      ctx.portal.events.fire('ONCRMACTIVITYUPDATE', { FIELDS: { ID: String(id) } }, ctx.auth.userId);
      return true;
    },
  },
  {
    name: 'crm.activity.delete',
    scope: 'crm',
    handler: (params, ctx) => {
      const id = resolveId(params);
      if (id <= 0) throw crmError('ID is not defined or invalid.');
      const activity = ctx.portal.state.activities.find((a) => a.ID === id);
      // CCrmActivityRestProxy::innerDelete: the owner's delete right decides.
      if (!activity) throw crmError('Activity is not found.');
      if (!ownerAllows(ctx, activity.OWNER_TYPE_ID, 'delete')) throw crmError('Access denied.');
      ctx.portal.state.activities = ctx.portal.state.activities.filter((a) => a !== activity);
      ctx.portal.events.fire('ONCRMACTIVITYDELETE', { FIELDS: { ID: String(id) } }, ctx.auth.userId);
      return true;
    },
  },
  {
    // Crm\Controller\Timeline\Comment::addAction (crm/lib/controller/timeline/comment.php): `fields` (the controller's
    // parameter, case as written); the owner by ENTITY_TYPE_ID or by ENTITY_TYPE resolved like CCrmOwnerType::ResolveID
    // (name or abbreviation, any case); the owner's update right; the comment trimmed.
    name: 'crm.timeline.comment.add',
    scope: 'crm',
    handler: (params, ctx) => {
      const fields = bindArray(params, 'fields');
      const entityId = phpInt(fields.ENTITY_ID);
      const typeId = phpInt(fields.ENTITY_TYPE_ID) || ownerTypeIdOf(phpString(fields.ENTITY_TYPE));
      const entity = entityOfType(typeId);
      if (entityId <= 0 || !entity || !findRecord(ctx.portal, entity, entityId)) throw d7Error('OWNER_NOT_FOUND', 'Owner was not found');
      if (!ownerAllows(ctx, typeId, 'update')) throw d7AccessDenied();
      const comment = phpString(fields.COMMENT).trim();
      if (comment === '') throw d7Error('INVALID_ARG_VALUE', 'Empty comment message');
      const id = ctx.portal.nextId('timelineComment');
      ctx.portal.state.timelineComments.push({
        ID: id,
        ENTITY_TYPE: entity,
        ENTITY_ID: entityId,
        COMMENT: comment,
        AUTHOR_ID: ctx.auth.userId,
        CREATED: ctx.portal.now(),
        FILES: Array.isArray(fields.FILES) ? fields.FILES : [],
      });
      ctx.portal.events.fire('ONCRMTIMELINECOMMENTADD', { FIELDS: { ID: String(id) } }, ctx.auth.userId);
      return id;
    },
  },
];
