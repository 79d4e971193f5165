// crm.item.{add,update,get,list,delete,fields} for leads (1), deals (2), contacts (3) and companies (4): the D7
// controller Bitrix\Crm\Controller\Item over the type factories (crm/lib/controller/item.php, crm/lib/Service/Factory,
// crm/lib/Service/Operation, crm/lib/Field). camelCase field names, `fm` multifields, user fields as ufCrm… or, with
// useOriginalUfNames=Y, UF_CRM_…; answers {item}, {items} + total/next, {fields}. The records are the ones the legacy
// crm.{lead|deal|contact|company}.* methods use, and the same ONCRM* events fire.
import { isDeepStrictEqual } from 'node:util';
import { bindArray, bindInt, bindString, d7Error } from '../binder.js';
import { FieldCase } from '../field-case.js';
import { matchesGroup, parseOrmFilter, sortRecords, splitOrmKey, type FieldResolver, type ValueType } from '../filter.js';
import { isObject, phpInt, phpString, phpTruthy } from '../params.js';
import type { Portal } from '../portal.js';
import { d7Page, type CallContext, type MethodTable } from '../registry.js';
import { CRM_ENTITIES, ENTITY_TYPE_ID, type CrmEntity, type CrmOperation, type CrmRecord, type MultiFieldValue, type UserFieldRow } from '../state.js';
import { formatDateField, localDateText, parseDateTime } from '../time.js';
import { STANDARD_FIELDS } from './crm-fields.js';
import { ALWAYS_NULL, HAS_MULTIFIELDS, ITEM_FIELDS, MULTIFIELD_ALIASES, MULTIFIELD_TITLES, type ItemFieldMeta } from './crm-item-fields.js';
import { MULTIFIELD_TYPES, baseCurrency, commitUpdate, deleteRecord, findRecord, insertRecord, internalScalar, internalUserField, unknownCurrency, type Actor } from './crm-items.js';
import { dealStageEntity, statusesOf } from './crm-status.js';
import { userFieldsOf } from './crm-userfield.js';

const ENTITY_BY_TYPE_ID = new Map<number, CrmEntity>(CRM_ENTITIES.map((e) => [ENTITY_TYPE_ID[e], e]));

/** Types with a factory on a real portal (CCrmOwnerType::isUseFactoryBasedApproach) that the emulator does not hold. */
const NOT_EMULATED: Record<number, string> = { 7: 'Estimate', 31: 'Invoice', 36: 'Document', 39: 'Signing document' };
const TYPE_DESCRIPTIONS: Record<number, string> = { 5: 'Invoice (old version)', 6: 'Activity', 8: 'Requisite', 9: 'Pipeline', 14: 'Order' };

const isDynamicTypeId = (id: number) => (id >= 128 && id < 192) || (id >= 1030 && id % 2 === 0);

// ---- the action binder (Bitrix\Main\Engine\AutoWire\Binder) ----

/** getFactory(): the four types the emulator holds; SPAs do not exist on it; other types have no factory. */
function entityOf(entityTypeId: number): CrmEntity {
  const entity = ENTITY_BY_TYPE_ID.get(entityTypeId);
  if (entity) return entity;
  if (isDynamicTypeId(entityTypeId)) throw d7Error('NOT_FOUND', 'Smart process not found');
  if (NOT_EMULATED[entityTypeId]) {
    throw d7Error('ENTITY_TYPE_NOT_SUPPORTED', `Entity type ${NOT_EMULATED[entityTypeId]} is not supported by the emulator: it holds leads (1), deals (2), contacts (3) and companies (4)`);
  }
  throw d7Error('ENTITY_TYPE_NOT_SUPPORTED', `Entity type ${TYPE_DESCRIPTIONS[entityTypeId] ?? ''} is not supported`);
}

function checkAccess(ctx: CallContext, entity: CrmEntity, operation: CrmOperation): void {
  if (ctx.portal.crmAllowed(ctx.auth.userId, entity, operation)) return;
  throw d7Error('ACCESS_DENIED', operation === 'read' ? 'You do not have permission to view this item' : 'Access denied');
}

function findItem(portal: Portal, entity: CrmEntity, id: number): CrmRecord {
  const record = findRecord(portal, entity, id);
  if (!record) throw d7Error('NOT_FOUND', 'Element not found');
  return record;
}

// ---- field names ----

interface Naming {
  fieldCase: FieldCase;
  originalUf: boolean;
}

function naming(entity: CrmEntity, useOriginalUfNames: string): Naming {
  // Like Factory::getFieldsInfo + preprocessUpperFieldNames: only the standard names seed the case cache.
  return { fieldCase: new FieldCase(ITEM_FIELDS[entity].map((f) => f.name)), originalUf: useOriginalUfNames === 'Y' };
}

/** One name as Item::convertFieldNamesToUpper converts it; with original UF names, UF_… names stay as given. */
function nameToUpper(n: Naming, key: string, filterPrefix = false): string {
  if (/^\d+$/.test(key)) return key;
  if (n.originalUf && (filterPrefix ? splitOrmKey(key).field : key).startsWith('UF_')) return key;
  return n.fieldCase.toUpper(key);
}

