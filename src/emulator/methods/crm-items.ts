// crm.{lead|deal|contact|company}.{fields,add,get,list,update,delete} — the legacy CRM proxies (CCrm*RestProxy over
// CCrmLead/CCrmDeal/...): UPPER_CASE fields, numbers as strings, paged lists with operator-prefixed filters, and the
// ONCRM*ADD/UPDATE/DELETE events.
import { crmError } from '../errors.js';
import { matches, parseFilter, sortRecords, splitKey, type FieldResolver, type ValueType } from '../filter.js';
import { asPhpArray, isObject, phpInt, phpString, phpValues, resolveId, resolveParam } from '../params.js';
import type { Portal } from '../portal.js';
import { legacyPage, type MethodTable } from '../registry.js';
import { CRM_ENTITIES, type CrmEntity, type CrmOperation, type CrmRecord, type MultiFieldValue, type UserFieldRow } from '../state.js';
import { formatDateField, localDateText, parseDateTime } from '../time.js';
import { STANDARD_FIELDS, type FieldMeta } from './crm-fields.js';
import { dealStageEntity, fieldDescription, semanticId, statusesOf } from './crm-status.js';
import { recordStageHistory } from './crm-stagehistory.js';
import { userFieldsOf } from './crm-userfield.js';

export const MULTIFIELD_TYPES = ['PHONE', 'EMAIL', 'WEB', 'IM', 'LINK'];
const ID_TYPES = new Set(['integer', 'user', 'crm_company', 'crm_contact', 'crm_lead', 'crm_quote', 'crm_category', 'location', 'crm_entity']);

const AUTO_TITLE: Record<CrmEntity, { ru: string; en: string }> = {
  lead: { ru: 'Лид #', en: 'Lead #' },
  deal: { ru: 'Сделка #', en: 'Deal #' },
  contact: { ru: 'Контакт #', en: 'Contact #' },
  company: { ru: 'Компания #', en: 'Company #' },
};

const EVENT_NAME: Record<CrmEntity, string> = { lead: 'LEAD', deal: 'DEAL', contact: 'CONTACT', company: 'COMPANY' };

function fieldMeta(entity: CrmEntity, name: string): FieldMeta | undefined {
  return STANDARD_FIELDS[entity].find((f) => f.name === name);
}

const filterType = (type: string): ValueType =>
  ID_TYPES.has(type) ? 'int' : type === 'double' ? 'float' : type === 'datetime' ? 'datetime' : type === 'date' ? 'date' : 'string';

const ufFilterType = (f: UserFieldRow): ValueType =>
  f.USER_TYPE_ID === 'integer' || f.USER_TYPE_ID === 'employee' || f.USER_TYPE_ID === 'enumeration'
    ? 'int'
    : f.USER_TYPE_ID === 'double'
      ? 'float'
      : f.USER_TYPE_ID === 'datetime'
        ? 'datetime'
        : f.USER_TYPE_ID === 'date'
          ? 'date'
          : 'string';

function resolver(portal: Portal, entity: CrmEntity): FieldResolver<CrmRecord> {
  const ufs = new Map(userFieldsOf(portal, entity).map((f) => [f.FIELD_NAME, f]));
  return (field) => {
    if (MULTIFIELD_TYPES.includes(field)) {
      return { type: 'string', get: (r) => ((r[field] as MultiFieldValue[] | undefined) ?? []).map((v) => v.VALUE) };
    }
    const meta = fieldMeta(entity, field);
    if (meta) return { type: filterType(meta.type), get: (r) => r[field] ?? null };
    const uf = ufs.get(field);
    if (uf) return { type: ufFilterType(uf), get: (r) => r[field] ?? null };
    return undefined;
  };
}

/** Types whose LIKE filters the proxy turns into equality ("Prevent filtration by LIKE due to performance considerations"). */
const NO_LIKE_TYPES = new Set(['crm_status', 'crm_company', 'crm_contact']);

/**
 * CCrmRestProxyBase::internalizeFilterFields: a key whose field (after its operator) is not a field of the entity,
 * spelled exactly — `id` is not `ID` — is dropped; LIKE on a dictionary or client link becomes `=`.
 */
