// Narrow checks of the portal client's retry rules, with the HTTP answers scripted by nock.
import nock from 'nock';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { LostResponseError, PortalClient, PortalError, UnreachableError } from '../../src/portal/client.js';

const ORIGIN = 'https://portal.example.com';
const client = () => PortalClient.fromWebhook(`${ORIGIN}/rest/1/s3cr3tcode/`, { retry: { minDelayMs: 5, maxDelayMs: 20 } });
const ok = (result: unknown) => ({ result, time: { start: 1, finish: 1, duration: 0, processing: 0, date_start: '', date_finish: '' } });

beforeAll(() => {
  nock.disableNetConnect();
});
afterEach(() => {
  nock.cleanAll();
});

describe('PortalClient', () => {
  it('never sends a batch with writes again after its answer was lost', async () => {
    // A gateway error without the portal's answer: the batch may or may not have run.
    const scope = nock(ORIGIN).post('/rest/1/s3cr3tcode/batch').query(true).reply(502, 'Bad Gateway');
    const c = client();
    await expect(c.batch({ a: { method: 'crm.category.add', params: { entityTypeId: 2, fields: { name: 'X' } } } })).rejects.toBeInstanceOf(LostResponseError);
    expect(scope.isDone()).toBe(true);
    expect(c.httpRequests).toBe(1);
  });

  it('repeats a batch of reads whose answer was lost', async () => {
    nock(ORIGIN).post('/rest/1/s3cr3tcode/batch').query(true).reply(502, 'Bad Gateway');
    nock(ORIGIN).post('/rest/1/s3cr3tcode/batch').query(true).reply(200, ok({ result: { s: [{ ID: '1' }] }, result_error: [], result_total: { s: 1 }, result_next: [], result_time: [] }));
    const c = client();
    const r = await c.batch({ s: { method: 'crm.status.list' } });
    expect(r.result.s).toEqual([{ ID: '1' }]);
    expect(r.total.s).toBe(1);
    expect(c.httpRequests).toBe(2);
  });

  it('waits out QUERY_LIMIT_EXCEEDED (the request was not executed) and sends it again', async () => {
    nock(ORIGIN).post('/rest/1/s3cr3tcode/crm.status.add').query(true).times(2).reply(503, { error: 'QUERY_LIMIT_EXCEEDED', error_description: 'Too many requests' });
    nock(ORIGIN).post('/rest/1/s3cr3tcode/crm.status.add').query(true).reply(200, ok(77));
    const waits: string[] = [];
    const c = PortalClient.fromWebhook(`${ORIGIN}/rest/1/s3cr3tcode/`, { retry: { minDelayMs: 5, maxDelayMs: 20 }, onWait: (w) => waits.push(w.code) });
    expect((await c.call('crm.status.add', { fields: {} })).result).toBe(77);
    expect(waits).toEqual(['QUERY_LIMIT_EXCEEDED', 'QUERY_LIMIT_EXCEEDED']);
  });

  it('keeps the portal\'s text of a CRM error whose code is empty, and splits batch errors per command', async () => {
    nock(ORIGIN).post('/rest/1/s3cr3tcode/crm.status.add').query(true).reply(400, { error: '', error_description: 'The field STATUS_ID is required.' });
    const error = await client().call('crm.status.add', { fields: {} }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PortalError);
    expect(error).toMatchObject({ code: '', description: 'The field STATUS_ID is required.', status: 400 });

    nock(ORIGIN).post('/rest/1/s3cr3tcode/batch').query(true).reply(200, ok({
      result: { a: 5 }, result_error: { b: { error: 'ERROR_CORE', error_description: 'The specified status ID already exists.<br>' } },
      result_total: [], result_next: [], result_time: [],
    }));
    const r = await client().batch({ a: { method: 'crm.status.add' }, b: { method: 'crm.status.add' } });
    expect(r.result).toEqual({ a: 5 });
    expect(r.errors.b).toMatchObject({ method: 'crm.status.add', code: 'ERROR_CORE' });
  });

  it('a request that never reached the portal is not sent again, and says why and what to do', async () => {
    const cases: [string, RegExp][] = [
      ['ECONNREFUSED', /cannot reach the portal at https:\/\/portal\.example\.com: nothing answers .*connection refused/],
      ['ENOTFOUND', /host name does not resolve/],
      ['UNABLE_TO_VERIFY_LEAF_SIGNATURE', /TLS certificate is not trusted .*NODE_EXTRA_CA_CERTS/],
    ];
    for (const [code, message] of cases) {
      const scope = nock(ORIGIN).post('/rest/1/s3cr3tcode/crm.status.list').query(true).replyWithError(Object.assign(new Error(`failed: ${code}`), { code }));
      const waits: string[] = [];
      const c = PortalClient.fromWebhook(`${ORIGIN}/rest/1/s3cr3tcode/`, { retry: { minDelayMs: 5, maxDelayMs: 20 }, onWait: (w) => waits.push(w.code) });
      const error = await c.call('crm.status.list').catch((e: unknown) => e);
      expect(error).toBeInstanceOf(UnreachableError);
      // Still a "not answered" error for callers that look objects up after one.
      expect(error).toBeInstanceOf(LostResponseError);
      expect(error).toMatchObject({ code: 'UNREACHABLE', message: expect.stringMatching(message) });
      expect((error as Error).message).not.toContain('s3cr3tcode');
      expect(scope.isDone()).toBe(true);
      expect([c.httpRequests, waits]).toEqual([1, []]);
    }
  });

  it('a connection reset after sending is a lost answer, asked again for a read', async () => {
    nock(ORIGIN).post('/rest/1/s3cr3tcode/crm.status.list').query(true).replyWithError(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }));
    nock(ORIGIN).post('/rest/1/s3cr3tcode/crm.status.list').query(true).reply(200, ok([{ ID: '1' }]));
    const waits: string[] = [];
    const c = PortalClient.fromWebhook(`${ORIGIN}/rest/1/s3cr3tcode/`, { retry: { minDelayMs: 5, maxDelayMs: 20 }, onWait: (w) => waits.push(w.code) });
    expect((await c.call('crm.status.list')).result).toEqual([{ ID: '1' }]);
    expect(waits).toEqual(['LOST_RESPONSE']);
  });
});