/** Item::convertFieldNamesToUpper: keys to UPPER_CASE, recursively (nested levels without the filter-prefix rule). */
function keysToUpper(data: Record<string, unknown>, n: Naming, filterPrefix = false): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(data)) {
    out[nameToUpper(n, key, filterPrefix)] = isObject(value) ? keysToUpper(value, n) : Array.isArray(value) ? listKeysToUpper(value, n) : value;
  }
  return out;
}

const listKeysToUpper = (list: unknown[], n: Naming): unknown[] =>
  list.map((v) => (isObject(v) ? keysToUpper(v, n) : Array.isArray(v) ? listKeysToUpper(v, n) : v));

/** The name a field has in answers: camelCase, or the original UF_… name with useOriginalUfNames=Y. */
const outName = (n: Naming, upper: string) => (n.originalUf && upper.startsWith('UF_') ? upper : n.fieldCase.toCamel(upper));

// ---- values in (Item controller processFields, Field::isValueEmpty, the ORM's casts) ----

const ID_TYPES = new Set(['integer', 'user', 'crm_company', 'crm_contact', 'crm_lead', 'crm_quote', 'crm_category', 'location', 'employee', 'enumeration']);

/** Field::isValueEmpty: 0 counts as a value for numbers and pipelines, false for booleans, "0" for strings. */
function isValueEmpty(type: string, multiple: boolean, value: unknown): boolean {
  if (multiple && (Array.isArray(value) || isObject(value))) return Object.values(value).every((v) => isValueEmpty(type, false, v));
  if (type === 'crm_category' && (value === 0 || value === '0')) return false;
  if (type === 'boolean' && !phpTruthy(value)) return false;
  if ((type === 'integer' || type === 'double') && (value === 0 || value === '0' || value === '0.0' || value === '0,0')) return false;
  if (type === 'string' && value === '0') return false;
  return !phpTruthy(value);
}

/** prepareBooleanFieldValue: only true, "true", "y" and "Y" are yes — "1" and 1 are no. */
const itemBoolean = (value: unknown) => value === true || value === 'true' || value === 'y' || value === 'Y';

/** Item::set on a multiple field refuses a scalar (an ArgumentException, code 100). */
function requireIterable(value: unknown): unknown[] {
  if (Array.isArray(value)) return value;
  if (isObject(value)) return Object.values(value);
  const type = typeof value === 'number' ? (Number.isInteger(value) ? 'integer' : 'double') : typeof value === 'boolean' ? 'boolean' : 'string';
  throw d7Error('100', `Expected iterable value for multiple field, but got ${type} instead`);
}

const BINDINGS: Partial<Record<CrmEntity, { single: string; multiple: string; column: string }>> = {
  lead: { single: 'CONTACT_ID', multiple: 'CONTACT_IDS', column: 'CONTACT_IDS' },
  deal: { single: 'CONTACT_ID', multiple: 'CONTACT_IDS', column: 'CONTACT_IDS' },
  contact: { single: 'COMPANY_ID', multiple: 'COMPANY_IDS', column: 'COMPANY_IDS' },
};

const idList = (values: unknown[]) => [...new Set(values.map((v) => phpInt(v)).filter((id) => id > 0))];

/** The stored (legacy) form of a standard field's value. */
function storedValue(portal: Portal, entity: CrmEntity, meta: ItemFieldMeta, value: unknown): unknown {
  if (value === null) return meta.multiple ? [] : null;
  if (meta.multiple) return idList(requireIterable(value));
  if (meta.type === 'boolean') return itemBoolean(value) ? 'Y' : 'N';
  if (meta.type === 'date') return localDateText(value as number, portal.timeZone);
  if (meta.type === 'datetime') return value;
  const legacy = STANDARD_FIELDS[entity].find((f) => f.name === meta.column);
  if (legacy && legacy.type !== 'char' && legacy.type !== 'crm_multifield') return internalScalar(legacy.type, value, portal.timeZone);
  if (ID_TYPES.has(meta.type)) return String(phpInt(value));
  if (meta.type === 'double') return internalScalar('double', value, portal.timeZone);
  return typeof value === 'object' ? null : phpString(value);
}

interface Applied {
  /** UPPER names of the fields the request set (for the "only changed" required check). */
  changed: Set<string>;
  /** categoryId given for a contact or company (clients keep no pipeline column here). */
  clientCategory?: number;
}