function internalizeFilter(portal: Portal, entity: CrmEntity, filter: Record<string, unknown>): Record<string, unknown> {
  const types = new Map<string, string>(STANDARD_FIELDS[entity].map((f) => [f.name, f.type]));
  for (const uf of userFieldsOf(portal, entity)) types.set(uf.FIELD_NAME, uf.USER_TYPE_ID);
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(filter)) {
    const { op, field } = splitKey(key);
    const type = types.get(field);
    if (type === undefined) continue;
    out[NO_LIKE_TYPES.has(type) && (op === 'substr' || op === 'like') ? `=${field}` : key] = value;
  }
  return out;
}

// ---- values in ----

export function internalScalar(type: string, value: unknown, timeZone: string): unknown {
  if (value === null || value === undefined) return null;
  if (ID_TYPES.has(type)) {
    if (value === '' || value === false) return null;
    return String(phpInt(value));
  }
  switch (type) {
    case 'double': {
      const n = Number(value);
      return Number.isFinite(n) ? n.toFixed(2) : '0.00';
    }
    case 'char':
      return phpString(value).toUpperCase() === 'Y' || value === true ? 'Y' : 'N';
    case 'date': {
      const ms = parseDateTime(value, timeZone);
      return ms === undefined ? '' : localDateText(ms, timeZone);
    }
    case 'datetime': {
      const ms = parseDateTime(value, timeZone);
      return ms === undefined ? null : ms;
    }
    default:
      return typeof value === 'object' ? null : phpString(value);
  }
}

export function internalUserField(uf: UserFieldRow, value: unknown, timeZone: string): unknown {
  const one = (v: unknown): unknown => {
    if (v === null || v === undefined || v === '') return null;
    switch (uf.USER_TYPE_ID) {
      case 'boolean':
        return v === true || v === 'Y' || v === 'y' || phpInt(v) > 0 ? 1 : 0;
      case 'date': {
        const ms = parseDateTime(v, timeZone);
        return ms === undefined ? null : localDateText(ms, timeZone);
      }
      case 'datetime':
        return parseDateTime(v, timeZone) ?? null;
      case 'integer':
      case 'employee':
      case 'enumeration':
        return String(phpInt(v));
      default:
        return typeof v === 'object' ? JSON.stringify(v) : phpString(v);
    }
  };
  if (uf.MULTIPLE === 'Y') {
    return phpValues(value, true).map(one).filter((v) => v !== null);
  }
  return one(Array.isArray(value) ? value[0] : value);
}

function applyMultiFields(portal: Portal, record: CrmRecord, type: string, value: unknown): void {
  const current = ((record[type] as MultiFieldValue[] | undefined) ?? []).map((v) => ({ ...v }));
  for (const raw of phpValues(value)) {
    if (!isObject(raw)) continue;
    const id = phpString(raw.ID);
    const existing = id ? current.find((v) => v.ID === id) : undefined;
    if (existing) {
      if (phpString(raw.DELETE).toUpperCase() === 'Y' || phpString(raw.VALUE) === '') {
        current.splice(current.indexOf(existing), 1);
      } else {
        existing.VALUE = phpString(raw.VALUE);
        if (raw.VALUE_TYPE !== undefined) existing.VALUE_TYPE = phpString(raw.VALUE_TYPE);
      }
      continue;
    }
    const text = phpString(raw.VALUE).trim();
    if (text === '') continue;
    current.push({ ID: String(portal.nextId('multifield')), VALUE_TYPE: phpString(raw.VALUE_TYPE) || 'WORK', VALUE: text, TYPE_ID: type });
  }
  if (current.length) record[type] = current;
  else delete record[type];
}

/** CCrmRestProxyBase::internalizeFields: known, writable fields only (names as written, case-sensitive); others dropped. */
function applyFields(portal: Portal, entity: CrmEntity, record: CrmRecord, fields: Record<string, unknown>, mode: 'add' | 'update'): void {
  const ufs = new Map(userFieldsOf(portal, entity).map((f) => [f.FIELD_NAME, f]));
  for (const [key, value] of Object.entries(fields)) {
    if (MULTIFIELD_TYPES.includes(key)) {
      applyMultiFields(portal, record, key, value);
      continue;
    }
    const meta = fieldMeta(entity, key);
    if (meta) {
      if (meta.readOnly || (mode === 'update' && meta.immutable)) continue;
      if (meta.type === 'file' || meta.type === 'crm_multifield') continue;
      if (meta.multiple) {
        record[key] = phpValues(value, true).map((v) => phpInt(v)).filter((n) => n > 0);
        continue;
      }
      record[key] = internalScalar(meta.type, value, portal.timeZone);
      continue;
    }
    const uf = ufs.get(key);
    if (uf) record[key] = internalUserField(uf, value, portal.timeZone);
  }
}

