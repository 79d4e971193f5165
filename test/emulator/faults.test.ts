// REST fault switches (PUT /_control/faults, per portal, seeded): injected refusals carry the documented bodies of the
// real ones (_includes/system-errors.md: 503 QUERY_LIMIT_EXCEEDED "Too many requests"; 429 OPERATION_TIME_LIMIT,
// limits.md) and are counted apart from them; a lost answer is a call that was executed.
import { request as httpsRequest } from 'node:https';
import { afterEach, describe, expect, test } from 'vitest';
import type { RunningEmulator } from '../../src/emulator/index.js';
import { rawCall, startTestEmulator } from '../helpers/emulator.js';

let emu: RunningEmulator | undefined;
afterEach(async () => {
  await emu?.close();
  emu = undefined;
});

const control = async (e: RunningEmulator, method: string, path: string, body?: unknown) => {
  const r = await fetch(`${e.controlUrl}${path}`, { method, headers: { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
  return { status: r.status, body: (await r.json()) as Record<string, unknown> };
};

/** A REST call that reports a dropped connection instead of throwing. */
async function attempt(e: Pick<RunningEmulator, 'webhookUrl'>, method: string, params: Record<string, unknown> = {}): Promise<number | 'lost'> {
  try {
    return (await rawCall(e, method, params)).status;
  } catch (error) {
    if (error instanceof TypeError && /fetch failed/.test(error.message)) return 'lost';
    throw error;
  }
}

describe('REST faults', () => {
  test('rest503Next refuses the next requests up front with the documented body; nothing runs; counted apart', async () => {
    emu = await startTestEmulator({ limits: false });
    emu.control.setFaults({ rest503Next: 2 });
    const first = await rawCall(emu, 'crm.lead.add', { fields: { TITLE: 'refused' } });
    expect(first).toEqual({ status: 503, body: { error: 'QUERY_LIMIT_EXCEEDED', error_description: 'Too many requests' } });
    expect((await rawCall(emu, 'crm.lead.add', { fields: {} })).status).toBe(503);
    expect((await rawCall(emu, 'crm.lead.add', { fields: { TITLE: 'third' } })).status).toBe(200);
    expect(emu.control.collection('crm').lead.map((l) => l.TITLE)).toEqual(['third']);
    expect(emu.control.stats()).toMatchObject({ httpRequests: 3, injected503: 2, rejected503: 0, calls: { 'crm.lead.add': 1 } });
    expect(emu.control.faults()).toMatchObject({ rest503Next: 0 });
  });

  test('rest429Next refuses method calls one by one: inside a batch, only the commands it hits', async () => {
    emu = await startTestEmulator({ limits: false });
    emu.control.setFaults({ rest429Next: 2 });
    const cmd = { a: 'crm.lead.add?fields[TITLE]=a', b: 'crm.lead.add?fields[TITLE]=b', c: 'crm.lead.add?fields[TITLE]=c' };
    const { status, body } = await rawCall(emu, 'batch', { cmd });
    expect(status).toBe(200);
    const result = body.result as { result: Record<string, unknown>; result_error: Record<string, unknown> };
    expect(result.result_error).toEqual({
      a: { error: 'OPERATION_TIME_LIMIT', error_description: 'Method is blocked due to operation time limit.' },
      b: { error: 'OPERATION_TIME_LIMIT', error_description: 'Method is blocked due to operation time limit.' },
    });
    expect(Object.keys(result.result)).toEqual(['c']);
    expect(emu.control.collection('crm').lead.map((l) => l.TITLE)).toEqual(['c']);
    expect(emu.control.stats()).toMatchObject({ injected429: 2, rejected429: 0 });
    // A single call gets the HTTP status of the real refusal.
    emu.control.setFaults({ rest429Next: 1 });
    expect(await rawCall(emu, 'crm.lead.list')).toEqual({ status: 429, body: { error: 'OPERATION_TIME_LIMIT', error_description: 'Method is blocked due to operation time limit.' } });
  });

  test('lostAnswerNext: the create is executed and saved, then the connection is dropped without an answer', async () => {
    emu = await startTestEmulator({ limits: false });
    emu.control.setFaults({ lostAnswerNext: 1 });
    expect(await attempt(emu, 'crm.lead.add', { fields: { TITLE: 'done but unanswered' } })).toBe('lost');
    expect(emu.control.collection('crm').lead.map((l) => l.TITLE)).toEqual(['done but unanswered']);
    expect(await attempt(emu, 'crm.lead.list')).toBe(200);
    expect(emu.control.stats()).toMatchObject({ lostAnswers: 1, calls: { 'crm.lead.add': 1, 'crm.lead.list': 1 } });
  });

  test('a latency spike delays the answer, which still arrives; spikes are counted', async () => {
    emu = await startTestEmulator({ limits: false });
    emu.control.setFaults({ latencySpikeMs: 30, latencySpikeRate: 1 });
    expect((await rawCall(emu, 'server.time')).status).toBe(200);
    expect((await rawCall(emu, 'server.time')).status).toBe(200);
    expect(emu.control.stats()).toMatchObject({ latencySpikes: 2, lostAnswers: 0 });
  });

  test('rates are seeded: the same seed gives the same pattern of faults', async () => {
    const pattern = async (seed: number) => {
      const e = await startTestEmulator({ limits: false });
      try {
        e.control.setFaults({ rest503Rate: 0.3, lostAnswerRate: 0.2, seed });
        const out: (number | 'lost')[] = [];
        for (let i = 0; i < 30; i++) out.push(await attempt(e, 'server.time'));
        const stats = e.control.stats();
        expect(stats.injected503).toBe(out.filter((s) => s === 503).length);
        expect(stats.lostAnswers).toBe(out.filter((s) => s === 'lost').length);
        return out;
      } finally {
        await e.close();
      }
    };
    const first = await pattern(7);
    expect(first).toContain(503);
    expect(first).toContain('lost');
    expect(first).toContain(200);
    expect(await pattern(7)).toEqual(first);
    expect(await pattern(8)).not.toEqual(first);
  });

  test('faults are per portal: a storm on A leaves B alone', async () => {
    emu = await startTestEmulator({ limits: false, portals: 2 });
    const [a, b] = emu.portals;
    a.control.setFaults({ rest503Rate: 1 });
    expect((await rawCall(a, 'server.time')).status).toBe(503);
    expect((await rawCall(b, 'server.time')).status).toBe(200);
    expect(b.control.stats().injected503).toBe(0);
  });

  test('PUT /_control/faults sets event and REST switches together; GET shows them; bad values are refused', async () => {
    emu = await startTestEmulator({ limits: false, portals: 2 });
    const put = await control(emu, 'PUT', '/faults?portal=2', { rest503Next: 1, dropNext: 1, seed: 5 });
    expect(put).toEqual({ status: 200, body: { ok: true } });
    expect((await control(emu, 'GET', '/faults?portal=2')).body).toEqual({
      dropRate: 0, duplicateRate: 0, dropNext: 1, duplicateNext: 0,
      rest503Rate: 0, rest429Rate: 0, lostAnswerRate: 0, latencySpikeMs: 0, latencySpikeRate: 0, rest503Next: 1, rest429Next: 0, lostAnswerNext: 0, seed: 5,
    });
    expect((await control(emu, 'GET', '/faults')).body).toMatchObject({ rest503Next: 0, dropNext: 0 });
    expect((await rawCall(emu.portals[1], 'server.time')).status).toBe(503);
    // setEventFaults keeps working and leaves the REST switches alone.
    emu.portals[1].control.setEventFaults({ duplicateNext: 1 });
    expect(emu.portals[1].control.faults()).toMatchObject({ duplicateNext: 1, dropNext: 0, rest503Next: 0 });

    expect(await control(emu, 'PUT', '/faults', { rest503Rate: 1.5 })).toEqual({ status: 400, body: { error: 'rest503Rate takes a share between 0 and 1 (got 1.5)' } });
    expect(await control(emu, 'PUT', '/faults', { lostAnswerNext: -1 })).toEqual({ status: 400, body: { error: 'lostAnswerNext takes a whole number of requests, 0 or more (got -1)' } });
    expect((await control(emu, 'PUT', '/faults', { lostAnswers: 1 })).body.error).toMatch(/^unknown fault switch "lostAnswers": use dropRate, duplicateRate, rest503Rate/);
  });

  test('a lost answer over raw HTTPS: the socket is reset, no response at all', async () => {
    emu = await startTestEmulator({ limits: false });
    emu.control.setFaults({ lostAnswerNext: 1 });
    const url = new URL(`${emu.webhookUrl}server.time.json`);
    const outcome = await new Promise<string>((resolve) => {
      const req = httpsRequest(url, { method: 'GET' }, (res) => resolve(`answered ${res.statusCode}`));
      req.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
      req.end();
    });
    expect(outcome).toBe('ECONNRESET');
  });
});