/** processFields + the field attributes (read-only ignored, immutable kept on update, cannot-be-emptied kept). */
function applyItemFields(portal: Portal, entity: CrmEntity, draft: CrmRecord, fields: Record<string, unknown>, isNew: boolean): Applied {
  const applied: Applied = { changed: new Set<string>() };
  const { changed } = applied;
  const binding = BINDINGS[entity];
  let bindingTouched = false;
  for (const meta of ITEM_FIELDS[entity]) {
    if (!(meta.name in fields) || meta.relation || meta.type === 'file') continue;
    // Field\TaxValue recalculates the tax from the product rows after saving; the emulator holds none, so it stays 0.
    if (meta.name === 'TAX_VALUE') continue;
    let value: unknown = fields[meta.name];
    if (isValueEmpty(meta.type, meta.multiple, value)) value = null;
    else if (meta.type === 'date' || meta.type === 'datetime') {
      // CRestUtil::unConvertDate(Time): what does not parse is not set at all.
      const ms = parseDateTime(value, portal.timeZone);
      if (ms === undefined) continue;
      value = ms;
    }
    if (meta.readOnly || (meta.immutable && !isNew)) continue;
    if (meta.cannotBeEmptied && !isNew && value === null) continue;
    if (meta.multiple && value !== null) requireIterable(value);
    changed.add(meta.name);
    if (binding && meta.name === binding.single) {
      // Binding::set: an id already bound changes nothing; another one replaces all bindings.
      const id = value === null ? 0 : Math.max(phpInt(value), 0);
      const current = (draft[binding.column] as number[] | undefined) ?? [];
      if (!current.includes(id)) draft[binding.column] = id > 0 ? [id] : [];
      bindingTouched = true;
    } else if (meta.name === 'CATEGORY_ID') {
      if (entity === 'deal') draft.CATEGORY_ID = value === null ? null : String(phpInt(value));
      else applied.clientCategory = value === null ? 0 : phpInt(value);
    } else {
      draft[meta.column] = storedValue(portal, entity, meta, value);
      if (binding && meta.name === binding.multiple) bindingTouched = true;
    }
  }
  if (binding && bindingTouched) {
    const list = (draft[binding.column] as number[] | undefined) ?? [];
    draft[binding.single] = list.length ? String(list[0]) : null;
  }
  for (const uf of userFieldsOf(portal, entity)) {
    if (!(uf.FIELD_NAME in fields) || uf.USER_TYPE_ID === 'file') continue;
    const value = fields[uf.FIELD_NAME];
    changed.add(uf.FIELD_NAME);
    const multiple = uf.MULTIPLE === 'Y';
    if (isValueEmpty(uf.USER_TYPE_ID, multiple, value)) {
      draft[uf.FIELD_NAME] = multiple ? [] : null;
      continue;
    }
    if (multiple) requireIterable(value);
    if (uf.USER_TYPE_ID === 'boolean') {
      draft[uf.FIELD_NAME] = multiple ? requireIterable(value).map((v) => (itemBoolean(v) ? 1 : 0)) : itemBoolean(value) ? 1 : 0;
      continue;
    }
    draft[uf.FIELD_NAME] = internalUserField(uf, value, portal.timeZone);
  }
  return applied;
}

// ---- multifields (getFmValues + Multifield\Assembler::updateCollectionByArray) ----

const MULTIFIELD_EXTRA = 'FM_EXTRA';

function multifieldsOf(record: CrmRecord): MultiFieldValue[] {
  const all = [...MULTIFIELD_TYPES, MULTIFIELD_EXTRA].flatMap((key) => ((record[key] as MultiFieldValue[] | undefined) ?? []).map((v) => ({ ...v })));
  return all.sort((a, b) => Number(a.ID) - Number(b.ID));
}

function storeMultifields(record: CrmRecord, values: MultiFieldValue[]): void {
  for (const key of [...MULTIFIELD_TYPES, MULTIFIELD_EXTRA]) delete record[key];
  for (const value of values) {
    // Types outside the known five are kept as given (the server does not check them), apart from the columns.
    const key = MULTIFIELD_TYPES.includes(value.TYPE_ID) ? value.TYPE_ID : MULTIFIELD_EXTRA;
    ((record[key] ??= []) as MultiFieldValue[]).push(value);
  }
}

function applyFm(portal: Portal, draft: CrmRecord, fm: unknown): void {
  if (!isObject(fm) && !Array.isArray(fm)) return;
  const entries: [string, unknown][] = Array.isArray(fm) ? fm.map((v, i) => [String(i), v]) : Object.entries(fm);
  // Grouped by type, in the order types first appear; entries without typeId or value are skipped silently.
  const byType = new Map<string, [string, { value: unknown; valueType?: unknown }][]>();
  if (isObject(fm) && fm.typeId !== undefined && fm.typeId !== null && fm.value !== undefined && fm.value !== null) {
    byType.set(phpString(fm.typeId), [['new', { value: fm.value, valueType: fm.valueType }]]);
  }
  for (const [id, raw] of entries) {
    if (!isObject(raw) || raw.typeId === undefined || raw.typeId === null || raw.value === undefined || raw.value === null) continue;
    const type = phpString(raw.typeId);
    if (!byType.has(type)) byType.set(type, []);
    byType.get(type)!.push([id, { value: raw.value, valueType: raw.valueType }]);
  }
  const values = multifieldsOf(draft);
  // New values have no ID until they are saved, so an ID in the request only ever names a stored value.
  const added: MultiFieldValue[] = [];
  for (const [type, list] of byType) {
    for (const [id, given] of list) {
      const text = phpString(given.value);
      const stored = /^\d+$/.test(id) ? values.find((v) => v.ID === String(Number(id))) : undefined;
      if (text === '') {
        if (stored) values.splice(values.indexOf(stored), 1);
        continue;
      }
      if (stored) {
        stored.VALUE = text;
        if (given.valueType !== undefined && given.valueType !== null) stored.VALUE_TYPE = phpString(given.valueType);
      } else {
        const valueType = given.valueType === undefined || given.valueType === null ? '' : phpString(given.valueType);
        added.push({ ID: '', VALUE_TYPE: valueType, VALUE: text, TYPE_ID: type });
      }
    }
  }
  for (const value of added) value.ID = String(portal.nextId('multifield'));
  storeMultifields(draft, [...values, ...added]);
}

