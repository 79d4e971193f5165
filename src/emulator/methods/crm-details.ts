// crm.item.details.configuration.* and the legacy crm.{lead|deal|contact|company}.details.configuration.* (card
// layouts; CCrmEntityEditorRestProxy + Crm\Entity\EntityEditorConfig). A card is stored per configuration id
// (deal_details_C3 …), per scope (C common / P personal of one user).
import { crmError } from '../errors.js';
import { asPhpArray, isObject, phpInt, phpString, resolveParam, type Params } from '../params.js';
import type { Portal } from '../portal.js';
import type { CallContext, MethodTable } from '../registry.js';
import { CRM_ENTITIES, ENTITY_TYPE_ID } from '../state.js';

const TYPE_NAMES: Record<number, string> = { 1: 'LEAD', 2: 'DEAL', 3: 'CONTACT', 4: 'COMPANY', 5: 'INVOICE', 7: 'QUOTE', 8: 'REQUISITE' };

interface Section { name: string; title: string; type: 'section'; elements: { name: string; optionFlags?: unknown; options?: unknown }[] }

/** First value among the spellings CCrmRestHelper accepts (deal_category_id, DEAL_CATEGORY_ID, dealCategoryId, …). */
function extraParam(extras: Record<string, unknown>, parts: string[]): unknown {
  const lowerSnake = parts.join('_').toLowerCase();
  const camel = parts[0].toLowerCase() + parts.slice(1).map((p) => p[0].toUpperCase() + p.slice(1).toLowerCase()).join('');
  const upperCamel = camel[0].toUpperCase() + camel.slice(1);
  for (const key of [lowerSnake, lowerSnake.toUpperCase(), camel, upperCamel]) if (extras[key] !== undefined) return extras[key];
  return undefined;
}

/** EntityEditorOptionBuilder: the option name of a card. */
function configId(entityTypeId: number, extras: Record<string, unknown>): string {
  const base = TYPE_NAMES[entityTypeId].toLowerCase();
  if (entityTypeId === 2) {
    const categoryId = phpInt(extraParam(extras, ['deal', 'category', 'id']));
    return categoryId > 0 ? `deal_details_C${categoryId}` : 'deal_details';
  }
  if (entityTypeId === 1) return phpInt(extraParam(extras, ['lead', 'customer', 'type'])) === 2 ? 'returning_lead_details' : 'lead_details';
  return `${base}_details`;
}

interface Target { key: string; configId: string; scope: 'C' | 'P'; userId: number }

function target(ctx: CallContext, params: Params, entityTypeId: number): Target {
  if (![1, 2, 3, 4].includes(entityTypeId)) {
    if (!TYPE_NAMES[entityTypeId]) throw crmError("Parameter 'entityTypeID' is not defined");
    throw crmError(`The entity type '${TYPE_NAMES[entityTypeId]}' is not supported in current context.`);
  }
  let userId = phpInt(params.userId ?? params.USER_ID ?? params.user_id ?? params.UserId);
  if (userId <= 0) userId = ctx.auth.userId;
  const scope = phpString(resolveParam(params, 'scope')) === 'C' ? 'C' : 'P';
  const extras = asPhpArray(resolveParam(params, 'extras')) ?? {};
  const id = configId(entityTypeId, extras);
  return { key: scope === 'C' ? `${id}|C` : `${id}|P|${userId}`, configId: id, scope, userId };
}

function canEdit(ctx: CallContext, t: Target): boolean {
  const admin = ctx.portal.isAdmin(ctx.auth.userId);
  return t.scope === 'C' ? admin : t.userId === ctx.auth.userId || admin;
}

