// crm.status.* — dictionaries, lead statuses and deal stages (CCrmStatusRestProxy, CCrmStatus, StatusTable; reference
// §3 of the server notes and §4 of the REST notes).
import { coreError, crmError } from '../errors.js';
import { asPhpArray, isObject, phpInt, phpString, resolveId, resolveParam, type Params } from '../params.js';
import type { Portal } from '../portal.js';
import { ListAnswer, type CallContext, type MethodTable } from '../registry.js';
import type { StatusRow } from '../state.js';

const TYPE_NAMES: Record<string, { ru: string; en: string }> = {
  STATUS: { ru: 'Статусы', en: 'Lead statuses' },
  SOURCE: { ru: 'Источники', en: 'Sources' },
  CONTACT_TYPE: { ru: 'Тип контакта', en: 'Contact Type' },
  COMPANY_TYPE: { ru: 'Тип компании', en: 'Company Type' },
  EMPLOYEES: { ru: 'Кол-во сотрудников', en: 'Employees' },
  INDUSTRY: { ru: 'Сфера деятельности', en: 'Industry' },
  DEAL_TYPE: { ru: 'Тип сделки', en: 'Deal Type' },
  DEAL_STAGE: { ru: 'Стадии сделки', en: 'Deal Stage' },
  QUOTE_STATUS: { ru: 'Статусы предложения', en: 'Quote statuses' },
  HONORIFIC: { ru: 'Обращения', en: 'Salutations' },
  CALL_LIST: { ru: 'Статусы обзвона', en: 'Call statuses' },
};

export interface EntityType {
  ID: string;
  NAME: string;
  /** Category of a deal pipeline dictionary (0 for DEAL_STAGE). */
  categoryId?: number;
  prefix: string;
  entityTypeId?: number;
}

/** Deal stage dictionary of a pipeline: DEAL_STAGE for the default one (id 0), DEAL_STAGE_{id} otherwise. */
export const dealStageEntity = (categoryId: number) => (categoryId > 0 ? `DEAL_STAGE_${categoryId}` : 'DEAL_STAGE');

/** DealCategory::convertFromStatusEntityID: the category of a deal stage dictionary, -1 for other dictionaries. */
export function categoryOfEntity(entityId: string): number {
  if (entityId === 'DEAL_STAGE') return 0;
  const m = /^DEAL_STAGE_(\d+)$/.exec(entityId);
  return m ? Number(m[1]) : -1;
}

/** CCrmStatus::GetEntityTypes(): the dictionaries this portal has. */
export function entityTypes(portal: Portal): Map<string, EntityType> {
  const lang = portal.lang;
  const out = new Map<string, EntityType>();
  const add = (t: EntityType) => out.set(t.ID, t);
  for (const id of ['STATUS', 'SOURCE', 'CONTACT_TYPE', 'COMPANY_TYPE', 'EMPLOYEES', 'INDUSTRY', 'DEAL_TYPE']) {
    add({ ID: id, NAME: TYPE_NAMES[id][lang], prefix: '', entityTypeId: id === 'STATUS' ? 1 : undefined });
  }
  add({ ID: 'DEAL_STAGE', NAME: TYPE_NAMES.DEAL_STAGE[lang], prefix: '', categoryId: 0, entityTypeId: 2 });
  for (const c of portal.state.dealCategories) {
    if (c.id === 0) continue;
    add({ ID: dealStageEntity(c.id), NAME: `${TYPE_NAMES.DEAL_STAGE[lang]} (${c.name})`, prefix: `C${c.id}`, categoryId: c.id, entityTypeId: 2 });
  }
  for (const id of ['QUOTE_STATUS', 'HONORIFIC', 'CALL_LIST']) add({ ID: id, NAME: TYPE_NAMES[id][lang], prefix: '' });
  return out;
}

/** The rows of one dictionary in SORT order (then ID). */
export function statusesOf(portal: Portal, entityId: string): StatusRow[] {
  return portal.state.statuses.filter((s) => s.ENTITY_ID === entityId).sort((a, b) => a.SORT - b.SORT || a.ID - b.ID);
}

/** Part after the first ":" (CCrmStatus::removePrefixFromStatusId). */
export const withoutPrefix = (statusId: string) => (statusId.includes(':') ? statusId.slice(statusId.indexOf(':') + 1) : statusId);
export const withPrefix = (statusId: string, prefix: string) => (prefix ? `${prefix}:${withoutPrefix(statusId)}` : withoutPrefix(statusId));

