// crm.status.* (server notes §3; docs api-reference/crm/status/*).
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { RunningEmulator } from '../../src/emulator/index.js';
import { rawCall, startTestEmulator } from '../helpers/emulator.js';

let emu: RunningEmulator;
beforeAll(async () => {
  emu = await startTestEmulator({ limits: false });
});
afterAll(() => emu.close());

type Row = { ID: string; STATUS_ID: string; NAME: string; SORT: string; SYSTEM: string; SEMANTICS: string | null; COLOR: string | null; EXTRA?: { SEMANTICS: string } };
const list = async (entityId: string) => (await rawCall(emu, 'crm.status.list', { filter: { ENTITY_ID: entityId } })).body.result as Row[];
const add = (fields: Record<string, unknown>) => rawCall(emu, 'crm.status.add', { fields });
const newCategory = async (name: string) =>
  ((await rawCall(emu, 'crm.category.add', { entityTypeId: 2, fields: { name } })).body.result as { category: { id: number } }).category.id;

describe('a new portal', () => {
  test('has the default lead statuses, system ones marked, values as strings', async () => {
    const rows = await list('STATUS');
    expect(rows.map((r) => [r.STATUS_ID, r.SORT, r.SYSTEM, r.SEMANTICS, r.EXTRA?.SEMANTICS])).toEqual([
      ['NEW', '10', 'Y', null, 'process'],
      ['IN_PROCESS', '20', 'N', null, 'process'],
      ['PROCESSED', '30', 'N', null, 'process'],
      ['CONVERTED', '40', 'Y', 'S', 'success'],
      ['JUNK', '50', 'Y', 'F', 'failure'],
    ]);
    expect(rows[0].NAME).toBe('Не обработан');
  });

  test('has the default deal pipeline with APOLOGY as an "apology" failure stage', async () => {
    const rows = await list('DEAL_STAGE');
    expect(rows.map((r) => r.STATUS_ID)).toEqual(['NEW', 'PREPARATION', 'PREPAYMENT_INVOICE', 'EXECUTING', 'FINAL_INVOICE', 'WON', 'LOSE', 'APOLOGY']);
    expect(rows.find((r) => r.STATUS_ID === 'APOLOGY')).toMatchObject({ SEMANTICS: 'F', EXTRA: { SEMANTICS: 'apology' } });
  });
});

describe('crm.status.add', () => {
  test('prefixes STATUS_ID with the pipeline: NEW-like codes, C5:X and C7:X all become C{id}:X', async () => {
    const id = await newCategory('Prefix test');
    for (const given of ['DECISION', `C${id}:DECISION2`, 'C999:DECISION3']) {
      const r = await add({ ENTITY_ID: `DEAL_STAGE_${id}`, STATUS_ID: given, NAME: given, SORT: 35 });
      expect(r.status).toBe(200);
    }
    const codes = (await list(`DEAL_STAGE_${id}`)).map((r) => r.STATUS_ID);
    expect(codes).toEqual(expect.arrayContaining([`C${id}:DECISION`, `C${id}:DECISION2`, `C${id}:DECISION3`]));
  });

  test('a duplicate is ERROR_CORE with the text ending in <br>', async () => {
    const r = await add({ ENTITY_ID: 'STATUS', STATUS_ID: 'NEW', NAME: 'again' });
    expect(r).toEqual({ status: 400, body: { error: 'ERROR_CORE', error_description: 'The specified status ID already exists.<br>' } });
    // The look-up is an SQL `=` under a case-insensitive collation.
    expect(await add({ ENTITY_ID: 'STATUS', STATUS_ID: 'new', NAME: 'again, lower case' })).toEqual(r);
  });

  test('length and charset limits per dictionary', async () => {
    expect((await add({ ENTITY_ID: 'STATUS', STATUS_ID: 'A'.repeat(22), NAME: 'x' })).body).toEqual({
      error: 'ERROR_CORE',
      error_description: 'Exceeded maximum length of status ID: 21.<br>',
    });
    expect((await add({ ENTITY_ID: 'STATUS', STATUS_ID: 'A'.repeat(21), NAME: 'x', SORT: 15 })).status).toBe(200);
    expect((await add({ ENTITY_ID: 'DEAL_STAGE', STATUS_ID: 'B'.repeat(23), NAME: 'x' })).body.error_description).toBe('Exceeded maximum length of status ID: 22.<br>');
    const id = await newCategory('Length test');
    const max = 30 - `C${id}:`.length - 8;
    expect((await add({ ENTITY_ID: `DEAL_STAGE_${id}`, STATUS_ID: 'C'.repeat(max + 1), NAME: 'x' })).body.error_description).toBe(`Exceeded maximum length of status ID: ${max}.<br>`);
    expect((await add({ ENTITY_ID: 'STATUS', STATUS_ID: 'БУКВЫ', NAME: 'x' })).body.error_description).toBe(
      'Status ID may include Latin characters, numbers, minus and underscore characters only<br>',
    );
    // Other dictionaries take any characters up to 50.
    expect((await add({ ENTITY_ID: 'SOURCE', STATUS_ID: 'источник', NAME: 'x' })).status).toBe(200);
  });

  test('required fields and unknown dictionaries: empty code, HTTP 400', async () => {
    expect(await add({})).toEqual({ status: 400, body: { error: '', error_description: 'The field ENTITY_ID is required.\nThe field STATUS_ID is required.' } });
    expect((await add({ ENTITY_ID: 'NOPE', STATUS_ID: 'X', NAME: 'x' })).body).toEqual({ error: '', error_description: 'Specified entity type is not supported.' });
    expect((await rawCall(emu, 'crm.status.add', { fields: 'text' })).body.error_description).toBe("Parameter 'fields' must be array.");
    expect((await add({ ENTITY_ID: 'STATUS', STATUS_ID: 'NONAME', SORT: 12 })).body.error_description).toBe('The field Title is required.');
  });

  test('SORT ≤ 0 becomes 10; a color gets its #; SYSTEM is always N', async () => {
    const r = await add({ ENTITY_ID: 'STATUS', STATUS_ID: 'ZERO_SORT', NAME: 'x', SORT: -5, COLOR: 'ABCDEF', SYSTEM: 'Y' });
    const row = (await rawCall(emu, 'crm.status.get', { id: r.body.result })).body.result as Row;
    expect(row).toMatchObject({ SORT: '10', COLOR: '#ABCDEF', SYSTEM: 'N' });
  });

  test('semantics follow the success stage sort', async () => {
    const id = await newCategory('Semantics test');
    const entity = `DEAL_STAGE_${id}`;
    const late = await add({ ENTITY_ID: entity, STATUS_ID: 'LATE', NAME: 'x', SORT: 65 });
    expect(late.body.error_description).toMatch(/^Cannot create more stages after the final stage/);
    expect((await add({ ENTITY_ID: entity, STATUS_ID: 'FAIL_EARLY', NAME: 'x', SORT: 55, SEMANTICS: 'F' })).status).toBe(400);
    expect((await add({ ENTITY_ID: entity, STATUS_ID: 'SECOND_WIN', NAME: 'x', SORT: 30, SEMANTICS: 'S' })).body.error_description).toBe(
      'Only one success status can exist for any one type',
    );
    const failure = await add({ ENTITY_ID: entity, STATUS_ID: 'GAVE_UP', NAME: 'Gave up', SORT: 75, SEMANTICS: 'F' });
    const row = (await rawCall(emu, 'crm.status.get', { id: failure.body.result })).body.result as Row;
    expect(row).toMatchObject({ STATUS_ID: `C${id}:GAVE_UP`, SEMANTICS: 'F', EXTRA: { SEMANTICS: 'apology' } });
  });
});