const EMAIL = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;

/** MultifieldStorage::validate (CCrmFieldMulti::CheckFields): a value type is required; e-mails must look like one. */
function validateMultifields(record: CrmRecord): void {
  for (const value of multifieldsOf(record)) {
    if (value.VALUE_TYPE === '' || (value.TYPE_ID === 'EMAIL' && !EMAIL.test(value.VALUE))) {
      throw d7Error('CRM_FIELD_ERROR_VALUE_NOT_VALID', `Invalid value for field "${MULTIFIELD_TITLES[value.TYPE_ID] ?? value.TYPE_ID}"`);
    }
  }
}

// ---- pipelines and stages (Field\Category, Field\Stage) ----

function categoryTitle(entity: CrmEntity): string {
  return ITEM_FIELDS[entity].find((f) => f.name === 'CATEGORY_ID')?.title ?? 'Category';
}

function stageField(entity: CrmEntity): 'STATUS_ID' | 'STAGE_ID' | undefined {
  return entity === 'lead' ? 'STATUS_ID' : entity === 'deal' ? 'STAGE_ID' : undefined;
}

function stageDictionary(entity: CrmEntity, record: CrmRecord): string {
  return entity === 'lead' ? 'STATUS' : dealStageEntity(phpInt(record.CATEGORY_ID));
}

/** Field\Stage::pickFirstStageIdInCurrentCategory: the first stage of the pipeline with the wanted stage's semantics. */
function firstStageLike(portal: Portal, entity: CrmEntity, record: CrmRecord, wanted: unknown): string | undefined {
  const dictionaryPrefix = entity === 'lead' ? 'STATUS' : 'DEAL_STAGE';
  const known = portal.state.statuses.find((s) => (s.ENTITY_ID === dictionaryPrefix || s.ENTITY_ID.startsWith(`${dictionaryPrefix}_`)) && s.STATUS_ID === wanted);
  const semantics = known?.SEMANTICS ?? null;
  const stages = statusesOf(portal, stageDictionary(entity, record));
  return stages.find((s) => s.SEMANTICS === semantics || (!s.SEMANTICS && !semantics))?.STATUS_ID;
}

function processCategoryAndStage(portal: Portal, entity: CrmEntity, draft: CrmRecord, before: CrmRecord | null, applied: Applied): void {
  if (entity === 'contact' || entity === 'company') {
    // Clients have only their default category here.
    const category = applied.clientCategory;
    if (category !== undefined && category !== 0) throw d7Error('CRM_FIELD_ERROR_VALUE_NOT_VALID', `Invalid value for field "${categoryTitle(entity)}"`);
    return;
  }
  let categoryChanged = false;
  if (entity === 'deal') {
    if (draft.CATEGORY_ID === null || draft.CATEGORY_ID === undefined) draft.CATEGORY_ID = before ? before.CATEGORY_ID : '0';
    categoryChanged = before ? String(draft.CATEGORY_ID) !== String(before.CATEGORY_ID ?? '0') : draft.CATEGORY_ID !== '0';
    if (categoryChanged && !portal.state.dealCategories.some((c) => c.id === phpInt(draft.CATEGORY_ID))) {
      throw d7Error('CRM_FIELD_ERROR_VALUE_NOT_VALID', `Invalid value for field "${categoryTitle(entity)}"`);
    }
  }
  const field = stageField(entity)!;
  const stages = statusesOf(portal, stageDictionary(entity, draft));
  const valid = (id: unknown) => stages.some((s) => s.STATUS_ID === id);
  if (!before) {
    if (draft[field] === null || draft[field] === undefined) draft[field] = stages[0]?.STATUS_ID;
    else if (!valid(draft[field])) draft[field] = firstStageLike(portal, entity, draft, draft[field]);
    if (!draft[field]) throw d7Error('0', 'Stage in new category is not found');
    return;
  }
  if (valid(draft[field])) return;
  if (!categoryChanged) {
    draft[field] = before[field];
    return;
  }
  draft[field] = firstStageLike(portal, entity, draft, draft[field]);
  if (!draft[field]) throw d7Error('0', 'Stage in new category is not found');
}

// ---- currency (Field\CurrencyId: a code the portal has; crm-item-add.md, CRM_FIELD_ERROR_VALUE_NOT_VALID) ----

