// tasks.task.add / get / list / update / complete / delete (docs api-reference/tasks/*): UPPER_CASE fields in,
// camelCase task objects out; UF_CRM_TASK binds a task to CRM items ("L_4", "D_10", "C_7", "CO_5").
import { bindArray, missingParameter } from '../binder.js';
import { RestError } from '../errors.js';
import { matches, parseFilter, sortRecords, type FieldResolver, type ValueType } from '../filter.js';
import { asPhpArray, phpInt, phpString, phpValues, type Params } from '../params.js';
import type { Portal } from '../portal.js';
import { d7Page, type CallContext, type MethodTable } from '../registry.js';
import type { TaskRow } from '../state.js';
import { parseDateTime } from '../time.js';

const STATUS_PENDING = 2;
const STATUS_COMPLETED = 5;
const coreError = (message: string) => new RestError('ERROR_CORE', message, 400);

const toCamel = (name: string) => name.toLowerCase().replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());

const LIST_FIELDS = ['AUDITORS', 'ACCOMPLICES', 'UF_CRM_TASK', 'TAGS'];

/**
 * The fields as the client sent them, lists as string arrays; dates are parsed when read. Names count only as written
 * in upper case (CTasks reads $arFields['TITLE']; the controller passes keys unchanged, Controllers\Base::filterFields).
 */
function normalizeFields(input: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(input)) {
    if (LIST_FIELDS.includes(key)) out[key] = phpValues(value, true).map(phpString);
    else out[key] = value;
  }
  return out;
}

const dateOf = (portal: Portal, value: unknown): number | null =>
  typeof value === 'number' ? value : value === '' || value == null ? null : (parseDateTime(value, portal.timeZone) ?? null);

function taskOut(portal: Portal, task: TaskRow, select?: Set<string>): Record<string, unknown> {
  const f = task.fields;
  const date = (v: unknown) => {
    const ms = dateOf(portal, v);
    return ms === null ? null : portal.datetime(ms);
  };
  const id = (v: unknown) => (v === undefined || v === null || v === '' ? null : String(phpInt(v)));
  const out: Record<string, unknown> = {
    id: String(task.id),
    parentId: id(f.PARENT_ID),
    title: phpString(f.TITLE),
    description: phpString(f.DESCRIPTION),
    priority: String(f.PRIORITY ?? 1),
    status: String(f.STATUS ?? STATUS_PENDING),
    createdBy: String(task.createdBy),
    createdDate: portal.datetime(task.createdAt),
    responsibleId: String(phpInt(f.RESPONSIBLE_ID)),
    changedBy: String(phpInt(f.CHANGED_BY ?? task.createdBy)),
    changedDate: portal.datetime(task.changedAt),
    closedBy: id(f.CLOSED_BY),
    closedDate: date(f.CLOSED_DATE),
    deadline: date(f.DEADLINE),
    startDatePlan: date(f.START_DATE_PLAN),
    endDatePlan: date(f.END_DATE_PLAN),
    groupId: String(phpInt(f.GROUP_ID)),
    auditors: (f.AUDITORS as string[] | undefined) ?? [],
    accomplices: (f.ACCOMPLICES as string[] | undefined) ?? [],
  };
  // UF_CRM_TASK (and other user fields) only when selected, as ufCrmTask.
  for (const key of Object.keys(f)) {
    if (key.startsWith('UF_') && (select?.has(key) || select?.has('UF_*'))) out[toCamel(key)] = f[key];
  }
  if (select && !select.has('*') && select.size > 0) {
    const wanted = new Set([...select].map(toCamel));
    wanted.add('id');
    for (const key of Object.keys(out)) if (!wanted.has(key) && !key.startsWith('uf')) delete out[key];
  }
  return out;
}

function selectOf(params: Params): Set<string> | undefined {
  const select = params.select;
  return new Set(phpValues(select).map((s) => phpString(s).toUpperCase()));
}