describe('crm.status.update / delete', () => {
  test('update takes only NAME, SORT and COLOR', async () => {
    const r = await add({ ENTITY_ID: 'STATUS', STATUS_ID: 'TO_UPDATE', NAME: 'before', SORT: 25 });
    await rawCall(emu, 'crm.status.update', { id: r.body.result, fields: { NAME: 'after', SORT: 0, COLOR: '#112233', STATUS_ID: 'HACKED', SEMANTICS: 'F' } });
    const row = (await rawCall(emu, 'crm.status.get', { id: r.body.result })).body.result as Row;
    expect(row).toMatchObject({ STATUS_ID: 'TO_UPDATE', NAME: 'after', SORT: '10', COLOR: '#112233', SEMANTICS: null });
    // Update does not re-check the sort against the success stage.
    expect((await rawCall(emu, 'crm.status.update', { id: r.body.result, fields: { SORT: 999 } })).body.result).toBe(true);
  });

  test('system rows need FORCED=Y; rows holding items are kept', async () => {
    const junk = (await list('STATUS')).find((r) => r.STATUS_ID === 'JUNK')!;
    expect((await rawCall(emu, 'crm.status.delete', { id: junk.ID })).body.error_description).toBe(
      'CRM System Status can be deleted only if parameter FORCED is specified and equal to "Y".',
    );
    const processed = (await list('STATUS')).find((r) => r.STATUS_ID === 'PROCESSED')!;
    const lead = await rawCall(emu, 'crm.lead.add', { fields: { TITLE: 'holds PROCESSED', STATUS_ID: 'PROCESSED' } });
    expect((await rawCall(emu, 'crm.status.delete', { id: processed.ID })).body).toEqual({ error: '', error_description: 'There are active items in this status.' });
    await rawCall(emu, 'crm.lead.delete', { id: lead.body.result });
    expect((await rawCall(emu, 'crm.status.delete', { id: processed.ID })).body.result).toBe(true);
    expect((await rawCall(emu, 'crm.status.delete', { id: processed.ID })).body.error_description).toBe('Status is not found.');
  });
});

describe('crm.status.list', () => {
  test('an array filter on ENTITY_ID is refused; empty values are ignored', async () => {
    expect((await rawCall(emu, 'crm.status.list', { filter: { ENTITY_ID: ['STATUS'] } })).body.error_description).toBe('Filter by ENTITY_ID must be a string');
    const all = await rawCall(emu, 'crm.status.list', { filter: { ENTITY_ID: '' } });
    expect(all.body.total as number).toBeGreaterThan(20);
  });

  test('crm.status.entity.types describes pipeline dictionaries', async () => {
    const id = await newCategory('Types test');
    const types = (await rawCall(emu, 'crm.status.entity.types')).body.result as Record<string, unknown>[];
    expect(types.find((t) => t.ID === `DEAL_STAGE_${id}`)).toMatchObject({
      PARENT_ID: 'DEAL_STAGE',
      PREFIX: `C${id}`,
      SEMANTIC_INFO: { START_FIELD: `C${id}:NEW`, FINAL_SUCCESS_FIELD: `C${id}:WON`, FINAL_UNSUCCESS_FIELD: `C${id}:LOSE` },
      CATEGORY_ID: String(id),
    });
  });
});
