// The leaky bucket (503 QUERY_LIMIT_EXCEEDED) and the per-method operating limit (429 OPERATION_TIME_LIMIT):
// docs limits.md, server notes §1.
import { afterEach, describe, expect, test } from 'vitest';
import type { RunningEmulator } from '../../src/emulator/index.js';
import { rawCall, startTestEmulator } from '../helpers/emulator.js';

let emu: RunningEmulator | undefined;
afterEach(async () => {
  await emu?.close();
  emu = undefined;
});

describe('request rate', () => {
  test('a burst of 70 single calls yields 503s; the same work as batches yields none', async () => {
    emu = await startTestEmulator();
    const statuses = await Promise.all(Array.from({ length: 70 }, () => rawCall(emu!, 'crm.lead.add', { fields: { TITLE: 'burst' } }).then((r) => r.status)));
    const refused = statuses.filter((s) => s === 503).length;
    expect(refused).toBeGreaterThan(0);
    expect(statuses.filter((s) => s === 200).length + refused).toBe(70);
    expect(emu.control.stats().rejected503).toBe(refused);
    await emu.close();

    emu = await startTestEmulator();
    const cmd = (from: number) => Object.fromEntries(Array.from({ length: 35 }, (_, i) => [`l${from + i}`, 'crm.lead.add?fields[TITLE]=batched']));
    const batched = await Promise.all([rawCall(emu, 'batch', { cmd: cmd(0) }), rawCall(emu, 'batch', { cmd: cmd(35) })]);
    expect(batched.map((r) => r.status)).toEqual([200, 200]);
    expect(emu.control.stats()).toMatchObject({ httpRequests: 2, rejected503: 0 });
    expect(emu.control.stats().calls['crm.lead.add']).toBe(70);
  });

  test('the refusal body, and the bucket drains with time (an advanced clock counts)', async () => {
    emu = await startTestEmulator({ rateLimit: { burst: 3, drainPerSecond: 1 } });
    const statuses: number[] = [];
    let refusal: unknown;
    for (let i = 0; i < 6; i++) {
      const r = await rawCall(emu, 'server.time');
      statuses.push(r.status);
      if (r.status === 503) refusal = r.body;
    }
    expect(statuses.slice(0, 4)).toEqual([200, 200, 200, 200]);
    expect(statuses).toContain(503);
    expect(refusal).toEqual({ error: 'QUERY_LIMIT_EXCEEDED', error_description: 'Too many requests' });
    emu.control.advanceClock(10_000);
    expect((await rawCall(emu, 'server.time')).status).toBe(200);
  });

  test('Enterprise plans get 250 / 5', async () => {
    emu = await startTestEmulator({ plan: 'ent250' });
    const statuses = await Promise.all(Array.from({ length: 120 }, () => rawCall(emu!, 'server.time').then((r) => r.status)));
    expect(statuses.every((s) => s === 200)).toBe(true);
  });

  test('limits off: no refusals and no operating fields', async () => {
    emu = await startTestEmulator({ limits: false });
    const statuses = await Promise.all(Array.from({ length: 80 }, () => rawCall(emu!, 'server.time').then((r) => r.status)));
    expect(statuses.every((s) => s === 200)).toBe(true);
    const { body } = await rawCall(emu, 'server.time');
    expect(body.time).not.toHaveProperty('operating');
  });
});

describe('operating time', () => {
  test('the call that crosses the limit completes; the next call of that method gets 429; others keep working', async () => {
    let now = Date.UTC(2027, 0, 15, 9, 0, 0);
    emu = await startTestEmulator({
      clock: () => now,
      operatingLimit: { limitSeconds: 10, windowSeconds: 600 },
      callCostSeconds: { 'crm.lead.list': 4 },
    });
    const first = await rawCall(emu, 'crm.lead.list');
    expect(first.status).toBe(200);
    expect((first.body.time as { operating: number }).operating).toBe(4);
    expect((first.body.time as { operating_reset_at: number }).operating_reset_at).toBe(Math.floor(now / 1000 / 60) * 60 + 600);
    expect((await rawCall(emu, 'crm.lead.list')).status).toBe(200);
    const crossing = await rawCall(emu, 'crm.lead.list');
    expect(crossing.status).toBe(200);
    expect((crossing.body.time as { operating: number }).operating).toBe(12);
    const blocked = await rawCall(emu, 'crm.lead.list');
    expect(blocked).toEqual({ status: 429, body: { error: 'OPERATION_TIME_LIMIT', error_description: 'Method is blocked due to operation time limit.' } });
    expect((await rawCall(emu, 'crm.deal.list')).status).toBe(200);
    // Inside a batch the command is refused on its own; batch itself is exempt.
    const inBatch = await rawCall(emu, 'batch', { cmd: { a: 'crm.lead.list', b: 'crm.deal.list' } });
    expect(inBatch.status).toBe(200);
    expect((inBatch.body.result as { result_error: Record<string, { error: string }> }).result_error.a.error).toBe('OPERATION_TIME_LIMIT');
    expect(emu.control.stats().rejected429).toBe(2);
    // Ten minutes later the buckets have left the window.
    now += 11 * 60_000;
    expect((await rawCall(emu, 'crm.lead.list')).status).toBe(200);
  });

  test('calls of 0.1 s or less are not recorded', async () => {
    emu = await startTestEmulator({ callCostSeconds: 0.1 });
    for (let i = 0; i < 3; i++) await rawCall(emu, 'crm.lead.list');
    const { body } = await rawCall(emu, 'crm.lead.list');
    expect((body.time as { operating: number }).operating).toBe(0);
    expect(body.time).not.toHaveProperty('operating_reset_at');
  });
});