function checkCurrency(portal: Portal, entity: CrmEntity, draft: CrmRecord): void {
  if (!unknownCurrency(portal, draft.CURRENCY_ID)) return;
  const title = ITEM_FIELDS[entity].find((f) => f.name === 'CURRENCY_ID')?.title ?? 'Currency';
  throw d7Error('CRM_FIELD_ERROR_VALUE_NOT_VALID', `Invalid value for field "${title}"`);
}

// ---- required user fields ----

function checkRequired(portal: Portal, entity: CrmEntity, draft: CrmRecord, only: Set<string> | null): void {
  if (!portal.config.requiredUserFieldCheck) return;
  for (const uf of userFieldsOf(portal, entity)) {
    if (uf.MANDATORY !== 'Y' || (only && !only.has(uf.FIELD_NAME))) continue;
    const v = draft[uf.FIELD_NAME];
    if (v === null || v === undefined || v === '' || (Array.isArray(v) && v.length === 0)) {
      throw d7Error('CRM_FIELD_ERROR_REQUIRED', `The "${uf.EDIT_FORM_LABEL[portal.lang] || uf.FIELD_NAME}" field is required`);
    }
  }
}

// ---- defaults of a new item (the ORM's default values and the HasDefaultValue fields) ----

function firstStatus(portal: Portal, dictionary: string): string | null {
  return statusesOf(portal, dictionary)[0]?.STATUS_ID ?? null;
}

function applyDefaults(portal: Portal, entity: CrmEntity, record: CrmRecord): void {
  const today = portal.now();
  if (entity !== 'company') record.SOURCE_ID ??= firstStatus(portal, 'SOURCE');
  if (entity === 'deal') {
    record.TYPE_ID ??= firstStatus(portal, 'DEAL_TYPE');
    record.BEGINDATE ??= localDateText(today, portal.timeZone);
    record.CLOSEDATE ??= localDateText(today + 7 * 24 * 3600 * 1000, portal.timeZone);
    record.IS_RECURRING ??= 'N';
  }
  if (entity === 'contact') record.TYPE_ID ??= firstStatus(portal, 'CONTACT_TYPE');
  if (entity === 'company') {
    record.COMPANY_TYPE ??= firstStatus(portal, 'COMPANY_TYPE');
    record.INDUSTRY ??= firstStatus(portal, 'INDUSTRY');
    record.EMPLOYEES ??= firstStatus(portal, 'EMPLOYEES');
    record.CURRENCY_ID ??= baseCurrency(portal);
  }
}

// ---- values out (Converter\Item::toJson in the REST scope) ----

function externalValue(portal: Portal, entity: CrmEntity, meta: ItemFieldMeta, record: CrmRecord): unknown {
  if (meta.name === 'CATEGORY_ID') return entity === 'deal' ? phpInt(record.CATEGORY_ID) : 0;
  const raw = record[meta.column];
  if (meta.multiple) return Array.isArray(raw) ? raw.map((v) => phpInt(v)) : [];
  if (meta.name === 'COMPANY_ID' || meta.name === 'CONTACT_ID') return raw === null || raw === undefined || raw === '' ? 0 : phpInt(raw);
  if (raw === null || raw === undefined) return meta.type === 'boolean' ? 'N' : null;
  if (meta.type === 'datetime') return typeof raw === 'number' ? portal.datetime(raw) : null;
  if (meta.type === 'date') return raw === '' ? null : formatDateField(String(raw), portal.timeZone);
  if (meta.type === 'double') return Number(raw);
  if (ID_TYPES.has(meta.type)) return raw === '' ? null : phpInt(raw);
  return raw;
}

function externalUserField(portal: Portal, uf: UserFieldRow, raw: unknown): unknown {
  const one = (v: unknown): unknown => {
    if (v === null || v === undefined) return null;
    switch (uf.USER_TYPE_ID) {
      case 'integer':
      case 'employee':
      case 'enumeration':
        return phpInt(v);
      case 'double':
        return Number(v);
      case 'boolean':
        return phpInt(v) > 0 ? 'Y' : 'N';
      case 'datetime':
        return typeof v === 'number' ? portal.datetime(v) : null;
      case 'date':
        return formatDateField(String(v), portal.timeZone);
      default:
        return v;
    }
  };
  if (uf.MULTIPLE === 'Y') return Array.isArray(raw) ? raw.map(one) : [];
  return one(raw);
}

interface OutOptions {
  /** camelCase (or original UF) keys to keep; null: everything (select *). */
  keep: Set<string> | null;
  /** The multifield aliases (phone, emailWork, …) selected by get and by list with *. */
  aliases: boolean;
}

