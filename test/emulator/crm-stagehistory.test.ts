// crm.stagehistory.list: contract tests built from api-reference/crm/crm-stage-history-list.md (parameters, the answer
// {items} with total, the fields of leads and deals, TYPE_ID 1/2/3/5, the error codes) and the server's controller
// crm/lib/controller/stagehistory.php (allowed fields, prepareOrder, prepareSelect, CREATED_TIME in the filter).
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { RunningEmulator } from '../../src/emulator/index.js';
import { rawCall, startTestEmulator } from '../helpers/emulator.js';

type Rec = Record<string, unknown>;

let emu: RunningEmulator;
let now = Date.parse('2024-04-25T14:59:11+00:00');

beforeAll(async () => {
  emu = await startTestEmulator({ limits: false, clock: () => now, timeZone: 'UTC', language: 'en' });
});
afterAll(() => emu.close());

const call = (method: string, params: Rec) => rawCall(emu, method, params);
const history = async (params: Rec) => {
  const { status, body } = await call('crm.stagehistory.list', params);
  expect(body.error_description, JSON.stringify(body)).toBeUndefined();
  expect(status).toBe(200);
  return body as { result: { items: Rec[] }; total: number; next?: number };
};

describe('crm.stagehistory.list', () => {
  test('a lead: its creation (TYPE_ID 1) and each status move (2 intermediate, 3 final) with STATUS_ID and STATUS_SEMANTIC_ID', async () => {
    const id = (await call('crm.lead.add', { fields: { TITLE: 'history lead' } })).body.result as number;
    now += 60_000;
    await call('crm.lead.update', { id, fields: { STATUS_ID: 'IN_PROCESS' } });
    now += 60_000;
    await call('crm.lead.update', { id, fields: { TITLE: 'renamed, same status' } });
    await call('crm.lead.update', { id, fields: { STATUS_ID: 'JUNK' } });
    const answer = await history({ entityTypeId: 1, order: { ID: 'ASC' }, filter: { OWNER_ID: id } });
    expect(answer.total).toBe(3);
    expect(answer.result.items).toEqual([
      { ID: expect.any(Number), TYPE_ID: 1, OWNER_ID: id, CREATED_TIME: '2024-04-25T14:59:11+00:00', STATUS_SEMANTIC_ID: 'P', STATUS_ID: 'NEW' },
      { ID: expect.any(Number), TYPE_ID: 2, OWNER_ID: id, CREATED_TIME: '2024-04-25T15:00:11+00:00', STATUS_SEMANTIC_ID: 'P', STATUS_ID: 'IN_PROCESS' },
      { ID: expect.any(Number), TYPE_ID: 3, OWNER_ID: id, CREATED_TIME: '2024-04-25T15:01:11+00:00', STATUS_SEMANTIC_ID: 'F', STATUS_ID: 'JUNK' },
    ]);
  });

  test('the docs\' example: a deal\'s history with select [ID, STAGE_ID, CREATED_TIME]; a pipeline change is TYPE_ID 5', async () => {
    const { category } = (await call('crm.category.add', { entityTypeId: 2, fields: { name: 'Service' } })).body.result as { category: { id: number } };
    const id = (await call('crm.deal.add', { fields: { TITLE: 'history deal' } })).body.result as number;
    await call('crm.deal.update', { id, fields: { STAGE_ID: 'WON' } });
    emu.control.moveDeal(id, category.id);
    const answer = await history({ entityTypeId: 2, order: { ID: 'ASC' }, filter: { OWNER_ID: id }, select: ['ID', 'STAGE_ID', 'CREATED_TIME'] });
    expect(answer.result.items.map((i) => Object.keys(i).sort())).toEqual(Array(3).fill(['CREATED_TIME', 'ID', 'STAGE_ID']));
    expect(answer.result.items.map((i) => i.STAGE_ID)).toEqual(['NEW', 'WON', `C${category.id}:NEW`]);
    const full = await history({ entityTypeId: 2, filter: { OWNER_ID: id }, order: { ID: 'DESC' } });
    expect(full.result.items.map((i) => [i.TYPE_ID, i.CATEGORY_ID, i.STAGE_SEMANTIC_ID])).toEqual([[5, category.id, 'P'], [3, 0, 'S'], [1, 0, 'P']]);
    // The lead's fields are not the deal's (getAllowedFields).
    expect(full.result.items[0]).not.toHaveProperty('STATUS_ID');
  });

  test('filter by CREATED_TIME with >= and <, pages of 50 with next; an unknown order field is dropped, not refused (prepareOrder)', async () => {
    const from = now + 3_600_000;
    now = from;
    for (let i = 0; i < 55; i++) await call('crm.deal.add', { fields: { TITLE: `bulk ${i}` } });
    const first = await history({ entityTypeId: 2, filter: { '>=CREATED_TIME': new Date(from).toISOString(), '<CREATED_TIME': new Date(from + 1000).toISOString() }, order: { NOPE: 'ASC', ID: 'sideways' } });
    expect(first.total).toBe(55);
    expect(first.result.items).toHaveLength(50);
    expect(first.next).toBe(50);
    const ids = first.result.items.map((i) => i.ID as number);
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    const second = await history({ entityTypeId: 2, filter: { '>=CREATED_TIME': new Date(from).toISOString() }, start: 50 });
    expect(second.result.items).toHaveLength(5);
  });

  test('the documented errors: an entity type it does not support, a field not allowed in the filter', async () => {
    const spa = await call('crm.stagehistory.list', { entityTypeId: 7 });
    expect(spa).toMatchObject({ status: 400, body: { error: 'ENTITY_TYPE_NOT_SUPPORTED' } });
    const field = await call('crm.stagehistory.list', { entityTypeId: 2, filter: { STATUS_ID: 'NEW' } });
    expect(field).toMatchObject({ status: 400, body: { error: 'INVALID_ARG_VALUE', error_description: "Invalid filter: field 'STATUS_ID' is not allowed in filter" } });
  });
});
