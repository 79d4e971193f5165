// batch (server notes §2; docs settings/how-to-call-rest-api/batch.md).
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { RunningEmulator } from '../../src/emulator/index.js';
import { rawCall, startTestEmulator } from '../helpers/emulator.js';

let emu: RunningEmulator;
beforeAll(async () => {
  emu = await startTestEmulator({ limits: false });
});
afterAll(() => emu.close());

type BatchBody = { result: { result: unknown; result_error: unknown; result_total: unknown; result_next: unknown; result_time: unknown } };
const batch = async (params: Record<string, unknown>) => {
  const { status, body } = await rawCall(emu, 'batch', params);
  expect(status).toBe(200);
  return (body as unknown as BatchBody).result;
};

describe('batch', () => {
  test('a $result reference carries a new pipeline id into the next command', async () => {
    const r = await batch({
      halt: 1,
      cmd: {
        cat: 'crm.category.add?entityTypeId=2&fields[name]=Batch pipeline',
        stages: 'crm.status.list?filter[ENTITY_ID]=DEAL_STAGE_$result[cat][category][id]',
      },
    });
    const { cat, stages } = r.result as { cat: { category: { id: number } }; stages: { STATUS_ID: string }[] };
    expect(stages[0].STATUS_ID).toBe(`C${cat.category.id}:NEW`);
    expect(stages).toHaveLength(8);
    expect(r.result_error).toEqual([]);
  });

  test('a whole-value reference passes the raw value, an embedded one only scalars', async () => {
    const r = await batch({
      cmd: {
        lead: 'crm.lead.add?fields[TITLE]=Ref source&fields[NAME]=Олег',
        get: 'crm.lead.get?id=$result[lead]',
        copy: 'crm.lead.add?fields[TITLE]=Copy of $result[get][TITLE]&fields[COMMENTS]=Phone: $result[get][PHONE]',
      },
    });
    const { copy } = r.result as { copy: number };
    const got = await rawCall(emu, 'crm.lead.get', { id: copy });
    const record = got.body.result as { TITLE: string; COMMENTS: string };
    expect(record.TITLE).toBe('Copy of Ref source');
    // PHONE is missing in the record, so the walk stops at the record (an array): embedded, it is left as written.
    expect(record.COMMENTS).toBe('Phone: $result[get][PHONE]');
  });

  test('51 commands: the 51st gets ERROR_BATCH_LENGTH_EXCEEDED, the first 50 run', async () => {
    const cmd: Record<string, string> = {};
    for (let i = 1; i <= 51; i++) cmd[`c${i}`] = 'server.time';
    const r = await batch({ cmd });
    expect(Object.keys(r.result as object)).toHaveLength(50);
    expect(r.result_error).toEqual({ c51: { error: 'ERROR_BATCH_LENGTH_EXCEEDED', error_description: 'Max batch length exceeded' } });
  });

  test('halt stops after the first failure, even one with an empty error code', async () => {
    const r = await batch({ halt: 1, cmd: { a: 'crm.lead.get?id=0', b: 'server.time' } });
    expect(r.result).toEqual([]);
    expect(r.result_error).toEqual({ a: { error: '', error_description: 'ID is not defined or invalid.' } });
  });

  test('halt is PHP-truthy: the string "false" turns it on, "0" leaves it off', async () => {
    const on = await batch({ halt: 'false', cmd: { a: 'nope.method', b: 'server.time' } });
    expect(on.result).toEqual([]);
    const off = await batch({ halt: '0', cmd: { a: 'nope.method', b: 'server.time' } });
    expect(Object.keys(off.result as object)).toEqual(['b']);
    expect((off.result_error as Record<string, { error: string }>).a.error).toBe('ERROR_METHOD_NOT_FOUND');
  });

  test('a nested batch is refused', async () => {
    const r = await batch({ cmd: { inner: 'batch?cmd[x]=server.time' } });
    expect(r.result_error).toEqual({ inner: { error: 'ERROR_BATCH_METHOD_NOT_ALLOWED', error_description: 'Method is not allowed for batch usage' } });
  });

  test('list commands lift total and next; a list cmd gives list-shaped maps', async () => {
    const r = await batch({ cmd: ['crm.status.list?filter[ENTITY_ID]=STATUS', 'user.get'] });
    expect(Array.isArray(r.result)).toBe(true);
    expect(r.result_total).toEqual([5, 6]);
    expect(r.result_next).toEqual([]);
    expect(Array.isArray(r.result_time)).toBe(true);
  });

  test('command values are strings, as PHP parse_str makes them', async () => {
    // AUTO_EXECUTE-like checks aside, numbers arrive as strings: SORT "15" is taken, "abc" becomes 10.
    const r = await batch({
      cmd: {
        a: 'crm.status.add?fields[ENTITY_ID]=SOURCE&fields[STATUS_ID]=BATCH_SRC&fields[NAME]=x&fields[SORT]=15',
        b: 'crm.status.get?id=$result[a]',
      },
    });
    expect((r.result as { b: { SORT: string } }).b.SORT).toBe('15');
  });

  test('an app-only method in a webhook batch fails alone', async () => {
    const r = await batch({ cmd: { app: 'bizproc.robot.list', time: 'server.time' } });
    expect((r.result_error as Record<string, unknown>).app).toEqual({ error: 'ACCESS_DENIED', error_description: 'Access denied! Application context required' });
    expect(Object.keys(r.result as object)).toEqual(['time']);
  });
});