function itemOut(portal: Portal, entity: CrmEntity, record: CrmRecord, n: Naming, options: OutOptions): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const meta of ITEM_FIELDS[entity]) {
    if (meta.relation || meta.type === 'file') continue;
    out[n.fieldCase.toCamel(meta.name)] = externalValue(portal, entity, meta, record);
  }
  for (const name of ALWAYS_NULL[entity]) out[name] = null;
  const values = HAS_MULTIFIELDS[entity] ? multifieldsOf(record) : [];
  if (HAS_MULTIFIELDS[entity] && options.aliases) {
    for (const [alias, type, valueType] of MULTIFIELD_ALIASES) {
      out[alias] = values.find((v) => v.TYPE_ID === type && (valueType === '' || v.VALUE_TYPE === valueType))?.VALUE ?? '';
    }
  }
  for (const uf of userFieldsOf(portal, entity)) {
    if (uf.USER_TYPE_ID === 'file') continue;
    out[outName(n, uf.FIELD_NAME)] = externalUserField(portal, uf, record[uf.FIELD_NAME]);
  }
  out.entityTypeId = ENTITY_TYPE_ID[entity];
  if (HAS_MULTIFIELDS[entity]) out.fm = values.map((v) => ({ id: Number(v.ID), valueType: v.VALUE_TYPE, value: v.VALUE, typeId: v.TYPE_ID }));
  if (!options.keep) return out;
  return Object.fromEntries(Object.entries(out).filter(([k]) => options.keep!.has(k)));
}

// ---- list: filter, order, select ----

const valueTypeOf = (type: string): ValueType =>
  ID_TYPES.has(type) ? 'int' : type === 'double' ? 'float' : type === 'datetime' ? 'datetime' : type === 'date' ? 'date' : type === 'boolean' ? 'bool' : 'string';

/** The names a filter or order may use: the item's fields and user fields, and the ORM columns (legacy names). */
function listResolver(portal: Portal, entity: CrmEntity): { resolve: FieldResolver<CrmRecord>; allowed: Set<string> } {
  const byName = new Map<string, { type: ValueType; get: (r: CrmRecord) => unknown }>();
  for (const legacy of STANDARD_FIELDS[entity]) {
    if (legacy.type === 'crm_multifield') continue;
    const type: ValueType = legacy.type === 'char' ? 'bool' : valueTypeOf(legacy.type === 'crm_status' || legacy.type === 'crm_currency' ? 'string' : legacy.type);
    byName.set(legacy.name, { type, get: (r) => r[legacy.name] ?? null });
  }
  for (const meta of ITEM_FIELDS[entity]) {
    const get =
      meta.name === 'CATEGORY_ID' && entity !== 'deal'
        ? () => 0
        : meta.name === 'CONTACTS' || meta.name === 'COMPANIES'
          ? (r: CrmRecord) => r[meta.name === 'CONTACTS' ? (entity === 'company' ? 'CONTACT_ID' : 'CONTACT_IDS') : 'COMPANY_IDS'] ?? []
          : (r: CrmRecord) => r[meta.column] ?? null;
    byName.set(meta.name, { type: valueTypeOf(meta.type), get });
  }
  for (const uf of userFieldsOf(portal, entity)) {
    const type: ValueType = ['integer', 'employee', 'enumeration', 'boolean'].includes(uf.USER_TYPE_ID)
      ? 'int'
      : valueTypeOf(uf.USER_TYPE_ID === 'double' || uf.USER_TYPE_ID === 'datetime' || uf.USER_TYPE_ID === 'date' ? uf.USER_TYPE_ID : 'string');
    byName.set(uf.FIELD_NAME, { type, get: (r) => r[uf.FIELD_NAME] ?? null });
  }
  byName.delete('FM');
  return { resolve: (field) => byName.get(field), allowed: new Set(byName.keys()) };
}

const FILTER_PREFIXES = ['', '=', '%', '>', '<', '@', '!', '!@', '!=', '!%', '><', '>=', '<=', '=%', '%=', '!><', '!=%', '!%='];
const ARRAY_PREFIXES = new Set(['@', '!@', '!=', '=', '']);

/** Validator\Filter: every key a known field with a known prefix (or a numeric sub-filter, or logic); arrays only for IN-like prefixes. */
export function validateFilter(filter: Record<string, unknown>, allowed: Set<string>): void {
  for (const [key, value] of Object.entries(filter)) {
    if (isObject(value) || Array.isArray(value)) validateFilter(isObject(value) ? value : Object.fromEntries(value.map((v, i) => [String(i), v])), allowed);
    const known = key === 'logic' || key === 'LOGIC' || /^\d+$/.test(key) || FILTER_PREFIXES.some((p) => key.startsWith(p) && allowed.has(key.slice(p.length)));
    if (!known) throw d7Error('INVALID_ARG_VALUE', `Invalid filter: field '${key}' is not allowed in filter`);
    const m = /^([=%><@!]*)\w+$/.exec(key);
    const prefix = m && FILTER_PREFIXES.includes(m[1]) ? m[1] : null;
    const scalar = value === null || ['string', 'number', 'boolean'].includes(typeof value);
    if (!scalar && !(prefix !== null && ARRAY_PREFIXES.has(prefix) && (Array.isArray(value) || isObject(value)))) {
      throw d7Error('INVALID_ARG_VALUE', `Invalid filter: field '${key}' has invalid value`);
    }
  }
}

