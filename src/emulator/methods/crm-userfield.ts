// crm.{lead|deal|contact|company}.userfield.* (CCrmUserFieldRestProxy → Bitrix\Rest\UserFieldProxy →
// CUserTypeEntity; server notes §5, REST notes §6.1).
import { createHash } from 'node:crypto';
import { RestError, coreError, crmError } from '../errors.js';
import { asPhpArray, isObject, phpInt, phpString, phpValues, resolveId, resolveParam } from '../params.js';
import type { Portal } from '../portal.js';
import { ListAnswer, type CallContext, type MethodTable } from '../registry.js';
import { CRM_ENTITIES, USER_FIELD_ENTITY, randomHex, type CrmEntity, type EnumItemRow, type UserFieldRow } from '../state.js';

/** The languages of a cloud portal; labels are stored for each of them. */
export const PORTAL_LANGUAGES = ['ar', 'br', 'de', 'en', 'fr', 'hi', 'id', 'in', 'it', 'ja', 'kz', 'la', 'ms', 'pl', 'ru', 'sc', 'tc', 'th', 'tr', 'ua', 'vn'];

export const USER_TYPES: Record<string, string> = {
  string: 'String',
  integer: 'Integer',
  double: 'Number',
  boolean: 'Yes/No',
  datetime: 'Date/Time',
  date: 'Date',
  money: 'Money',
  url: 'Link',
  address: 'Address',
  enumeration: 'List',
  file: 'File',
  employee: 'Link to employee',
  crm_status: 'Link to CRM reference',
  iblock_section: 'Link to information block sections',
  iblock_element: 'Link to information block elements',
  crm: 'Link to CRM elements',
};

/** The b_user_field columns CUserTypeEntity::GetList filters on (ENTITY_ID is the proxy's own). */
const FILTER_COLUMNS = ['ID', 'FIELD_NAME', 'USER_TYPE_ID', 'XML_ID', 'SORT', 'MULTIPLE', 'MANDATORY', 'SHOW_FILTER', 'SHOW_IN_LIST', 'EDIT_IN_LIST', 'IS_SEARCHABLE'];

const LABEL_KEYS = ['EDIT_FORM_LABEL', 'LIST_COLUMN_LABEL', 'LIST_FILTER_LABEL', 'ERROR_MESSAGE', 'HELP_MESSAGE'] as const;
const UPDATABLE = ['MANDATORY', 'SHOW_FILTER', 'XML_ID', 'SORT', 'SHOW_IN_LIST', 'EDIT_IN_LIST', 'IS_SEARCHABLE'];

/** prepareLabels: a string applies to every language; a map per language, the default filling the rest. */
function prepareLabels(value: unknown, defaultLabel: string): Record<string, string> {
  let labels: Record<string, unknown> = {};
  let fallback = defaultLabel;
  if (typeof value === 'string' && value !== '') fallback = value;
  else if (isObject(value)) labels = value;
  return Object.fromEntries(PORTAL_LANGUAGES.map((lid) => [lid, typeof labels[lid] === 'string' && labels[lid] !== '' ? (labels[lid] as string) : fallback]));
}

const yn = (v: unknown): 'Y' | 'N' => (phpString(v).toUpperCase() === 'Y' ? 'Y' : 'N');