/**
 * Mandatory user fields, checked over REST only when the portal's CRM setting "Check for required custom fields"
 * (rest_enable_req_uf_check, off by default) is on: the proxies then pass DISABLE_REQUIRED_USER_FIELD_CHECK = false.
 */
function checkMandatory(portal: Portal, entity: CrmEntity, record: CrmRecord, fields: Record<string, unknown> | null): void {
  if (!portal.config.requiredUserFieldCheck) return;
  const missing = userFieldsOf(portal, entity).filter((f) => {
    if (f.MANDATORY !== 'Y') return false;
    if (fields && !(f.FIELD_NAME in fields)) return false;
    const v = record[f.FIELD_NAME];
    return v === null || v === undefined || v === '' || (Array.isArray(v) && v.length === 0);
  });
  if (missing.length) throw crmError(...missing.map((f) => `Field "${f.EDIT_FORM_LABEL[portal.lang] || f.FIELD_NAME}" is required.`));
}

// ---- values out ----

// Empty dates and datetimes come back as "" (CRestUtil::ConvertDate / ConvertDateTime, called by
// CCrmRestProxyBase::externalizeFields for every field of those types; crm-lead-get.md shows "DATE_CLOSED": "").
const isDateType = (type: string) => type === 'date' || type === 'datetime';

function externalScalar(portal: Portal, meta: FieldMeta, value: unknown): unknown {
  if (value === undefined || value === null) return isDateType(meta.type) ? '' : null;
  if (meta.type === 'datetime') return typeof value === 'number' ? portal.datetime(value) : '';
  if (meta.type === 'date') return value === '' ? '' : formatDateField(String(value), portal.timeZone);
  return value;
}

function externalUserField(portal: Portal, uf: UserFieldRow, value: unknown): unknown {
  const one = (v: unknown): unknown => {
    if (v === null || v === undefined) return isDateType(uf.USER_TYPE_ID) ? '' : null;
    if (uf.USER_TYPE_ID === 'datetime') return typeof v === 'number' ? portal.datetime(v) : '';
    if (uf.USER_TYPE_ID === 'date') return formatDateField(String(v), portal.timeZone);
    if (uf.USER_TYPE_ID === 'boolean') return String(v);
    return v;
  };
  if (uf.MULTIPLE === 'Y') return Array.isArray(value) ? value.map(one) : [];
  if (uf.USER_TYPE_ID === 'boolean' && (value === null || value === undefined)) return '0';
  return one(value);
}

export interface SelectOptions { standard: boolean; allUf: boolean; names: Set<string> }

function parseSelect(select: unknown): SelectOptions {
  const list = phpValues(select).map(String);
  if (list.length === 0) return { standard: true, allUf: false, names: new Set() };
  const upper = list.map((s) => s.toUpperCase());
  return { standard: upper.includes('*'), allUf: upper.includes('UF_*'), names: new Set(upper) };
}

/** A record as crm.*.get / crm.*.list return it. */
export function recordOut(portal: Portal, entity: CrmEntity, record: CrmRecord, select: SelectOptions | 'all'): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const all = select === 'all';
  // ID always comes back: the list builder adds it to any select without it (CCrmEntityListBuilder::Prepare,
  // crm/classes/general/crm_entity_list_builder.php:230).
  for (const meta of STANDARD_FIELDS[entity]) {
    if (meta.type === 'crm_multifield') continue;
    const wanted = all ? !meta.multiple : (select.standard && !meta.multiple) || select.names.has(meta.name) || meta.name === 'ID';
    if (!wanted) continue;
    if (meta.name === 'ID') out.ID = String(record.ID);
    else if (meta.multiple) out[meta.name] = ((record[meta.name] as number[] | undefined) ?? []).map(String);
    else out[meta.name] = externalScalar(portal, meta, record[meta.name]);
  }
  for (const uf of userFieldsOf(portal, entity)) {
    if (all || select.allUf || select.names.has(uf.FIELD_NAME)) out[uf.FIELD_NAME] = externalUserField(portal, uf, record[uf.FIELD_NAME]);
  }
  for (const type of MULTIFIELD_TYPES) {
    const values = record[type] as MultiFieldValue[] | undefined;
    if (all ? values && values.length : select.names.has(type)) out[type] = (values ?? []).map((v) => ({ ...v }));
  }
  return out;
}