function successSort(portal: Portal, entityId: string): number | undefined {
  return statusesOf(portal, entityId).find((s) => s.SEMANTICS === 'S')?.SORT;
}

/** Sort of the final stage by name (WON / CONVERTED), -1 when it is gone, as CCrmDeal::GetFinalStageSort. */
function finalSortByName(portal: Portal, entityId: string): number {
  const categoryId = categoryOfEntity(entityId);
  const code = entityId === 'STATUS' ? 'CONVERTED' : withPrefix('WON', categoryId > 0 ? `C${categoryId}` : '');
  return statusesOf(portal, entityId).find((s) => s.STATUS_ID === code)?.SORT ?? -1;
}

/** EXTRA.SEMANTICS, worked out by name and sort (CCrmLead::GetStatusSemantics / CCrmDeal::GetStageSemantics). */
export function extraSemantics(portal: Portal, row: StatusRow): string | undefined {
  const categoryId = categoryOfEntity(row.ENTITY_ID);
  if (row.ENTITY_ID === 'STATUS') {
    if (row.STATUS_ID === 'CONVERTED') return 'success';
    if (row.STATUS_ID === 'JUNK') return 'failure';
  } else if (categoryId >= 0) {
    const prefix = categoryId > 0 ? `C${categoryId}` : '';
    if (row.STATUS_ID === withPrefix('WON', prefix)) return 'success';
    if (row.STATUS_ID === withPrefix('LOSE', prefix)) return 'failure';
  } else {
    return undefined;
  }
  return row.SORT > finalSortByName(portal, row.ENTITY_ID) ? 'apology' : 'process';
}

/** STAGE_SEMANTIC_ID / STATUS_SEMANTIC_ID of a record: P, S or F from the stage's semantics. */
export function semanticId(portal: Portal, entityId: string, statusId: string): 'P' | 'S' | 'F' | '' {
  const row = portal.state.statuses.find((s) => s.ENTITY_ID === entityId && s.STATUS_ID === statusId);
  if (!row) return '';
  return row.SEMANTICS ?? 'P';
}

export function statusOut(portal: Portal, row: StatusRow): Record<string, unknown> {
  const out: Record<string, unknown> = {
    ID: String(row.ID),
    ENTITY_ID: row.ENTITY_ID,
    STATUS_ID: row.STATUS_ID,
    NAME: row.NAME,
    NAME_INIT: row.NAME_INIT,
    SORT: String(row.SORT),
    SYSTEM: row.SYSTEM,
    CATEGORY_ID: row.CATEGORY_ID === null ? null : String(row.CATEGORY_ID),
    COLOR: row.COLOR,
    SEMANTICS: row.SEMANTICS,
  };
  const semantics = extraSemantics(portal, row);
  if (semantics !== undefined || row.ENTITY_ID === 'QUOTE_STATUS') out.EXTRA = { SEMANTICS: semantics ?? 'process', COLOR: row.COLOR ?? '' };
  return out;
}

/** Is any CRM record in this status (CCrmStatus::existsEntityWithStatus)? */
export function statusInUse(portal: Portal, row: StatusRow): boolean {
  if (row.ENTITY_ID === 'STATUS') return portal.state.crm.lead.some((l) => l.STATUS_ID === row.STATUS_ID);
  const categoryId = categoryOfEntity(row.ENTITY_ID);
  if (categoryId >= 0) return portal.state.crm.deal.some((d) => d.STAGE_ID === row.STATUS_ID && Number(d.CATEGORY_ID) === categoryId);
  if (row.ENTITY_ID === 'SOURCE') return portal.state.crm.lead.some((l) => l.SOURCE_ID === row.STATUS_ID) || portal.state.crm.deal.some((d) => d.SOURCE_ID === row.STATUS_ID);
  return false;
}

