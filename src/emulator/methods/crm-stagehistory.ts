// crm.stagehistory.list: the stage movement history of leads and deals (docs: api-reference/crm/crm-stage-history-list.md;
// server: crm/lib/controller/stagehistory.php). The portal writes an entry when an item is created (TYPE_ID 1), moves to
// an intermediate stage (2), to a final one (3) or to another pipeline (5) (crm/lib/history/historyentrytype.php).
import { bindArray, bindInt, d7Error } from '../binder.js';
import { matchesGroup, parseOrmFilter, sortRecords, type FieldResolver, type ValueType } from '../filter.js';
import { isObject, phpString } from '../params.js';
import type { Portal } from '../portal.js';
import { d7Page, type MethodTable } from '../registry.js';
import type { CrmEntity, CrmRecord, StageHistoryRow } from '../state.js';
import { parseDateTime } from '../time.js';
import { validateFilter } from './crm-universal.js';

/** HistoryEntryType. */
export const HISTORY_TYPE = { creation: 1, modification: 2, finalization: 3, categoryChange: 5 } as const;

/** Records an entry for a lead or deal that was created (`previous` undefined) or whose stage changed. */
export function recordStageHistory(portal: Portal, entity: CrmEntity, record: CrmRecord, previous: CrmRecord | undefined, now: number): void {
  if (entity !== 'lead' && entity !== 'deal') return;
  const stageField = entity === 'lead' ? 'STATUS_ID' : 'STAGE_ID';
  const semanticField = entity === 'lead' ? 'STATUS_SEMANTIC_ID' : 'STAGE_SEMANTIC_ID';
  const categoryId = entity === 'deal' ? Number(record.CATEGORY_ID ?? 0) : 0;
  const semantic = String(record[semanticField] ?? 'P') || 'P';
  let typeId: number;
  if (!previous) typeId = HISTORY_TYPE.creation;
  else if (entity === 'deal' && Number(previous.CATEGORY_ID ?? 0) !== categoryId) typeId = HISTORY_TYPE.categoryChange;
  else if (previous[stageField] === record[stageField]) return;
  else typeId = semantic === 'S' || semantic === 'F' ? HISTORY_TYPE.finalization : HISTORY_TYPE.modification;
  const rows = (portal.state.stageHistory ??= []);
  rows.push({
    id: portal.nextId('stageHistory'), typeId, ownerTypeId: entity === 'lead' ? 1 : 2, ownerId: record.ID, createdTime: now,
    categoryId, semanticId: semantic, stageId: String(record[stageField] ?? ''),
  });
}

type FieldName = 'ID' | 'TYPE_ID' | 'OWNER_ID' | 'CREATED_TIME' | 'STATUS_SEMANTIC_ID' | 'STATUS_ID' | 'CATEGORY_ID' | 'STAGE_SEMANTIC_ID' | 'STAGE_ID';

const COLUMNS: Record<FieldName, { type: ValueType; get: (r: StageHistoryRow) => unknown }> = {
  ID: { type: 'int', get: (r) => r.id },
  TYPE_ID: { type: 'int', get: (r) => r.typeId },
  OWNER_ID: { type: 'int', get: (r) => r.ownerId },
  CREATED_TIME: { type: 'datetime', get: (r) => r.createdTime },
  STATUS_SEMANTIC_ID: { type: 'string', get: (r) => r.semanticId },
  STATUS_ID: { type: 'string', get: (r) => r.stageId },
  CATEGORY_ID: { type: 'int', get: (r) => r.categoryId },
  STAGE_SEMANTIC_ID: { type: 'string', get: (r) => r.semanticId },
  STAGE_ID: { type: 'string', get: (r) => r.stageId },
};

/** getAllowedFields: the common four, then the lead's STATUS_* or the deal's CATEGORY_ID and STAGE_*. */
function allowedFields(entityTypeId: 1 | 2): FieldName[] {
  const common: FieldName[] = ['ID', 'TYPE_ID', 'OWNER_ID', 'CREATED_TIME'];
  return entityTypeId === 1 ? [...common, 'STATUS_SEMANTIC_ID', 'STATUS_ID'] : [...common, 'CATEGORY_ID', 'STAGE_SEMANTIC_ID', 'STAGE_ID'];
}

/** CREATED_TIME values of the filter must be dates (internalizeFilter → prepareDatetime), at any depth. */
function datesValid(filter: Record<string, unknown>, timeZone: string): boolean {
  return Object.entries(filter).every(([key, value]) => {
    if (isObject(value)) return datesValid(value, timeZone);
    if (Array.isArray(value)) return datesValid(Object.fromEntries(value.map((v, i) => [String(i), v])), timeZone);
    return key.replace(/^[=%><@!]*/, '') !== 'CREATED_TIME' || parseDateTime(value, timeZone) !== undefined;
  });
}

export const crmStageHistoryMethods: MethodTable = [
  {
    name: 'crm.stagehistory.list',
    scope: 'crm',
    read: true,
    handler: (params, ctx) => {
      const { portal } = ctx;
      const entityTypeId = bindInt(params, 'entityTypeId');
      // The emulator holds leads and deals; old invoices (5), new invoices (31) and SPAs have no items on it.
      if (entityTypeId !== 1 && entityTypeId !== 2) throw d7Error('ENTITY_TYPE_NOT_SUPPORTED', `Entity type ${entityTypeId} is not supported`);
      const allowed = allowedFields(entityTypeId);
      const resolve: FieldResolver<StageHistoryRow> = (field) => (allowed.includes(field as FieldName) ? COLUMNS[field as FieldName] : undefined);
      const orderParam = params.order === undefined || params.order === null ? {} : bindArray(params, 'order');
      const filter = params.filter === undefined || params.filter === null ? {} : bindArray(params, 'filter');
      const select = params.select === undefined || params.select === null ? {} : bindArray(params, 'select');
      // prepareOrder: unknown fields are dropped and any direction but DESC is ASC (compatibility, no error).
      const order = Object.fromEntries(Object.entries(orderParam)
        .filter(([field]) => allowed.includes(field as FieldName))
        .map(([field, direction]) => [field, phpString(direction).toUpperCase() === 'DESC' ? 'DESC' : 'ASC']));
      validateFilter(filter, new Set(allowed));
      // An unreadable CREATED_TIME ends the action without an error: the answer's result is null.
      if (!datesValid(filter, portal.timeZone)) return null;
      // prepareSelect: the allowed fields asked for (all when none is), ID always.
      const asked = Object.values(select).map((v) => phpString(v)).filter((f): f is FieldName => allowed.includes(f as FieldName));
      const fields = asked.length ? [...new Set([...asked, 'ID' as const])] : allowed;
      const entity: CrmEntity = entityTypeId === 1 ? 'lead' : 'deal';
      // getListFilteredByPermissions: the entries of items the user may read.
      const readable = portal.crmAllowed(ctx.auth.userId, entity, 'read')
        ? (portal.state.stageHistory ?? []).filter((r) => r.ownerTypeId === entityTypeId)
        : [];
      const tree = parseOrmFilter(filter, resolve);
      const rows = sortRecords(readable.filter((r) => matchesGroup(r, tree, portal.timeZone)), order, resolve, portal.timeZone);
      return d7Page('items', rows, ctx.start, (r) => Object.fromEntries(fields.map((f) => {
        const value = COLUMNS[f].get(r);
        return [f, f === 'CREATED_TIME' ? portal.datetime(value as number) : value];
      })));
    },
  },
];
