// Request forms, envelopes, errors and paging (docs: settings/how-to-call-rest-api/*, _includes/system-errors.md;
// server notes §1b for the time block).
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { RunningEmulator } from '../../src/emulator/index.js';
import { rawCall, startTestEmulator } from '../helpers/emulator.js';

let emu: RunningEmulator;
beforeAll(async () => {
  emu = await startTestEmulator({ limits: false });
});
afterAll(() => emu.close());

describe('request forms', () => {
  test('a JSON body, form-encoded bracket keys and a query string all reach the method', async () => {
    const json = await rawCall(emu, 'crm.lead.add', { fields: { TITLE: 'json', NAME: 'Анна' } });
    const form = await fetch(`${emu.webhookUrl}crm.lead.add`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'fields%5BTITLE%5D=form&fields%5BNAME%5D=%D0%90%D0%BD%D0%BD%D0%B0',
    }).then((r) => r.json() as Promise<{ result: number }>);
    const query = await fetch(`${emu.webhookUrl}crm.lead.add.json?fields[TITLE]=query`).then((r) => r.json() as Promise<{ result: number }>);
    const titles = [];
    for (const id of [json.body.result, form.result, query.result]) {
      const got = await rawCall(emu, 'crm.lead.get', { id });
      titles.push((got.body.result as { TITLE: string }).TITLE);
    }
    expect(titles).toEqual(['json', 'form', 'query']);
  });

  test('POST data replaces query keys, as getRequestData merges them', async () => {
    const response = await fetch(`${emu.webhookUrl}crm.lead.get?id=999`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ id: 1 }),
    });
    expect(response.status).toBe(200);
  });

  test('the method name is case-insensitive and may end in .json', async () => {
    const r = await fetch(`${emu.webhookUrl}CRM.Status.List.json`);
    expect(r.status).toBe(200);
  });
});

describe('envelopes', () => {
  test('success: result plus the time block with PHP date("c") strings in the portal zone', async () => {
    const { status, body } = await rawCall(emu, 'server.time');
    expect(status).toBe(200);
    expect(typeof body.result).toBe('string');
    expect(body.result).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+03:00$/);
    const time = body.time as Record<string, unknown>;
    expect(Object.keys(time)).toEqual(expect.arrayContaining(['start', 'finish', 'duration', 'processing', 'date_start', 'date_finish']));
    expect(time.finish as number).toBeGreaterThanOrEqual(time.start as number);
  });

  test('errors carry error and error_description, no time block', async () => {
    const { status, body } = await rawCall(emu, 'crm.lead.get', { id: 0 });
    expect(status).toBe(400);
    expect(body).toEqual({ error: '', error_description: 'ID is not defined or invalid.' });
  });

  test('an unknown method is ERROR_METHOD_NOT_FOUND with 404', async () => {
    const { status, body } = await rawCall(emu, 'crm.nothing.here');
    expect(status).toBe(404);
    expect(body).toEqual({ error: 'ERROR_METHOD_NOT_FOUND', error_description: 'Method not found!' });
  });

  test('a wrong webhook secret is refused', async () => {
    const wrong = emu.webhookUrl.replace(/\/rest\/1\/[^/]+\//, '/rest/1/wrongsecret/');
    const response = await fetch(`${wrong}crm.lead.list`);
    expect(response.status).toBe(401);
    expect(await response.json()).toEqual({ error: 'INVALID_CREDENTIALS', error_description: 'Invalid request credentials' });
  });

  test('no authorisation at all is NO_AUTH_FOUND', async () => {
    const response = await fetch(`${emu.origin}/rest/crm.lead.list`);
    expect(response.status).toBe(401);
    expect(((await response.json()) as { error: string }).error).toBe('NO_AUTH_FOUND');
  });

  test('REST is refused on the free plan', async () => {
    const free = await startTestEmulator({ plan: 'project', limits: false });
    try {
      const { status, body } = await rawCall(free, 'crm.lead.list');
      expect(status).toBe(403);
      expect(body.error).toBe('ACCESS_DENIED');
    } finally {
      await free.close();
    }
  });
});

describe('paging', () => {
  test('60 leads: 50 with next 50 and total 60, then 10 without next', async () => {
    const fresh = await startTestEmulator({ limits: false });
    try {
      const cmd: Record<string, string> = {};
      for (let i = 0; i < 50; i++) cmd[`l${i}`] = `crm.lead.add?fields[TITLE]=Lead ${i}`;
      await rawCall(fresh, 'batch', { cmd });
      const more: Record<string, string> = {};
      for (let i = 50; i < 60; i++) more[`l${i}`] = `crm.lead.add?fields[TITLE]=Lead ${i}`;
      await rawCall(fresh, 'batch', { cmd: more });

      const first = await rawCall(fresh, 'crm.lead.list', { select: ['ID', 'TITLE'], order: { ID: 'ASC' } });
      expect((first.body.result as unknown[]).length).toBe(50);
      expect(first.body.next).toBe(50);
      expect(first.body.total).toBe(60);
      const second = await rawCall(fresh, 'crm.lead.list', { select: ['ID'], order: { ID: 'ASC' }, start: first.body.next });
      expect((second.body.result as { ID: string }[]).map((r) => r.ID)).toEqual(Array.from({ length: 10 }, (_, i) => String(51 + i)));
      expect(second.body.next).toBeUndefined();
      expect(second.body.total).toBe(60);
      const uncounted = await rawCall(fresh, 'crm.lead.list', { select: ['ID'], start: -1 });
      expect(uncounted.body.total).toBe(0);
      expect(uncounted.body.next).toBeUndefined();
      expect((uncounted.body.result as unknown[]).length).toBe(50);
    } finally {
      await fresh.close();
    }
  });
});