function effectiveSettings(type: string, settings: Record<string, unknown>): Record<string, unknown> {
  switch (type) {
    case 'string':
      return { DEFAULT_VALUE: settings.DEFAULT_VALUE ?? '', ROWS: phpInt(settings.ROWS) > 0 ? phpInt(settings.ROWS) : 1 };
    case 'integer':
      return { DEFAULT_VALUE: settings.DEFAULT_VALUE ?? '' };
    case 'double':
      return { DEFAULT_VALUE: settings.DEFAULT_VALUE ?? '', PRECISION: settings.PRECISION !== undefined && phpInt(settings.PRECISION) >= 0 ? phpInt(settings.PRECISION) : 2 };
    case 'boolean':
      return { DEFAULT_VALUE: phpInt(settings.DEFAULT_VALUE) > 0 ? 1 : 0, DISPLAY: settings.DISPLAY ? phpString(settings.DISPLAY).toUpperCase() : 'CHECKBOX' };
    case 'date':
    case 'datetime': {
      const dv = isObject(settings.DEFAULT_VALUE) ? settings.DEFAULT_VALUE : settings.DEFAULT_VALUE !== undefined ? { VALUE: settings.DEFAULT_VALUE, TYPE: 'NONE' } : {};
      return { DEFAULT_VALUE: { VALUE: dv.VALUE ?? '', TYPE: dv.TYPE ? phpString(dv.TYPE).toUpperCase() : 'NONE' } };
    }
    case 'enumeration':
      return { DISPLAY: settings.DISPLAY ? phpString(settings.DISPLAY).toUpperCase() : 'LIST', LIST_HEIGHT: phpInt(settings.LIST_HEIGHT) > 0 ? phpInt(settings.LIST_HEIGHT) : 1 };
    case 'iblock_section':
    case 'iblock_element':
      return {
        IBLOCK_TYPE_ID: settings.IBLOCK_TYPE_ID ?? '',
        IBLOCK_ID: phpInt(settings.IBLOCK_ID),
        DEFAULT_VALUE: settings.DEFAULT_VALUE ?? '',
        DISPLAY: settings.DISPLAY ? phpString(settings.DISPLAY).toUpperCase() : 'LIST',
        LIST_HEIGHT: phpInt(settings.LIST_HEIGHT) > 0 ? phpInt(settings.LIST_HEIGHT) : 1,
        ACTIVE_FILTER: yn(settings.ACTIVE_FILTER),
      };
    case 'crm_status':
      return { ENTITY_TYPE: settings.ENTITY_TYPE ?? '' };
    case 'crm':
      return { LEAD: yn(settings.LEAD), CONTACT: yn(settings.CONTACT), COMPANY: yn(settings.COMPANY), DEAL: yn(settings.DEAL) };
    default:
      return {};
  }
}

/** The types UserFieldProxy::add prepares settings for (its switch); the others fall to its default branch. */
const SETTINGS_TYPES = new Set(['string', 'integer', 'double', 'boolean', 'date', 'datetime', 'enumeration', 'iblock_section', 'iblock_element', 'crm_status', 'crm', 'employee']);

interface EnumInput { key: string; id: number; VALUE: string; SORT?: number; DEF?: 'Y' | 'N'; XML_ID?: string; DEL?: boolean }

/** The LIST items of add/update as UserFieldProxy prepares them (new items keyed n0, n1, …). */
function prepareEnumItems(list: unknown, multiple: boolean, forUpdate: boolean): EnumInput[] {
  const items = phpValues(list);
  const out: EnumInput[] = [];
  let counter = 0;
  let defaultKey = '';
  for (const raw of items) {
    if (!isObject(raw)) continue;
    const value = phpString(raw.VALUE).replace(/^[ \t\n\r]+|[ \t\n\r]+$/g, '');
    if (!forUpdate && value === '') continue;
    const id = forUpdate ? phpInt(raw.ID) : 0;
    const key = id > 0 ? String(id) : `n${counter++}`;
    const item: EnumInput = { key, id, VALUE: value };
    const sort = phpInt(raw.SORT);
    if (sort > 0) item.SORT = sort;
    if (typeof raw.XML_ID === 'string' && raw.XML_ID !== '') item.XML_ID = raw.XML_ID;
    if (id > 0 && phpString(raw.DEL).toUpperCase() === 'Y') item.DEL = true;
    if (raw.DEF !== undefined) {
      const isDefault = phpString(raw.DEF).toUpperCase() === 'Y';
      if (multiple) item.DEF = isDefault ? 'Y' : 'N';
      else if (isDefault && defaultKey === '') defaultKey = key;
    }
    out.push(item);
  }
  if (!multiple && defaultKey !== '') for (const item of out) item.DEF = item.key === defaultKey ? 'Y' : 'N';
  return out;
}