function validateOrder(order: Record<string, unknown>, allowed: Set<string>): void {
  for (const [field, direction] of Object.entries(order)) {
    if (!allowed.has(field)) throw d7Error('INVALID_ARG_VALUE', `Invalid order: field '${field}' is not allowed in order`);
    if (direction !== 'ASC' && direction !== 'DESC') {
      throw d7Error('INVALID_ARG_VALUE', `Invalid order: allowed sort directions are ASC, DESC. But got '${phpString(direction)}' for field '${field}'`);
    }
  }
}

/** prepareSelect: * (everything, with the multifield aliases), UF_* (all user fields), else known fields only. */
function selectKeys(portal: Portal, entity: CrmEntity, select: Record<string, unknown>, n: Naming): { keep: Set<string> | null; aliases: boolean } {
  const names = Object.values(select).map((v) => nameToUpper(n, phpString(v)));
  if (names.includes('*')) return { keep: null, aliases: true };
  const ufs = userFieldsOf(portal, entity).map((f) => f.FIELD_NAME);
  const wanted = names.map((name) => name.replace(/\./g, ''));
  if (wanted.includes('UF_*')) wanted.push(...ufs);
  // fm comes only with * (docs: crm-item-list.md, select).
  const exists = new Set([...ITEM_FIELDS[entity].filter((f) => f.name !== 'FM').map((f) => f.name), ...ufs]);
  return { keep: new Set(wanted.filter((name) => exists.has(name)).map((name) => outName(n, name))), aliases: false };
}

// ---- the methods ----

function actorOf(ctx: CallContext): Actor {
  return { userId: ctx.auth.userId };
}

function addItem(ctx: CallContext, entity: CrmEntity, given: Record<string, unknown>, n: Naming): CrmRecord {
  const { portal } = ctx;
  checkAccess(ctx, entity, 'add');
  const draft: CrmRecord = { ID: 0 };
  const { fm, ...rest } = given;
  if (fm !== undefined && HAS_MULTIFIELDS[entity]) applyFm(portal, draft, fm);
  const applied = applyItemFields(portal, entity, draft, keysToUpper(rest, n), true);
  processCategoryAndStage(portal, entity, draft, null, applied);
  checkCurrency(portal, entity, draft);
  if (HAS_MULTIFIELDS[entity]) validateMultifields(draft);
  checkRequired(portal, entity, draft, null);
  applyDefaults(portal, entity, draft);
  return insertRecord(portal, entity, draft, actorOf(ctx));
}

function updateItem(ctx: CallContext, entity: CrmEntity, record: CrmRecord, given: Record<string, unknown>, n: Naming): void {
  const { portal } = ctx;
  checkAccess(ctx, entity, 'update');
  const draft: CrmRecord = structuredClone(record);
  const { fm, ...rest } = given;
  if (fm !== undefined && HAS_MULTIFIELDS[entity]) applyFm(portal, draft, fm);
  const applied = applyItemFields(portal, entity, draft, keysToUpper(rest, n), false);
  processCategoryAndStage(portal, entity, draft, record, applied);
  checkCurrency(portal, entity, draft);
  if (HAS_MULTIFIELDS[entity]) validateMultifields(draft);
  const field = stageField(entity);
  // Operation\Update::isCheckRequiredOnlyChanged: everything is checked only when the stage moves inside its pipeline.
  const stageMovedInPipeline = field !== undefined && draft[field] !== record[field] && String(draft.CATEGORY_ID ?? '') === String(record.CATEGORY_ID ?? '');
  checkRequired(portal, entity, draft, stageMovedInPipeline ? null : applied.changed);
  // "If no field values have changed, the save is not performed" (and nothing fires).
  if (isDeepStrictEqual(draft, record)) return;
  commitUpdate(portal, entity, record, draft, actorOf(ctx));
}