// ---- create / update / delete (also used by the control API) ----

/** The portal's base currency (a Russian portal keeps roubles). */
export const baseCurrency = (portal: Portal) => (portal.lang === 'ru' ? 'RUB' : 'USD');

/**
 * The currencies of a new portal, base first (Currency\CurrencyManager::getInstalledCurrencies,
 * currency/lib/currencymanager.php: the list installed for the portal's language).
 */
export const portalCurrencies = (portal: Portal): readonly string[] => (portal.lang === 'ru' ? ['RUB', 'USD', 'EUR', 'UAH', 'BYN'] : ['USD', 'EUR', 'CNY', 'BRL', 'INR']);

/** A currency code given that the portal does not have (Field\CurrencyId, crm/lib/Field/CurrencyId.php); empty ones are left alone. */
export function unknownCurrency(portal: Portal, value: unknown): boolean {
  return value !== null && value !== undefined && value !== '' && !portalCurrencies(portal).includes(String(value));
}

/** crm.lead|deal.add|update (crm-deal-add.md, crm-deal-update.md: empty code). */
function checkCurrency(portal: Portal, entity: CrmEntity, record: CrmRecord): void {
  if ((entity === 'lead' || entity === 'deal') && unknownCurrency(portal, record.CURRENCY_ID)) throw crmError('Invalid value for the "Currency" field');
}

export interface Actor {
  /** The user on whose behalf the change is made; null for automation, workflows and agents. */
  userId: number | null;
}

function stageContext(entity: CrmEntity, record: CrmRecord): { dictionary: string; field: 'STATUS_ID' | 'STAGE_ID' } | undefined {
  if (entity === 'lead') return { dictionary: 'STATUS', field: 'STATUS_ID' };
  if (entity === 'deal') return { dictionary: dealStageEntity(Number(record.CATEGORY_ID ?? 0)), field: 'STAGE_ID' };
  return undefined;
}

/** Semantic fields that follow the stage: *_SEMANTIC_ID, CLOSED, DATE_CLOSED / CLOSEDATE. */
function syncStage(portal: Portal, entity: CrmEntity, record: CrmRecord, now: number): void {
  const ctx = stageContext(entity, record);
  if (!ctx) return;
  const semantic = semanticId(portal, ctx.dictionary, String(record[ctx.field] ?? ''));
  if (entity === 'lead') {
    record.STATUS_SEMANTIC_ID = semantic;
    record.DATE_CLOSED = semantic === 'S' || semantic === 'F' ? (record.DATE_CLOSED ?? now) : null;
  } else {
    record.STAGE_SEMANTIC_ID = semantic;
    const final = semantic === 'S' || semantic === 'F';
    record.CLOSED = final ? 'Y' : 'N';
    if (final && !record.CLOSEDATE) record.CLOSEDATE = localDateText(now, portal.timeZone);
    const first = statusesOf(portal, ctx.dictionary)[0];
    record.IS_NEW = first && record.STAGE_ID === first.STATUS_ID ? 'Y' : 'N';
  }
}

export function createRecord(portal: Portal, entity: CrmEntity, fields: Record<string, unknown>, actor: Actor): CrmRecord {
  const record: CrmRecord = { ID: 0 };
  applyFields(portal, entity, record, fields, 'add');
  checkCurrency(portal, entity, record);
  checkMandatory(portal, entity, record, null);
  return insertRecord(portal, entity, record, actor);
}