/** CUserFieldEnum::SetEnumValues: XML_ID unique per field; new items get md5 XML_IDs; empty VALUE or DEL removes. */
function setEnumValues(portal: Portal, field: UserFieldRow, items: EnumInput[]): void {
  const problems: string[] = [];
  const added = new Set<string>();
  const salt = randomHex(4);
  for (const item of items) {
    if (item.id > 0 || item.DEL || item.VALUE === '') continue;
    if (!item.XML_ID) item.XML_ID = createMd5(salt + item.VALUE);
    if (added.has(item.XML_ID) || field.LIST.some((e) => e.XML_ID === item.XML_ID)) {
      problems.push(`List item with XML_ID=${item.XML_ID} already exists.`);
    } else {
      added.add(item.XML_ID);
    }
  }
  for (const item of items) {
    if (item.id <= 0) continue;
    const existing = field.LIST.find((e) => e.ID === item.id);
    if (!existing || item.VALUE === '' || item.DEL) continue;
    const xml = item.XML_ID ?? existing.XML_ID;
    if (xml !== existing.XML_ID && (added.has(xml) || field.LIST.some((e) => e.XML_ID === xml))) {
      problems.push(`List item with value XML_ID='${xml}' already exists`);
    } else {
      added.add(xml);
    }
  }
  if (problems.length) throw coreError(...problems);
  for (const item of items) {
    if (item.id > 0) {
      const existing = field.LIST.find((e) => e.ID === item.id);
      if (!existing) continue;
      if (item.VALUE === '' || item.DEL) {
        field.LIST = field.LIST.filter((e) => e.ID !== item.id);
        continue;
      }
      existing.VALUE = item.VALUE;
      if (item.SORT !== undefined) existing.SORT = item.SORT;
      if (item.DEF !== undefined) existing.DEF = item.DEF;
      if (item.XML_ID !== undefined) existing.XML_ID = item.XML_ID;
      continue;
    }
    if (item.DEL || item.VALUE === '') continue;
    const row: EnumItemRow = { ID: portal.nextId('userFieldEnum'), SORT: item.SORT ?? 500, VALUE: item.VALUE, DEF: item.DEF === 'Y' ? 'Y' : 'N', XML_ID: item.XML_ID! };
    field.LIST.push(row);
  }
}

const createMd5 = (text: string) => createHash('md5').update(text).digest('hex');

const sortedEnum = (field: UserFieldRow) => [...field.LIST].sort((a, b) => a.SORT - b.SORT || a.ID - b.ID);

function fieldBase(f: UserFieldRow): Record<string, unknown> {
  return {
    ID: String(f.ID),
    ENTITY_ID: f.ENTITY_ID,
    FIELD_NAME: f.FIELD_NAME,
    USER_TYPE_ID: f.USER_TYPE_ID,
    XML_ID: f.XML_ID,
    SORT: String(f.SORT),
    MULTIPLE: f.MULTIPLE,
    MANDATORY: f.MANDATORY,
    SHOW_FILTER: f.SHOW_FILTER,
    SHOW_IN_LIST: f.SHOW_IN_LIST,
    EDIT_IN_LIST: f.EDIT_IN_LIST,
    IS_SEARCHABLE: f.IS_SEARCHABLE,
    SETTINGS: f.SETTINGS,
  };
}

/** userfield.get: labels as maps of every language; LIST without XML_ID. */
function fieldOutGet(f: UserFieldRow): Record<string, unknown> {
  const out = fieldBase(f);
  for (const key of LABEL_KEYS) out[key] = { ...f[key] };
  if (f.USER_TYPE_ID === 'enumeration') out.LIST = sortedEnum(f).map((e) => ({ ID: String(e.ID), SORT: String(e.SORT), VALUE: e.VALUE, DEF: e.DEF }));
  return out;
}