/** validateStatusId: length without the prefix, charset for lead/quote/deal dictionaries, duplicates. */
function validateStatusId(portal: Portal, entityId: string, prefix: string, statusId: string): string | undefined {
  const bare = withoutPrefix(statusId);
  const prefixLength = prefix ? prefix.length + 1 : 0;
  let max = 50 - prefixLength;
  const permissionLength = 30 - prefixLength;
  let charset = false;
  if (entityId === 'STATUS') {
    max = permissionLength - 'STATUS_ID'.length;
    charset = true;
  }
  if (entityId === 'QUOTE_STATUS') {
    max = permissionLength - 'QUOTE_ID'.length;
    charset = true;
  }
  if (categoryOfEntity(entityId) >= 0) {
    max = permissionLength - 'STAGE_ID'.length;
    charset = true;
  }
  if ([...bare].length > max) return `Exceeded maximum length of status ID: ${max}.`;
  if (charset && !/^[0-9A-Z_-]+$/i.test(bare)) return 'Status ID may include Latin characters, numbers, minus and underscore characters only';
  const full = withPrefix(bare, prefix).toUpperCase();
  // CheckStatusId is an SQL `=` under the database's case-insensitive collation: `new` duplicates `NEW`.
  if (portal.state.statuses.some((s) => s.ENTITY_ID === entityId && s.STATUS_ID.toUpperCase() === full)) return 'The specified status ID already exists.';
  return undefined;
}

function canModifySettings(ctx: CallContext): boolean {
  return ctx.portal.isAdmin(ctx.auth.userId);
}

export const SEMANTICS_PROCESS_SORT_ERROR =
  'Cannot create more stages after the final stage because the final successful stage already exists. Try using sort order values less than that of the final stage.';

/** CCrmStatus::Add + StatusTable::onBeforeAdd. Throws a CRM error; returns the new row. */
export function addStatus(portal: Portal, fields: Record<string, unknown>): StatusRow {
  const entityId = phpString(fields.ENTITY_ID);
  const type = entityTypes(portal).get(entityId)!;
  const statusId = phpString(fields.STATUS_ID);
  const problem = validateStatusId(portal, entityId, type.prefix, statusId);
  if (problem) throw coreError(problem);
  let sort = phpInt(fields.SORT);
  if (sort <= 0) sort = 10;
  let color = phpString(fields.COLOR);
  if (color && !color.startsWith('#')) color = `#${color}`;
  const name = phpString(fields.NAME).trim();
  const semanticsGiven = phpString(fields.SEMANTICS) || 'P';
  const success = successSort(portal, entityId);
  let semantics: 'S' | 'F' | null;
  if (semanticsGiven === 'S') {
    if (success !== undefined) throw crmError('Only one success status can exist for any one type');
    semantics = 'S';
  } else if (semanticsGiven === 'F') {
    if (success !== undefined && sort <= success) {
      throw crmError('Cannot create a failure stage before the final successful stage. Try using sort order values greater than that of the final stage.');
    }
    semantics = 'F';
  } else if (semanticsGiven === 'P') {
    if (success !== undefined && sort >= success) throw crmError(SEMANTICS_PROCESS_SORT_ERROR);
    semantics = null;
  } else {
    throw crmError('The stage semantics is not supported.');
  }
  if (name === '') throw crmError('The field Title is required.');
  const categoryId = type.categoryId !== undefined ? type.categoryId : 0;
  const row: StatusRow = {
    ID: portal.nextId('status'),
    ENTITY_ID: entityId,
    STATUS_ID: withPrefix(statusId, type.prefix),
    NAME: name,
    NAME_INIT: '',
    SORT: sort,
    SYSTEM: 'N',
    COLOR: color || null,
    SEMANTICS: semantics,
    CATEGORY_ID: categoryId,
  };
  portal.state.statuses.push(row);
  return row;
}

function fieldsParam(params: Params): Record<string, unknown> {
  const fields = resolveParam(params, 'fields') ?? [];
  const map = asPhpArray(fields);
  if (!map) throw crmError("Parameter 'fields' must be array.");
  return map;
}

const STATUS_FIELDS_INFO: Record<string, [string, string, string]> = {
  // name: [type, flags (R required, O read-only, I immutable), title]
  ID: ['integer', 'O', 'ID'],
  ENTITY_ID: ['string', 'RI', 'Entity ID'],
  STATUS_ID: ['string', 'RI', 'Status'],
  SORT: ['integer', '', 'Sorting'],
  NAME: ['string', 'R', 'Name'],
  NAME_INIT: ['string', 'O', 'Default Name'],
  SYSTEM: ['char', 'O', 'System'],
  CATEGORY_ID: ['integer', 'I', 'CATEGORY_ID'],
  COLOR: ['string', '', 'COLOR'],
  SEMANTICS: ['char', 'I', 'SEMANTICS'],
  EXTRA: ['crm_status_extra', '', 'Additional fields'],
};