/** Stores a new record (values already in their stored form) with the defaults every add fills, and fires ONCRM*ADD. */
export function insertRecord(portal: Portal, entity: CrmEntity, record: CrmRecord, actor: Actor): CrmRecord {
  const now = portal.now();
  const userId = actor.userId ?? 1;
  record.ID = portal.nextId(`crm.${entity}`);
  if (!record.TITLE && (entity === 'lead' || entity === 'deal' || entity === 'company')) record.TITLE = `${AUTO_TITLE[entity][portal.lang]}${record.ID}`;
  record.ASSIGNED_BY_ID ??= String(userId);
  record.CREATED_BY_ID = String(userId);
  record.MODIFY_BY_ID = String(userId);
  record.DATE_CREATE = now;
  record.DATE_MODIFY = now;
  record.OPENED ??= 'Y';
  record.LAST_ACTIVITY_TIME = now;
  record.LAST_ACTIVITY_BY = String(userId);
  if (entity === 'lead' || entity === 'deal') {
    record.CURRENCY_ID ??= baseCurrency(portal);
    record.OPPORTUNITY ??= '0.00';
    record.IS_MANUAL_OPPORTUNITY ??= 'N';
    record.IS_RETURN_CUSTOMER ??= 'N';
  }
  if (entity === 'lead') {
    const statuses = statusesOf(portal, 'STATUS');
    if (!record.STATUS_ID || !statuses.some((s) => s.STATUS_ID === record.STATUS_ID)) record.STATUS_ID = statuses[0]?.STATUS_ID ?? 'NEW';
  }
  if (entity === 'deal') {
    // CCrmDeal::Add: an unknown pipeline becomes the default one; a stage outside the pipeline becomes its first stage.
    let categoryId = Math.max(phpInt(record.CATEGORY_ID), 0);
    if (categoryId > 0 && !portal.state.dealCategories.some((c) => c.id === categoryId)) categoryId = 0;
    record.CATEGORY_ID = String(categoryId);
    const stages = statusesOf(portal, dealStageEntity(categoryId));
    if (!record.STAGE_ID || !stages.some((s) => s.STATUS_ID === record.STAGE_ID)) record.STAGE_ID = stages[0]?.STATUS_ID ?? '';
    record.IS_RECURRING ??= 'N';
    record.IS_REPEATED_APPROACH ??= 'N';
    record.BEGINDATE ??= localDateText(now, portal.timeZone);
    record.TAX_VALUE ??= '0.00';
    record.PROBABILITY ??= null;
    const contacts = record.CONTACT_IDS as number[] | undefined;
    if (record.CONTACT_ID && !contacts?.length) record.CONTACT_IDS = [phpInt(record.CONTACT_ID)];
    else if (contacts?.length) record.CONTACT_ID = String(contacts[0]);
  }
  if (entity === 'lead' || entity === 'deal') {
    record.MOVED_BY_ID = String(userId);
    record.MOVED_TIME = now;
    syncStage(portal, entity, record, now);
    recordStageHistory(portal, entity, record, undefined, now);
  }
  if (entity === 'contact') record.EXPORT ??= 'Y';
  if (entity === 'company') record.IS_MY_COMPANY ??= 'N';
  record.HAS_PHONE = (record.PHONE as unknown[] | undefined)?.length ? 'Y' : 'N';
  record.HAS_EMAIL = (record.EMAIL as unknown[] | undefined)?.length ? 'Y' : 'N';
  record.HAS_IMOL = 'N';
  portal.state.crm[entity].push(record);
  portal.events.fire(`ONCRM${EVENT_NAME[entity]}ADD`, { FIELDS: { ID: String(record.ID) } }, actor.userId);
  return record;
}

export function findRecord(portal: Portal, entity: CrmEntity, id: number): CrmRecord | undefined {
  return portal.state.crm[entity].find((r) => r.ID === id);
}

