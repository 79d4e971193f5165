// crm.category.* for deal pipelines (server notes §4; docs api-reference/crm/universal/category/*).
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { RunningEmulator } from '../../src/emulator/index.js';
import { rawCall, startTestEmulator } from '../helpers/emulator.js';

let emu: RunningEmulator;
beforeAll(async () => {
  emu = await startTestEmulator({ limits: false });
});
afterAll(() => emu.close());

const addCategory = (fields: Record<string, unknown>) => rawCall(emu, 'crm.category.add', { entityTypeId: 2, fields });

describe('crm.category', () => {
  test('add answers the category and creates the eight default stages in the portal language', async () => {
    const r = await addCategory({ name: 'Ремонт авто', sort: 100 });
    const category = (r.body.result as { category: Record<string, unknown> }).category;
    expect(category).toEqual({ id: category.id, name: 'Ремонт авто', sort: 100, entityTypeId: 2, isDefault: 'N', originId: null, originatorId: null });
    const stages = (await rawCall(emu, 'crm.status.list', { filter: { ENTITY_ID: `DEAL_STAGE_${category.id}` } })).body.result as Record<string, string>[];
    expect(stages.map((s) => [s.STATUS_ID, s.SORT, s.SYSTEM, s.SEMANTICS, s.NAME])).toEqual([
      [`C${category.id}:NEW`, '10', 'Y', null, 'Новая'],
      [`C${category.id}:PREPARATION`, '20', 'N', null, 'Подготовка документов'],
      [`C${category.id}:PREPAYMENT_INVOICE`, '30', 'N', null, 'Cчёт на предоплату'],
      [`C${category.id}:EXECUTING`, '40', 'N', null, 'В работе'],
      [`C${category.id}:FINAL_INVOICE`, '50', 'N', null, 'Финальный счёт'],
      [`C${category.id}:WON`, '60', 'Y', 'S', 'Сделка успешна'],
      [`C${category.id}:LOSE`, '70', 'Y', 'F', 'Сделка провалена'],
      [`C${category.id}:APOLOGY`, '80', 'N', 'F', 'Анализ причины провала'],
    ]);
  });

  test('stage names follow an English portal', async () => {
    const en = await startTestEmulator({ limits: false, language: 'en' });
    try {
      const r = await rawCall(en, 'crm.category.add', { entityTypeId: 2, fields: { name: 'Repair' } });
      const id = (r.body.result as { category: { id: number } }).category.id;
      const names = ((await rawCall(en, 'crm.status.list', { filter: { ENTITY_ID: `DEAL_STAGE_${id}` } })).body.result as { NAME: string }[]).map((s) => s.NAME);
      expect(names).toEqual(['New', 'Create papers', 'Invoice', 'In progress', 'Final invoice', 'Deal won', 'Deal lost', 'Analyze failure']);
    } finally {
      await en.close();
    }
  });

  test('from id 10 on, PREPAYMENT_INVOICE is cut to 21 characters', async () => {
    let id = 0;
    while (id < 10) id = ((await addCategory({ name: `Filler ${id}` })).body.result as { category: { id: number } }).category.id;
    const codes = ((await rawCall(emu, 'crm.status.list', { filter: { ENTITY_ID: `DEAL_STAGE_${id}` } })).body.result as { STATUS_ID: string }[]).map((s) => s.STATUS_ID);
    expect(codes).toContain(`C${id}:PREPAYMENT_INVOIC`);
  });

  test('list includes the default pipeline as id 0 and gives total', async () => {
    const r = await rawCall(emu, 'crm.category.list', { entityTypeId: 2 });
    const categories = (r.body.result as { categories: { id: number; isDefault: string; name: string }[] }).categories;
    expect(categories[0]).toMatchObject({ id: 0, isDefault: 'Y', name: 'Общая' });
    expect(r.body.total).toBe(categories.length);
  });

  test('a blank name, a missing category, leads and a missing parameter are errors', async () => {
    expect((await addCategory({ name: '  ' })).body).toEqual({ error: '0', error_description: "Field 'NAME' is required" });
    expect((await rawCall(emu, 'crm.category.get', { entityTypeId: 2, id: 9999 })).body).toEqual({ error: 'NOT_FOUND', error_description: 'Element not found' });
    expect((await rawCall(emu, 'crm.category.list', { entityTypeId: 1 })).body.error).toBe('ENTITY_TYPE_NOT_SUPPORTED');
    expect((await rawCall(emu, 'crm.category.list', {})).body).toEqual({ error: '100', error_description: 'Could not find value for parameter {entityTypeId}' });
  });

  test('a negative sort becomes 0; update changes name and sort', async () => {
    const r = await addCategory({ name: 'Sorted', sort: -4 });
    const category = (r.body.result as { category: { id: number; sort: number } }).category;
    expect(category.sort).toBe(0);
    const u = await rawCall(emu, 'crm.category.update', { entityTypeId: 2, id: category.id, fields: { name: 'Renamed', sort: 300 } });
    expect((u.body.result as { category: unknown }).category).toMatchObject({ id: category.id, name: 'Renamed', sort: 300 });
    // Category::processFields sets a sort only when it is 0 or more: a negative one on update changes nothing.
    const negative = await rawCall(emu, 'crm.category.update', { entityTypeId: 2, id: category.id, fields: { sort: -5 } });
    expect((negative.body.result as { category: unknown }).category).toMatchObject({ sort: 300 });
  });

  test('delete refuses a pipeline with deals and the default one; otherwise removes its stages', async () => {
    const id = ((await addCategory({ name: 'With deals' })).body.result as { category: { id: number } }).category.id;
    const deal = await rawCall(emu, 'crm.deal.add', { fields: { TITLE: 'd', CATEGORY_ID: id } });
    expect((await rawCall(emu, 'crm.category.delete', { entityTypeId: 2, id })).body).toEqual({ error: '0', error_description: 'Deals related to the funnel With deals found' });
    await rawCall(emu, 'crm.deal.delete', { id: deal.body.result });
    const deleted = await rawCall(emu, 'crm.category.delete', { entityTypeId: 2, id });
    expect(deleted.status).toBe(200);
    expect(deleted.body.result).toBeNull();
    expect((await rawCall(emu, 'crm.status.list', { filter: { ENTITY_ID: `DEAL_STAGE_${id}` } })).body.total).toBe(0);
    expect((await rawCall(emu, 'crm.category.delete', { entityTypeId: 2, id: 0 })).body.error_description).toBe('Default deal category cannot be deleted');
  });
});