export const crmUniversalMethods: MethodTable = [
  {
    name: 'crm.item.fields',
    scope: 'crm',
    read: true,
    handler: (params, ctx) => {
      const entityTypeId = bindInt(params, 'entityTypeId');
      const useOriginalUfNames = bindString(params, 'useOriginalUfNames', 'N');
      const entity = entityOf(entityTypeId);
      const n = naming(entity, useOriginalUfNames);
      checkAccess(ctx, entity, 'read');
      const fields: Record<string, unknown> = {};
      for (const meta of ITEM_FIELDS[entity]) {
        const info: Record<string, unknown> = {
          type: meta.type,
          isRequired: meta.required,
          isReadOnly: meta.readOnly,
          isImmutable: meta.immutable,
          isMultiple: meta.multiple,
          isDynamic: false,
        };
        if (meta.deprecated) info.isDeprecated = true;
        if (meta.type === 'crm_status') info.statusType = meta.statusType ?? '';
        info.title = meta.title;
        const parent = { crm_company: 4, crm_lead: 1, crm_quote: 7 }[meta.type];
        if (parent && !meta.multiple && meta.name !== 'CONTACT_ID') info.settings = { parentEntityTypeId: parent };
        info.upperName = meta.name;
        fields[n.fieldCase.toCamel(meta.name)] = info;
      }
      for (const uf of userFieldsOf(ctx.portal, entity)) {
        const info: Record<string, unknown> = {
          type: uf.USER_TYPE_ID,
          isRequired: uf.MANDATORY === 'Y',
          isReadOnly: false,
          isImmutable: false,
          isMultiple: uf.MULTIPLE === 'Y',
          isDynamic: true,
        };
        if (uf.USER_TYPE_ID === 'enumeration') info.items = [...uf.LIST].sort((a, b) => a.SORT - b.SORT).map((e) => ({ ID: String(e.ID), VALUE: e.VALUE }));
        info.title = uf.FIELD_NAME;
        info.listLabel = uf.LIST_COLUMN_LABEL[ctx.portal.lang] ?? uf.FIELD_NAME;
        info.formLabel = uf.EDIT_FORM_LABEL[ctx.portal.lang] ?? uf.FIELD_NAME;
        info.filterLabel = uf.LIST_FILTER_LABEL[ctx.portal.lang] ?? uf.FIELD_NAME;
        info.settings = uf.SETTINGS;
        info.upperName = uf.FIELD_NAME;
        fields[outName(n, uf.FIELD_NAME)] = info;
      }
      return { fields };
    },
  },
  {
    name: 'crm.item.add',
    scope: 'crm',
    handler: (params, ctx) => {
      const entityTypeId = bindInt(params, 'entityTypeId');
      const fields = bindArray(params, 'fields');
      const useOriginalUfNames = bindString(params, 'useOriginalUfNames', 'N');
      const entity = entityOf(entityTypeId);
      const n = naming(entity, useOriginalUfNames);
      const record = addItem(ctx, entity, fields, n);
      return { item: itemOut(ctx.portal, entity, record, n, { keep: null, aliases: false }) };
    },
  },
  {
    name: 'crm.item.update',
    scope: 'crm',
    handler: (params, ctx) => {
      const entityTypeId = bindInt(params, 'entityTypeId');
      const id = bindInt(params, 'id');
      const fields = bindArray(params, 'fields');
      const useOriginalUfNames = bindString(params, 'useOriginalUfNames', 'N');
      const entity = entityOf(entityTypeId);
      const n = naming(entity, useOriginalUfNames);
      const record = findItem(ctx.portal, entity, id);
      updateItem(ctx, entity, record, fields, n);
      return { item: itemOut(ctx.portal, entity, record, n, { keep: null, aliases: false }) };
    },
  },
  {
    name: 'crm.item.get',
    scope: 'crm',
    read: true,
    handler: (params, ctx) => {
      const id = bindInt(params, 'id');
      const entityTypeId = bindInt(params, 'entityTypeId');
      const useOriginalUfNames = bindString(params, 'useOriginalUfNames', 'N');
      const entity = entityOf(entityTypeId);
      const n = naming(entity, useOriginalUfNames);
      const record = findItem(ctx.portal, entity, id);
      checkAccess(ctx, entity, 'read');
      return { item: itemOut(ctx.portal, entity, record, n, { keep: null, aliases: true }) };
    },
  },
  {
    name: 'crm.item.list',
    scope: 'crm',
    read: true,
    handler: (params, ctx) => {
      const { portal } = ctx;
      const entityTypeId = bindInt(params, 'entityTypeId');
      const select = bindArray(params, 'select', { 0: '*' });
      const orderParam = params.order === undefined || params.order === null ? undefined : bindArray(params, 'order');
      const filterParam = params.filter === undefined || params.filter === null ? {} : bindArray(params, 'filter');
      const useOriginalUfNames = bindString(params, 'useOriginalUfNames', 'N');
      const entity = entityOf(entityTypeId);
      const n = naming(entity, useOriginalUfNames);
      const { resolve, allowed } = listResolver(portal, entity);
      const filter = keysToUpper(filterParam, n, true);
      validateFilter(filter, allowed);
      let order: Record<string, unknown> = {};
      if (orderParam) {
        order = Object.fromEntries(Object.entries(keysToUpper(orderParam, n)).map(([k, v]) => [k, typeof v === 'string' ? v.toUpperCase() : v]));
        validateOrder(order, allowed);
      }
      const tree = parseOrmFilter(filter, resolve);
      // Items the user may not read are left out of the selection.
      const readable = portal.crmAllowed(ctx.auth.userId, entity, 'read') ? portal.state.crm[entity] : [];
      const rows = sortRecords(
        readable.filter((r) => matchesGroup(r, tree, portal.timeZone)),
        order,
        resolve,
        portal.timeZone,
      );
      const shape = selectKeys(portal, entity, select, n);
      return d7Page('items', rows, ctx.start, (r) => itemOut(portal, entity, r, n, shape));
    },
  },
  {
    name: 'crm.item.delete',
    scope: 'crm',
    handler: (params, ctx) => {
      const entityTypeId = bindInt(params, 'entityTypeId');
      const id = bindInt(params, 'id');
      const entity = entityOf(entityTypeId);
      const record = findItem(ctx.portal, entity, id);
      checkAccess(ctx, entity, 'delete');
      deleteRecord(ctx.portal, entity, record, actorOf(ctx));
      return [];
    },
  },
];