export function updateRecord(portal: Portal, entity: CrmEntity, record: CrmRecord, fields: Record<string, unknown>, actor: Actor): void {
  const ctx = stageContext(entity, record);
  const draft: CrmRecord = { ...record };
  applyFields(portal, entity, draft, fields, 'update');
  checkCurrency(portal, entity, draft);
  checkMandatory(portal, entity, draft, fields);
  // A stage that does not exist in the record's pipeline is ignored (CCrmDeal::Update).
  if (ctx && !statusesOf(portal, ctx.dictionary).some((s) => s.STATUS_ID === draft[ctx.field])) draft[ctx.field] = record[ctx.field];
  if (entity === 'deal' && Array.isArray(draft.CONTACT_IDS) && fields.CONTACT_IDS !== undefined) {
    draft.CONTACT_ID = draft.CONTACT_IDS.length ? String(draft.CONTACT_IDS[0]) : null;
  }
  commitUpdate(portal, entity, record, draft, actor);
}

/**
 * Saves the changed copy of a record: who and when, MOVED_* on a stage change, the stage semantics, HAS_PHONE/EMAIL;
 * then the events. A deal moved to another pipeline gets ONCRMDEALMOVETOCATEGORY first (the category field's
 * after-save, crm/lib/Field/Category.php:84-87), then ONCRMDEALUPDATE like any update (the operation's SendEvent,
 * crm/lib/Service/Factory/Deal.php:695); `moveOnly` is the UI's CCrmDeal::MoveToCategory, which sends only the move.
 */
export function commitUpdate(portal: Portal, entity: CrmEntity, record: CrmRecord, draft: CrmRecord, actor: Actor, options: { moveOnly?: boolean } = {}): void {
  const now = portal.now();
  const userId = String(actor.userId ?? 1);
  const ctx = stageContext(entity, draft);
  if (ctx && draft[ctx.field] !== record[ctx.field]) {
    draft.MOVED_BY_ID = userId;
    draft.MOVED_TIME = now;
  }
  draft.MODIFY_BY_ID = userId;
  draft.DATE_MODIFY = now;
  draft.HAS_PHONE = (draft.PHONE as unknown[] | undefined)?.length ? 'Y' : 'N';
  draft.HAS_EMAIL = (draft.EMAIL as unknown[] | undefined)?.length ? 'Y' : 'N';
  syncStage(portal, entity, draft, now);
  const moved = entity === 'deal' && String(draft.CATEGORY_ID ?? '0') !== String(record.CATEGORY_ID ?? '0');
  recordStageHistory(portal, entity, draft, record, now);
  Object.keys(record).forEach((k) => delete record[k]);
  Object.assign(record, draft);
  if (moved) {
    const fields = { ID: String(record.ID), CATEGORY_ID: String(record.CATEGORY_ID), STAGE_ID: String(record.STAGE_ID) };
    portal.events.fire('ONCRMDEALMOVETOCATEGORY', { FIELDS: fields }, actor.userId);
  }
  if (!options.moveOnly) portal.events.fire(`ONCRM${EVENT_NAME[entity]}UPDATE`, { FIELDS: { ID: String(record.ID) } }, actor.userId);
}

export function deleteRecord(portal: Portal, entity: CrmEntity, record: CrmRecord, actor: Actor): void {
  portal.state.crm[entity] = portal.state.crm[entity].filter((r) => r !== record);
  portal.events.fire(`ONCRM${EVENT_NAME[entity]}DELETE`, { FIELDS: { ID: String(record.ID) } }, actor.userId);
}

function fieldsInfo(portal: Portal, entity: CrmEntity): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const meta of STANDARD_FIELDS[entity]) {
    const flags = `${meta.required ? 'R' : ''}${meta.readOnly ? 'O' : ''}${meta.immutable ? 'I' : ''}${meta.multiple ? 'M' : ''}`;
    out[meta.name] = fieldDescription(meta.type, flags, meta.title, meta.statusType ? { statusType: meta.statusType } : {});
  }
  for (const uf of userFieldsOf(portal, entity)) {
    const extra: Record<string, unknown> = {
      listLabel: uf.LIST_COLUMN_LABEL[portal.lang] ?? uf.FIELD_NAME,
      formLabel: uf.EDIT_FORM_LABEL[portal.lang] ?? uf.FIELD_NAME,
      filterLabel: uf.LIST_FILTER_LABEL[portal.lang] ?? uf.FIELD_NAME,
      settings: uf.SETTINGS,
    };
    if (uf.USER_TYPE_ID === 'enumeration') extra.items = [...uf.LIST].sort((a, b) => a.SORT - b.SORT).map((e) => ({ ID: String(e.ID), VALUE: e.VALUE }));
    const flags = `${uf.MANDATORY === 'Y' ? 'R' : ''}${uf.MULTIPLE === 'Y' ? 'M' : ''}D`;
    out[uf.FIELD_NAME] = fieldDescription(uf.USER_TYPE_ID, flags, uf.FIELD_NAME, extra);
  }
  return out;
}