function validate(portal: Portal, fields: Record<string, unknown>, creating: boolean): void {
  if ((creating || fields.TITLE !== undefined) && phpString(fields.TITLE).trim() === '') throw coreError('Task title not specified');
  if (creating || fields.RESPONSIBLE_ID !== undefined) {
    const responsible = phpInt(fields.RESPONSIBLE_ID);
    if (responsible <= 0) throw coreError('Responsible person not specified');
    if (!portal.user(responsible)) throw coreError('User specified in the "Responsible" field not found');
  }
  if (fields.STATUS !== undefined && ![1, 2, 3, 4, 5, 6, 7].includes(phpInt(fields.STATUS))) throw coreError('Incorrect status');
  if (fields.PARENT_ID !== undefined && phpInt(fields.PARENT_ID) > 0 && !portal.state.tasks.some((t) => t.id === phpInt(fields.PARENT_ID))) {
    throw coreError('Task specified in the "Parent Task" field not found');
  }
}

function findTask(ctx: CallContext, params: Params): TaskRow {
  // The controller's auto-wired CTaskItem: `taskId`, or the primary `id` (main/lib/engine/autowire; names as written).
  if (params.taskId === undefined && params.id === undefined) throw missingParameter('taskId');
  const id = phpInt(params.taskId ?? params.id);
  const task = ctx.portal.state.tasks.find((t) => t.id === id);
  if (!task) throw coreError('Task not found or not accessible');
  return task;
}

const TASK_FILTER: Record<string, ValueType> = { ID: 'int', TITLE: 'string', RESPONSIBLE_ID: 'int', CREATED_BY: 'int', STATUS: 'int', GROUP_ID: 'int', PRIORITY: 'int', DEADLINE: 'datetime', CREATED_DATE: 'datetime', CHANGED_DATE: 'datetime', UF_CRM_TASK: 'string', PARENT_ID: 'int' };
const taskResolver = (portal: Portal): FieldResolver<TaskRow> => (field) => {
  const type = TASK_FILTER[field];
  if (!type) return undefined;
  return {
    type,
    get: (t) => (field === 'ID' ? t.id : field === 'CREATED_BY' ? t.createdBy : field === 'CREATED_DATE' ? t.createdAt : field === 'CHANGED_DATE' ? t.changedAt : field === 'STATUS' ? (t.fields.STATUS ?? STATUS_PENDING) : field === 'DEADLINE' ? dateOf(portal, t.fields.DEADLINE) : t.fields[field] ?? null),
  };
};

/**
 * TaskFilterBuilder: TITLE without an operator is a substring search (whereLike %…%), `!TITLE` its negation; only
 * `=TITLE` compares the whole title.
 */
function titleSearch(filter: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(filter)) {
    const m = /^(!?)(title)$/i.exec(key);
    out[m && typeof value !== 'object' ? `${m[1]}%${m[2]}` : key] = value;
  }
  return out;
}

/** The data of ONTASKADD / ONTASKUPDATE / ONTASKDELETE (CTaskRestService::onEventFilter, tasks/classes/general/restservice.php). */
function fireTaskEvent(ctx: CallContext, event: 'ONTASKADD' | 'ONTASKUPDATE' | 'ONTASKDELETE', id: number): void {
  const ref = { ID: String(id) };
  const data = {
    ONTASKADD: { FIELDS_BEFORE: 'undefined', FIELDS_AFTER: ref, IS_ACCESSIBLE_BEFORE: 'N', IS_ACCESSIBLE_AFTER: 'undefined' },
    ONTASKUPDATE: { FIELDS_BEFORE: ref, FIELDS_AFTER: ref, IS_ACCESSIBLE_BEFORE: 'undefined', IS_ACCESSIBLE_AFTER: 'undefined' },
    ONTASKDELETE: { FIELDS_BEFORE: ref, FIELDS_AFTER: 'undefined', IS_ACCESSIBLE_BEFORE: 'undefined', IS_ACCESSIBLE_AFTER: 'N' },
  }[event];
  ctx.portal.events.fire(event, data, ctx.auth.userId);
}