/** EntityEditorConfig::check + sanitize. */
function checkAndSanitize(data: unknown): Section[] {
  if (!Array.isArray(data) && !isObject(data)) throw crmError("Parameter 'data' must be array.");
  let list: unknown[];
  if (Array.isArray(data)) list = data;
  else {
    const keys = Object.keys(data);
    if (keys.length && !keys.every((k, i) => k === String(i))) {
      if (keys.length === 0) throw crmError('There are no data to write.');
      throw crmError('The data must be indexed array.');
    }
    list = Object.values(data);
  }
  // Compatibility mode: a single column holding the sections.
  if (isObject(list[0]) && list[0].type === 'column') list = Array.isArray(list[0].elements) ? list[0].elements : Object.values(asPhpArray(list[0].elements) ?? {});
  if (list.length === 0) throw crmError('There are no data to write.');
  const out: Section[] = [];
  list.forEach((raw, i) => {
    const s = isObject(raw) ? raw : {};
    const type = s.type === undefined || phpString(s.type).trim() === '' ? 'section' : s.type;
    if (type !== 'section') throw crmError(`Section at index ${i} have type '${phpString(type)}'. The expected type is 'section'.`);
    if (phpString(s.name).trim() === '') throw crmError(`Section at index ${i} does not have name.`);
    if (typeof s.title !== 'string') throw crmError(`Section at index ${i} does not have title.`);
    const elements = Array.isArray(s.elements) ? s.elements : Object.values(asPhpArray(s.elements) ?? {});
    const sanitized: Section['elements'] = [];
    elements.forEach((rawElement, j) => {
      const e = isObject(rawElement) ? rawElement : {};
      if (phpString(e.name).trim() === '') throw crmError(`Element at index ${j} in section at index ${i} does not have name.`);
      const element: Section['elements'][number] = { name: phpString(e.name) };
      if (e.optionFlags !== undefined && e.optionFlags !== null && !Number.isNaN(Number(e.optionFlags))) element.optionFlags = e.optionFlags;
      if (isObject(e.options) || Array.isArray(e.options)) element.options = e.options;
      sanitized.push(element);
    });
    out.push({ type: 'section', name: phpString(s.name), title: s.title, elements: sanitized });
  });
  return out;
}

function sectionsOut(sections: Section[]): unknown[] {
  return sections.map((s) => ({
    name: s.name,
    title: s.title,
    type: 'section',
    elements: s.elements.map((e) => ({ name: e.name, optionFlags: String(e.optionFlags ?? '0'), ...(e.options !== undefined ? { options: e.options } : {}) })),
  }));
}

function configurationMethods(prefix: string, fixedEntityTypeId?: number): MethodTable {
  const entityTypeOf = (params: Params): number => {
    if (fixedEntityTypeId !== undefined) return fixedEntityTypeId;
    // CCrmItemRestProxy: entityTypeId or ENTITY_TYPE_ID, else 0, which CCrmEntityEditorRestProxy refuses.
    const id = phpInt(params.entityTypeId ?? params.ENTITY_TYPE_ID ?? 0);
    if (!TYPE_NAMES[id]) throw crmError("Parameter 'entityTypeID' is not defined");
    return id;
  };
  const cards = (portal: Portal) => portal.state.cardConfigs;
  return [
    {
      name: `${prefix}.get`,
      scope: 'crm',
      read: true,
      handler: (params, ctx) => {
        const t = target(ctx, params, entityTypeOf(params));
        if (t.scope === 'P' && !canEdit(ctx, t)) throw crmError('Access denied.');
        const stored = cards(ctx.portal)[t.key] as Section[] | undefined;
        return stored ? sectionsOut(stored) : null;
      },
    },
    {
      name: `${prefix}.set`,
      scope: 'crm',
      handler: (params, ctx) => {
        const t = target(ctx, params, entityTypeOf(params));
        if (!canEdit(ctx, t)) throw crmError('Access denied.');
        const data = resolveParam(params, 'data');
        if (data === undefined) throw crmError("Parameter 'data' must be array.");
        cards(ctx.portal)[t.key] = checkAndSanitize(data);
        return true;
      },
    },
    {
      name: `${prefix}.reset`,
      scope: 'crm',
      handler: (params, ctx) => {
        const t = target(ctx, params, entityTypeOf(params));
        if (!canEdit(ctx, t)) throw crmError('Access denied.');
        delete cards(ctx.portal)[t.key];
        return true;
      },
    },
    {
      name: `${prefix}.forceCommonScopeForAll`.toLowerCase(),
      scope: 'crm',
      handler: (params, ctx) => {
        const t = target(ctx, { ...params, scope: 'C' }, entityTypeOf(params));
        if (!ctx.portal.isAdmin(ctx.auth.userId)) throw crmError('Access denied.');
        // Personal cards of every user are dropped: everyone sees the common one.
        for (const key of Object.keys(cards(ctx.portal))) if (key.startsWith(`${t.configId}|P|`)) delete cards(ctx.portal)[key];
        return true;
      },
    },
  ];
}

export const crmDetailsMethods: MethodTable = [
  ...configurationMethods('crm.item.details.configuration'),
  ...CRM_ENTITIES.flatMap((e) => configurationMethods(`crm.${e}.details.configuration`, ENTITY_TYPE_ID[e])),
];
