// crm.item.details.configuration.* (REST notes §7; docs api-reference/crm/universal/item-details-configuration/*).
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { RunningEmulator } from '../../src/emulator/index.js';
import { rawCall, startTestEmulator } from '../helpers/emulator.js';

let emu: RunningEmulator;
beforeAll(async () => {
  emu = await startTestEmulator({ limits: false });
});
afterAll(() => emu.close());

const card = [
  { name: 'as_car', title: 'Автомобиль', type: 'section', elements: [{ name: 'TITLE' }, { name: 'UF_CRM_AS_VIN', optionFlags: 1 }] },
  { name: 'as_repair', title: 'Ремонт', elements: [{ name: 'UF_CRM_AS_MASTER', options: { x: 1 } }] },
];

describe('card layouts', () => {
  test('a card never configured is null; set (common, per pipeline) then get returns it with string optionFlags', async () => {
    const params = { entityTypeId: 2, scope: 'C', extras: { dealCategoryId: 3 } };
    expect((await rawCall(emu, 'crm.item.details.configuration.get', params)).body.result).toBeNull();
    expect((await rawCall(emu, 'crm.item.details.configuration.set', { ...params, data: card })).body.result).toBe(true);
    expect((await rawCall(emu, 'crm.item.details.configuration.get', params)).body.result).toEqual([
      { name: 'as_car', title: 'Автомобиль', type: 'section', elements: [{ name: 'TITLE', optionFlags: '0' }, { name: 'UF_CRM_AS_VIN', optionFlags: '1' }] },
      { name: 'as_repair', title: 'Ремонт', type: 'section', elements: [{ name: 'UF_CRM_AS_MASTER', optionFlags: '0', options: { x: 1 } }] },
    ]);
    // Another pipeline, the personal scope and the legacy method for leads are separate cards.
    expect((await rawCall(emu, 'crm.item.details.configuration.get', { entityTypeId: 2, scope: 'C' })).body.result).toBeNull();
    expect((await rawCall(emu, 'crm.item.details.configuration.get', { entityTypeId: 2, extras: { dealCategoryId: 3 } })).body.result).toBeNull();
    await rawCall(emu, 'crm.lead.details.configuration.set', { scope: 'C', data: card });
    expect((await rawCall(emu, 'crm.item.details.configuration.get', { entityTypeId: 1, scope: 'C' })).body.result).toHaveLength(2);
  });

  test('reset and forceCommonScopeForAll', async () => {
    await rawCall(emu, 'crm.item.details.configuration.set', { entityTypeId: 3, data: card });
    expect((await rawCall(emu, 'crm.item.details.configuration.get', { entityTypeId: 3 })).body.result).toHaveLength(2);
    expect((await rawCall(emu, 'crm.item.details.configuration.forceCommonScopeForAll', { entityTypeId: 3 })).body.result).toBe(true);
    expect((await rawCall(emu, 'crm.item.details.configuration.get', { entityTypeId: 3 })).body.result).toBeNull();
    await rawCall(emu, 'crm.item.details.configuration.set', { entityTypeId: 4, scope: 'C', data: card });
    await rawCall(emu, 'crm.item.details.configuration.reset', { entityTypeId: 4, scope: 'C' });
    expect((await rawCall(emu, 'crm.item.details.configuration.get', { entityTypeId: 4, scope: 'C' })).body.result).toBeNull();
  });

  test('the documented data errors', async () => {
    const set = async (data: unknown, entityTypeId: unknown = 2) => (await rawCall(emu, 'crm.item.details.configuration.set', { entityTypeId, scope: 'C', data })).body;
    expect(await set([])).toEqual({ error: '', error_description: 'There are no data to write.' });
    expect(await set({ a: card[0] })).toEqual({ error: '', error_description: 'The data must be indexed array.' });
    expect(await set([{ name: 'x', title: 'X', type: 'column2' }])).toEqual({ error: '', error_description: "Section at index 0 have type 'column2'. The expected type is 'section'." });
    expect(await set([{ title: 'X' }])).toEqual({ error: '', error_description: 'Section at index 0 does not have name.' });
    expect(await set([{ name: 'x' }])).toEqual({ error: '', error_description: 'Section at index 0 does not have title.' });
    expect(await set([{ name: 'x', title: 'X', elements: [{ name: 'A' }, {}] }])).toEqual({ error: '', error_description: 'Element at index 1 in section at index 0 does not have name.' });
    expect(await set(card, 7)).toEqual({ error: '', error_description: "The entity type 'QUOTE' is not supported in current context." });
    expect((await rawCall(emu, 'crm.item.details.configuration.get', {})).body).toEqual({ error: '', error_description: "Parameter 'entityTypeID' is not defined" });
  });
});