export function fieldDescription(type: string, flags: string, title: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    type,
    isRequired: flags.includes('R'),
    isReadOnly: flags.includes('O'),
    isImmutable: flags.includes('I'),
    isMultiple: flags.includes('M'),
    isDynamic: flags.includes('D'),
    title,
    ...extra,
  };
}

export const crmStatusMethods: MethodTable = [
  {
    name: 'crm.status.fields',
    scope: 'crm',
    read: true,
    handler: () => Object.fromEntries(Object.entries(STATUS_FIELDS_INFO).map(([k, [t, f, title]]) => [k, fieldDescription(t, f, title)])),
  },
  {
    name: 'crm.status.list',
    scope: 'crm',
    read: true,
    handler: (params, { portal }) => {
      const order = asPhpArray(resolveParam(params, 'order') ?? []);
      if (!order) throw crmError("Parameter 'order' must be array.");
      const filterParam = asPhpArray(resolveParam(params, 'filter') ?? []);
      if (!filterParam) throw crmError("Parameter 'filter' must be array.");
      // internalizeFilterFields keeps only keys naming a field exactly (`entity_id` is dropped), and CCrmStatus::GetList
      // reads only the plain column names (`=ENTITY_ID` filters nothing).
      const filter: Record<string, unknown> = filterParam;
      for (const key of ['ENTITY_ID', 'STATUS_ID', 'SORT', 'SEMANTICS']) {
        if (Array.isArray(filter[key]) || isObject(filter[key])) throw crmError(`Filter by ${key} must be a string`);
      }
      let rows = portal.state.statuses.filter((s) =>
        ['ID', 'ENTITY_ID', 'STATUS_ID', 'NAME', 'SORT', 'SYSTEM', 'CATEGORY_ID', 'SEMANTICS'].every((key) => {
          const want = filter[key];
          // Empty filter values are ignored (CCrmStatus::GetList).
          if (want === undefined || want === null || want === '') return true;
          const have = (s as unknown as Record<string, unknown>)[key];
          return String(have ?? '') === String(want);
        }),
      );
      const orderEntries = Object.entries(order).length ? Object.entries(order) : [['SORT', 'ASC']];
      rows = [...rows].sort((a, b) => {
        for (const [field, dir] of orderEntries) {
          const key = field.toUpperCase();
          const va = (a as unknown as Record<string, unknown>)[key];
          const vb = (b as unknown as Record<string, unknown>)[key];
          const cmp = typeof va === 'number' && typeof vb === 'number' ? va - vb : String(va ?? '').localeCompare(String(vb ?? ''));
          if (cmp !== 0) return String(dir).toUpperCase() === 'DESC' ? -cmp : cmp;
        }
        return a.ID - b.ID;
      });
      // Not paged: everything, with total.
      return new ListAnswer(rows.map((r) => statusOut(portal, r)), rows.length);
    },
  },
  {
    name: 'crm.status.get',
    scope: 'crm',
    read: true,
    handler: (params, { portal }) => {
      const id = resolveId(params);
      if (id <= 0) throw crmError('ID is not defined or invalid.');
      const row = portal.state.statuses.find((s) => s.ID === id);
      if (!row) throw crmError('CRM Status is not found.');
      return statusOut(portal, row);
    },
  },
  {
    name: 'crm.status.add',
    scope: 'crm',
    handler: (params, ctx) => {
      const fields = fieldsParam(params);
      const methodParams = asPhpArray(resolveParam(params, 'params') ?? []);
      if (!methodParams) throw crmError("Parameter 'params' must be array.");
      if (!canModifySettings(ctx)) throw crmError('Access denied.');
      const entityId = fields.ENTITY_ID === undefined || fields.ENTITY_ID === null ? '' : phpString(fields.ENTITY_ID);
      const statusId = fields.STATUS_ID === undefined || fields.STATUS_ID === null ? '' : phpString(fields.STATUS_ID);
      if (entityId === '' || statusId === '') {
        const errors: string[] = [];
        if (entityId === '') errors.push('The field ENTITY_ID is required.');
        if (statusId === '') errors.push('The field STATUS_ID is required.');
        throw crmError(...errors);
      }
      if (!entityTypes(ctx.portal).has(entityId)) throw crmError('Specified entity type is not supported.');
      const color = fields.COLOR ?? (isObject(fields.EXTRA) ? fields.EXTRA.COLOR : undefined);
      return addStatus(ctx.portal, { ...fields, COLOR: color }).ID;
    },
  },
  {
    name: 'crm.status.update',
    scope: 'crm',
    handler: (params, ctx) => {
      const id = resolveId(params);
      if (id <= 0) throw crmError('ID is not defined or invalid.');
      const fields = fieldsParam(params);
      if (!canModifySettings(ctx)) throw crmError('Access denied.');
      const row = ctx.portal.state.statuses.find((s) => s.ID === id);
      if (!row) throw crmError('Status is not found.');
      // Only NAME, SORT and COLOR take effect; immutable and read-only fields are dropped (internalizeFields).
      const color = fields.COLOR ?? (isObject(fields.EXTRA) ? fields.EXTRA.COLOR : undefined);
      if (fields.NAME !== undefined && fields.NAME !== null) {
        const name = phpString(fields.NAME).trim();
        // An empty NAME fails in the ORM, yet CCrmStatus::Update still reports success (quirk): nothing changes.
        if (name !== '') row.NAME = name;
      }
      if (fields.SORT !== undefined && fields.SORT !== null) {
        const sort = phpInt(fields.SORT);
        row.SORT = sort <= 0 ? 10 : sort;
      }
      if (color !== undefined && color !== null) {
        let c = phpString(color);
        if (c && !c.startsWith('#')) c = `#${c}`;
        row.COLOR = c || null;
      }
      return true;
    },
  },
  {
    name: 'crm.status.delete',
    scope: 'crm',
    handler: (params, ctx) => {
      const id = resolveId(params);
      if (id <= 0) throw crmError('ID is not defined or invalid.');
      const methodParams = asPhpArray(resolveParam(params, 'params') ?? []) ?? {};
      if (!canModifySettings(ctx)) throw crmError('Access denied.');
      const row = ctx.portal.state.statuses.find((s) => s.ID === id);
      if (!row) throw crmError('Status is not found.');
      if (row.SYSTEM === 'Y' && methodParams.FORCED !== 'Y') {
        throw crmError('CRM System Status can be deleted only if parameter FORCED is specified and equal to "Y".');
      }
      if (statusInUse(ctx.portal, row)) throw crmError('There are active items in this status.');
      ctx.portal.state.statuses = ctx.portal.state.statuses.filter((s) => s.ID !== id);
      return true;
    },
  },
  {
    name: 'crm.status.entity.types',
    scope: 'crm',
    read: true,
    handler: (_params, { portal }) =>
      [...entityTypes(portal).values()].map((t) => {
        const out: Record<string, unknown> = { ID: t.ID, NAME: t.NAME };
        if (t.categoryId !== undefined) {
          const prefix = t.prefix;
          if (t.categoryId > 0) out.PARENT_ID = 'DEAL_STAGE';
          out.SEMANTIC_INFO = {
            START_FIELD: withPrefix('NEW', prefix),
            FINAL_SUCCESS_FIELD: withPrefix('WON', prefix),
            FINAL_UNSUCCESS_FIELD: withPrefix('LOSE', prefix),
            FINAL_SORT: 0,
          };
          if (prefix) out.PREFIX = prefix;
          out.FIELD_ATTRIBUTE_SCOPE = t.categoryId > 0 ? `category_${t.categoryId}` : '';
          out.ENTITY_TYPE_ID = 2;
          out.CATEGORY_ID = t.categoryId > 0 ? String(t.categoryId) : 0;
        } else if (t.ID === 'STATUS') {
          out.SEMANTIC_INFO = { START_FIELD: 'NEW', FINAL_SUCCESS_FIELD: 'CONVERTED', FINAL_UNSUCCESS_FIELD: 'JUNK', FINAL_SORT: 0 };
          out.ENTITY_TYPE_ID = 1;
        }
        return out;
      }),
  },
  {
    name: 'crm.status.entity.items',
    scope: 'crm',
    read: true,
    handler: (params, { portal }) => {
      // resolveRelationID: entityId, entityID, entity_id or ENTITY_ID.
      const given = params.entityId ?? params.entityID ?? params.entity_id ?? params.ENTITY_ID ?? '';
      if (given === '') throw crmError('The parameter entityId is not defined or invalid.');
      if (typeof given !== 'string') throw crmError('The parameter entityId must be a string.');
      // getEntityItems: the dictionary upper-cased; one that does not exist is simply empty.
      return statusesOf(portal, given.toUpperCase()).map((s) => ({ NAME: s.NAME, SORT: s.SORT, STATUS_ID: s.STATUS_ID }));
    },
  },
];