export const taskMethods: MethodTable = [
  {
    name: 'tasks.task.add',
    scope: 'task',
    handler: (params, ctx) => {
      const raw = bindArray(params, 'fields');
      // "Parameter fields is not passed or is empty" (api-reference/tasks/tasks-task-add.md).
      if (Object.keys(raw).length === 0) throw missingParameter('fields');
      const fields = normalizeFields(raw);
      validate(ctx.portal, fields, true);
      const now = ctx.portal.now();
      const createdBy = phpInt(fields.CREATED_BY) || ctx.auth.userId;
      const task: TaskRow = { id: ctx.portal.nextId('task'), fields: { STATUS: STATUS_PENDING, ...fields }, createdBy, createdAt: now, changedAt: now };
      ctx.portal.state.tasks.push(task);
      fireTaskEvent(ctx, 'ONTASKADD', task.id);
      return { task: taskOut(ctx.portal, task) };
    },
  },
  {
    name: 'tasks.task.update',
    scope: 'task',
    handler: (params, ctx) => {
      const task = findTask(ctx, params);
      const raw = bindArray(params, 'fields');
      const fields = normalizeFields(raw);
      validate(ctx.portal, fields, false);
      Object.assign(task.fields, fields, { CHANGED_BY: ctx.auth.userId });
      if (phpInt(task.fields.STATUS) === STATUS_COMPLETED && !task.fields.CLOSED_DATE) Object.assign(task.fields, { CLOSED_DATE: ctx.portal.datetime(ctx.portal.now()), CLOSED_BY: ctx.auth.userId });
      task.changedAt = ctx.portal.now();
      fireTaskEvent(ctx, 'ONTASKUPDATE', task.id);
      return { task: taskOut(ctx.portal, task) };
    },
  },
  {
    name: 'tasks.task.complete',
    scope: 'task',
    handler: (params, ctx) => {
      const task = findTask(ctx, params);
      Object.assign(task.fields, { STATUS: STATUS_COMPLETED, CLOSED_DATE: ctx.portal.datetime(ctx.portal.now()), CLOSED_BY: ctx.auth.userId, CHANGED_BY: ctx.auth.userId });
      task.changedAt = ctx.portal.now();
      fireTaskEvent(ctx, 'ONTASKUPDATE', task.id);
      return { task: taskOut(ctx.portal, task) };
    },
  },
  {
    name: 'tasks.task.delete',
    scope: 'task',
    handler: (params, ctx) => {
      const task = findTask(ctx, params);
      ctx.portal.state.tasks = ctx.portal.state.tasks.filter((t) => t !== task);
      fireTaskEvent(ctx, 'ONTASKDELETE', task.id);
      return { task: true };
    },
  },
  {
    name: 'tasks.task.get',
    scope: 'task',
    read: true,
    handler: (params, ctx) => ({ task: taskOut(ctx.portal, findTask(ctx, params), selectOf(params)) }),
  },
  {
    name: 'tasks.task.list',
    scope: 'task',
    read: true,
    handler: (params, ctx) => {
      // The action's parameters are bound by name as written (filter, select, order).
      const filter = titleSearch(asPhpArray(params.filter) ?? {});
      const order = asPhpArray(params.order) ?? { ID: 'ASC' };
      const resolve = taskResolver(ctx.portal);
      const conditions = parseFilter(filter, resolve);
      const rows = sortRecords(ctx.portal.state.tasks.filter((t) => matches(t, conditions, ctx.portal.timeZone)), order, resolve, ctx.portal.timeZone);
      const select = selectOf(params);
      return d7Page('tasks', rows, ctx.start, (t) => taskOut(ctx.portal, t, select));
    },
  },
];