/** userfield.list: labels as strings of the filter's LANG — and none at all without it (no join); LIST with XML_ID. */
function fieldOutList(f: UserFieldRow, lang: string | undefined): Record<string, unknown> {
  const out = fieldBase(f);
  if (lang !== undefined) for (const key of LABEL_KEYS) out[key] = f[key][lang] ?? null;
  if (f.USER_TYPE_ID === 'enumeration') out.LIST = sortedEnum(f).map((e) => ({ ID: String(e.ID), SORT: String(e.SORT), VALUE: e.VALUE, DEF: e.DEF, XML_ID: e.XML_ID }));
  return out;
}

export function userFieldsOf(portal: Portal, entity: CrmEntity): UserFieldRow[] {
  return portal.state.userFields.filter((f) => f.ENTITY_ID === USER_FIELD_ENTITY[entity]).sort((a, b) => a.SORT - b.SORT || a.ID - b.ID);
}

function requireAdmin(ctx: CallContext): void {
  if (!ctx.portal.isAdmin(ctx.auth.userId)) throw crmError('Access denied.');
}

export function addUserField(portal: Portal, entity: CrmEntity, input: Record<string, unknown>): UserFieldRow {
  const defaultLabelGiven = typeof input.LABEL === 'string' ? input.LABEL.trim() : '';
  const errors: string[] = [];
  const userTypeId = phpString(input.USER_TYPE_ID).trim();
  if (userTypeId === '') errors.push("The 'USER_TYPE_ID' field is not found.");
  let fieldName = phpString(input.FIELD_NAME).trim();
  if (fieldName === '') errors.push("The 'FIELD_NAME' field is not found.");
  if (errors.length) throw crmError(...errors);
  fieldName = fieldName.toUpperCase();
  if (!fieldName.startsWith('UF_CRM_')) fieldName = fieldName.startsWith('UF_') ? `UF_CRM_${fieldName.slice(3)}` : `UF_CRM_${fieldName}`;
  const entityId = USER_FIELD_ENTITY[entity];
  const problems: string[] = [];
  if ([...fieldName].length < 4) problems.push('The field name is too short (less than 4 symbols).');
  if ([...fieldName].length > 50) problems.push('Field name is too long (more than 50 characters).');
  if (!/^[0-9A-Z_]+$/.test(fieldName)) problems.push('Field name contains invalid characters. Allowed characters are: A-Z, 0-9 and _.');
  if (!USER_TYPES[userTypeId]) problems.push('Invalid custom type specified.');
  if (problems.length) throw coreError(...problems);
  if (portal.state.userFields.some((f) => f.ENTITY_ID === entityId && f.FIELD_NAME === fieldName)) {
    throw coreError(`The field ${fieldName} for entity ${entityId} already exists.`);
  }
  const defaultLabel = defaultLabelGiven || fieldName;
  let multiple: 'Y' | 'N' = yn(input.MULTIPLE);
  let showFilter = yn(input.SHOW_FILTER) === 'Y' ? 'E' : 'N';
  if (userTypeId === 'boolean') multiple = 'N';
  if (userTypeId === 'employee' && showFilter !== 'N') showFilter = 'I';
  // UserFieldProxy::add: the types without their own settings branch (money, url, address, file) get no filter.
  if (!SETTINGS_TYPES.has(userTypeId)) showFilter = 'N';
  const sort = phpInt(input.SORT);
  const settings = effectiveSettings(userTypeId, isObject(input.SETTINGS) ? input.SETTINGS : {});
  const row: UserFieldRow = {
    ID: portal.nextId('userField'),
    ENTITY_ID: entityId,
    FIELD_NAME: fieldName,
    USER_TYPE_ID: userTypeId,
    XML_ID: typeof input.XML_ID === 'string' && input.XML_ID !== '' ? input.XML_ID : null,
    SORT: sort > 0 ? sort : 100,
    MULTIPLE: multiple,
    MANDATORY: yn(input.MANDATORY),
    SHOW_FILTER: showFilter,
    SHOW_IN_LIST: input.SHOW_IN_LIST === undefined ? 'Y' : yn(input.SHOW_IN_LIST),
    EDIT_IN_LIST: input.EDIT_IN_LIST === undefined ? 'Y' : yn(input.EDIT_IN_LIST),
    IS_SEARCHABLE: yn(input.IS_SEARCHABLE),
    SETTINGS: settings,
    EDIT_FORM_LABEL: prepareLabels(input.EDIT_FORM_LABEL, defaultLabel),
    LIST_COLUMN_LABEL: prepareLabels(input.LIST_COLUMN_LABEL, defaultLabel),
    LIST_FILTER_LABEL: prepareLabels(input.LIST_FILTER_LABEL, defaultLabel),
    ERROR_MESSAGE: prepareLabels(input.ERROR_MESSAGE, defaultLabel),
    HELP_MESSAGE: prepareLabels(input.HELP_MESSAGE, defaultLabel),
    LIST: [],
  };
  // The field is created before its list items: a bad LIST fails the call yet leaves the field (as on the server).
  portal.state.userFields.push(row);
  if (userTypeId === 'enumeration') setEnumValues(portal, row, prepareEnumItems(input.LIST, multiple === 'Y', false));
  return row;
}

