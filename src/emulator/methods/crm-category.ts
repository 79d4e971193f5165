// crm.category.* for deal pipelines (Bitrix\Crm\Controller\Category, DealCategory; server notes §4). A D7
// controller: errors carry their code (or "0") and HTTP 400; parameter names are camelCase.
import { bindArray, bindValue, d7Error } from '../binder.js';
import { phpInt, phpString, type Params } from '../params.js';
import type { Portal } from '../portal.js';
import { ListAnswer, type CallContext, type MethodTable } from '../registry.js';
import { addStatusRows, defaultDealStages, NEW_PIPELINE_COLORS } from '../seed.js';
import type { DealCategoryRow } from '../state.js';
import { dealStageEntity } from './crm-status.js';
import { fieldDescription } from './crm-status.js';

const ENTITY_NAMES: Record<number, string> = { 1: 'LEAD', 3: 'CONTACT', 4: 'COMPANY', 7: 'QUOTE' };

/** Only deal pipelines are emulated: leads have no pipelines; the rest (SPA, client categories) are not emulated. */
function checkEntityType(params: Params): void {
  const entityTypeId = phpInt(bindValue(params, 'entityTypeId'));
  if (entityTypeId === 2) return;
  if (ENTITY_NAMES[entityTypeId] === 'LEAD' || ENTITY_NAMES[entityTypeId] === 'QUOTE') {
    throw d7Error('ENTITY_TYPE_NOT_SUPPORTED', `Entity type ${ENTITY_NAMES[entityTypeId]} is not supported`);
  }
  throw d7Error('NOT_FOUND', 'Smart process not found');
}

function checkAdmin(ctx: CallContext): void {
  if (!ctx.portal.isAdmin(ctx.auth.userId)) throw d7Error('ACCESS_DENIED', 'Access denied');
}

export function categoryOut(c: DealCategoryRow): Record<string, unknown> {
  return { id: c.id, name: c.name, sort: c.sort, entityTypeId: 2, isDefault: c.id === 0 ? 'Y' : 'N', originId: c.originId, originatorId: c.originatorId };
}

function sortedCategories(portal: Portal): DealCategoryRow[] {
  return [...portal.state.dealCategories].sort((a, b) => a.sort - b.sort || a.id - b.id);
}

function findCategory(portal: Portal, params: Params): DealCategoryRow {
  const id = phpInt(bindValue(params, 'id'));
  const category = portal.state.dealCategories.find((c) => c.id === id);
  if (!category) throw d7Error('NOT_FOUND', 'Element not found');
  return category;
}

/** DealCategory::add + createDefaultStages: the eight default stages, STATUS_IDs cut to 21 characters. */
export function createDealCategory(portal: Portal, fields: { name: string; sort: number; originId?: string | null; originatorId?: string | null }): DealCategoryRow {
  const row: DealCategoryRow = {
    id: portal.nextId('dealCategory'),
    name: fields.name,
    sort: fields.sort,
    originId: fields.originId ?? null,
    originatorId: fields.originatorId ?? null,
  };
  portal.state.dealCategories.push(row);
  const stages = addStatusRows(portal.state, dealStageEntity(row.id), defaultDealStages(NEW_PIPELINE_COLORS), portal.lang, row.id, `C${row.id}`);
  // normalizeStatusIds(): b_crm_status ids longer than 21 characters are cut (C10:PREPAYMENT_INVOIC).
  for (const stage of stages) stage.STATUS_ID = stage.STATUS_ID.slice(0, 21);
  return row;
}

const fieldsOf = (params: Params) => bindArray(params, 'fields');

export const crmCategoryMethods: MethodTable = [
  {
    name: 'crm.category.fields',
    scope: 'crm',
    read: true,
    handler: (params) => {
      checkEntityType(params);
      return {
        fields: {
          id: fieldDescription('integer', 'O', 'ID'),
          name: fieldDescription('string', 'R', 'Name'),
          sort: fieldDescription('integer', '', 'Sort'),
          entityTypeId: fieldDescription('integer', 'O', 'Entity type ID'),
          isDefault: fieldDescription('boolean', '', 'Default'),
          originId: fieldDescription('string', '', 'Origin ID'),
          originatorId: fieldDescription('string', '', 'Originator ID'),
        },
      };
    },
  },
  {
    name: 'crm.category.list',
    scope: 'crm',
    read: true,
    handler: (params, { portal }) => {
      checkEntityType(params);
      const categories = sortedCategories(portal).map(categoryOut);
      return new ListAnswer({ categories }, categories.length);
    },
  },
  {
    name: 'crm.category.get',
    scope: 'crm',
    read: true,
    handler: (params, { portal }) => {
      checkEntityType(params);
      return { category: categoryOut(findCategory(portal, params)) };
    },
  },
  {
    name: 'crm.category.add',
    scope: 'crm',
    handler: (params, ctx) => {
      checkEntityType(params);
      const fields = fieldsOf(params);
      checkAdmin(ctx);
      if (fields.isSystem === 'Y') throw d7Error('ADDING_DISABLED', 'Adding a system category is prohibited');
      const name = phpString(fields.name).trim();
      if (name === '') throw d7Error('0', "Field 'NAME' is required");
      // A negative or missing sort becomes 0 (DealCategory::add: max((int)SORT, 0)).
      const sort = Math.max(phpInt(fields.sort), 0);
      const row = createDealCategory(ctx.portal, {
        name,
        sort,
        originId: fields.originId === undefined ? null : phpString(fields.originId),
        originatorId: fields.originatorId === undefined ? null : phpString(fields.originatorId),
      });
      return { category: categoryOut(row) };
    },
  },
  {
    name: 'crm.category.update',
    scope: 'crm',
    handler: (params, ctx) => {
      checkEntityType(params);
      const category = findCategory(ctx.portal, params);
      const fields = fieldsOf(params);
      checkAdmin(ctx);
      if (fields.name !== undefined) {
        const name = phpString(fields.name).trim();
        if (name === '') throw d7Error('0', "Field 'NAME' is required");
        category.name = name;
      }
      // processFields: a negative sort is not set at all.
      if (fields.sort !== undefined && fields.sort !== null && phpInt(fields.sort) >= 0) category.sort = phpInt(fields.sort);
      return { category: categoryOut(category) };
    },
  },
  {
    name: 'crm.category.delete',
    scope: 'crm',
    handler: (params, ctx) => {
      checkEntityType(params);
      const category = findCategory(ctx.portal, params);
      checkAdmin(ctx);
      if (category.id === 0) throw d7Error('0', 'Default deal category cannot be deleted');
      if (ctx.portal.state.crm.deal.some((d) => Number(d.CATEGORY_ID) === category.id)) {
        throw d7Error('0', `Deals related to the funnel ${category.name} found`);
      }
      const entity = dealStageEntity(category.id);
      ctx.portal.state.statuses = ctx.portal.state.statuses.filter((s) => s.ENTITY_ID !== entity);
      ctx.portal.state.dealCategories = ctx.portal.state.dealCategories.filter((c) => c.id !== category.id);
      return null;
    },
  },
];