/** The proxies' CheckCreate/Read/Update/DeletePermission: "Access denied." as a CRM error. */
function requireCrm(portal: Portal, userId: number, entity: CrmEntity, operation: CrmOperation): void {
  if (!portal.crmAllowed(userId, entity, operation)) throw crmError('Access denied.');
}

function entityMethods(entity: CrmEntity): MethodTable {
  const prefix = `crm.${entity}`;
  return [
    { name: `${prefix}.fields`, scope: 'crm', read: true, handler: (_p, { portal }) => fieldsInfo(portal, entity) },
    {
      name: `${prefix}.add`,
      scope: 'crm',
      handler: (params, { portal, auth }) => {
        const fields = asPhpArray(resolveParam(params, 'fields') ?? []);
        if (!fields) throw crmError("Parameter 'fields' must be array.");
        if (!asPhpArray(resolveParam(params, 'params') ?? [])) throw crmError("Parameter 'params' must be array.");
        requireCrm(portal, auth.userId, entity, 'add');
        return createRecord(portal, entity, fields, { userId: auth.userId }).ID;
      },
    },
    {
      name: `${prefix}.get`,
      scope: 'crm',
      read: true,
      handler: (params, { portal, auth }) => {
        const id = resolveId(params);
        if (id <= 0) throw crmError('ID is not defined or invalid.');
        requireCrm(portal, auth.userId, entity, 'read');
        const record = findRecord(portal, entity, id);
        if (!record) throw crmError('Not found');
        return recordOut(portal, entity, record, 'all');
      },
    },
    {
      name: `${prefix}.list`,
      scope: 'crm',
      read: true,
      handler: (params, { portal, start, auth }) => {
        const order = asPhpArray(resolveParam(params, 'order') ?? []);
        if (!order) throw crmError("Parameter 'order' must be array.");
        const filter = asPhpArray(resolveParam(params, 'filter') ?? []);
        if (!filter) throw crmError("Parameter 'filter' must be array.");
        const select = parseSelect(resolveParam(params, 'select'));
        const resolve = resolver(portal, entity);
        const conditions = parseFilter(internalizeFilter(portal, entity, filter), resolve, { exactNames: true, legacySql: true });
        const readable = portal.crmAllowed(auth.userId, entity, 'read') ? portal.state.crm[entity] : [];
        const rows = sortRecords(
          readable.filter((r) => matches(r, conditions, portal.timeZone)),
          order,
          resolve,
          portal.timeZone,
        );
        return legacyPage(rows, start, (r) => recordOut(portal, entity, r, select));
      },
    },
    {
      name: `${prefix}.update`,
      scope: 'crm',
      handler: (params, { portal, auth }) => {
        const id = resolveId(params);
        if (id <= 0) throw crmError('ID is not defined or invalid.');
        const fields = asPhpArray(resolveParam(params, 'fields') ?? []);
        if (!fields) throw crmError("Parameter 'fields' must be array.");
        if (!asPhpArray(resolveParam(params, 'params') ?? [])) throw crmError("Parameter 'params' must be array.");
        const record = findRecord(portal, entity, id);
        if (!record) throw crmError('Not found');
        requireCrm(portal, auth.userId, entity, 'update');
        updateRecord(portal, entity, record, fields, { userId: auth.userId });
        return true;
      },
    },
    {
      name: `${prefix}.delete`,
      scope: 'crm',
      handler: (params, { portal, auth }) => {
        const id = resolveId(params);
        if (id <= 0) throw crmError('ID is not defined or invalid.');
        const record = findRecord(portal, entity, id);
        if (!record) throw crmError('Not found');
        requireCrm(portal, auth.userId, entity, 'delete');
        deleteRecord(portal, entity, record, { userId: auth.userId });
        return true;
      },
    },
  ];
}

export const crmItemMethods: MethodTable = CRM_ENTITIES.flatMap(entityMethods);