function findField(portal: Portal, entity: CrmEntity, id: number): UserFieldRow {
  const row = portal.state.userFields.find((f) => f.ID === id);
  if (!row) throw new RestError('ERROR_NOT_FOUND', `The entity with ID '${id}' is not found.`, 400);
  if (row.ENTITY_ID !== USER_FIELD_ENTITY[entity]) throw crmError('Access denied.');
  return row;
}

function userFieldMethods(entity: CrmEntity): MethodTable {
  const prefix = `crm.${entity}.userfield`;
  return [
    {
      name: `${prefix}.add`,
      scope: 'crm',
      handler: (params, ctx) => {
        requireAdmin(ctx);
        // Fields may come as `fields` or at the top level.
        const fields = asPhpArray(resolveParam(params, 'fields')) ?? params;
        return addUserField(ctx.portal, entity, fields).ID;
      },
    },
    {
      name: `${prefix}.get`,
      scope: 'crm',
      read: true,
      handler: (params, ctx) => {
        const id = resolveId(params);
        if (id <= 0) throw crmError('ID is not defined or invalid.');
        requireAdmin(ctx);
        return fieldOutGet(findField(ctx.portal, entity, id));
      },
    },
    {
      name: `${prefix}.list`,
      scope: 'crm',
      read: true,
      handler: (params, ctx) => {
        const order = asPhpArray(resolveParam(params, 'order') ?? []);
        if (!order) throw crmError("Parameter 'order' must be array.");
        const filter = asPhpArray(resolveParam(params, 'filter') ?? []);
        if (!filter) throw crmError("Parameter 'filter' must be array.");
        requireAdmin(ctx);
        // CUserTypeEntity::GetList: keys upper-cased; array or empty values skipped; only the table's columns filter.
        const conditions = Object.entries(filter)
          .map(([key, want]) => [key.toUpperCase(), want] as const)
          .filter(([, want]) => !isObject(want) && !Array.isArray(want) && phpString(want) !== '');
        const langGiven = conditions.find(([key]) => key === 'LANG')?.[1];
        const lang = langGiven === undefined ? undefined : phpString(langGiven);
        const rows = userFieldsOf(ctx.portal, entity).filter((f) =>
          conditions.every(([key, want]) => {
            if (!FILTER_COLUMNS.includes(key)) return true;
            return String((f as unknown as Record<string, unknown>)[key] ?? '') === phpString(want);
          }),
        );
        const orderEntries = Object.entries(order);
        if (orderEntries.length) {
          rows.sort((a, b) => {
            for (const [field, dir] of orderEntries) {
              const va = (a as unknown as Record<string, unknown>)[field.toUpperCase()];
              const vb = (b as unknown as Record<string, unknown>)[field.toUpperCase()];
              const cmp = typeof va === 'number' && typeof vb === 'number' ? va - vb : String(va ?? '').localeCompare(String(vb ?? ''));
              if (cmp !== 0) return String(dir).toUpperCase() === 'DESC' ? -cmp : cmp;
            }
            return a.ID - b.ID;
          });
        }
        return new ListAnswer(rows.map((f) => fieldOutList(f, lang)), rows.length);
      },
    },
    {
      name: `${prefix}.update`,
      scope: 'crm',
      handler: (params, ctx) => {
        const id = resolveId(params);
        const fields = asPhpArray(resolveParam(params, 'fields') ?? []);
        if (!fields) throw crmError("Parameter 'fields' must be array.");
        if (id <= 0) throw crmError('ID is not defined or invalid.');
        requireAdmin(ctx);
        const row = findField(ctx.portal, entity, id);
        // Labels given are rewritten completely: languages not in the map become ''.
        for (const key of LABEL_KEYS) if (fields[key] !== undefined && fields[key] !== null) row[key] = prepareLabels(fields[key], '');
        for (const key of UPDATABLE) {
          if (fields[key] === undefined || fields[key] === null) continue;
          if (key === 'SORT') row.SORT = phpInt(fields.SORT) > 0 ? phpInt(fields.SORT) : row.SORT;
          else if (key === 'SHOW_FILTER') row.SHOW_FILTER = yn(fields.SHOW_FILTER) === 'Y' ? 'E' : 'N';
          else if (key === 'XML_ID') row.XML_ID = phpString(fields.XML_ID) || null;
          else (row as unknown as Record<string, unknown>)[key] = yn(fields[key]);
        }
        if (isObject(fields.SETTINGS)) {
          const given = fields.SETTINGS;
          const merged = { ...row.SETTINGS };
          for (const [k, v] of Object.entries(effectiveSettings(row.USER_TYPE_ID, given))) if (given[k] !== undefined) merged[k] = v;
          // update clamps a string field's ROWS to 1..50 (add only refuses 0 and less).
          if (row.USER_TYPE_ID === 'string' && given.ROWS !== undefined && given.ROWS !== null) merged.ROWS = Math.min(Math.max(phpInt(given.ROWS), 1), 50);
          row.SETTINGS = merged;
        }
        if (row.USER_TYPE_ID === 'enumeration' && fields.LIST !== undefined) {
          setEnumValues(ctx.portal, row, prepareEnumItems(fields.LIST, row.MULTIPLE === 'Y', true));
        }
        return true;
      },
    },
    {
      name: `${prefix}.delete`,
      scope: 'crm',
      handler: (params, ctx) => {
        const id = resolveId(params);
        if (id <= 0) throw crmError('ID is not defined or invalid.');
        requireAdmin(ctx);
        const row = findField(ctx.portal, entity, id);
        ctx.portal.state.userFields = ctx.portal.state.userFields.filter((f) => f.ID !== id);
        for (const record of ctx.portal.state.crm[entity]) delete record[row.FIELD_NAME];
        return true;
      },
    },
  ];
}

export const crmUserFieldMethods: MethodTable = [
  ...CRM_ENTITIES.flatMap(userFieldMethods),
  {
    name: 'crm.userfield.types',
    scope: 'crm',
    read: true,
    handler: () => Object.entries(USER_TYPES).map(([ID, title]) => ({ ID, title })),
  },
];
