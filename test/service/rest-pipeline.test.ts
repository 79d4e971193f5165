// The per-portal batching pipeline against the emulator (limits off): calls of many callers share batch requests, a
// lone call goes as itself, a command's error reaches only its caller, and a lost batch answer is resolved per command.
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { RunningEmulator } from '../../src/emulator/index.js';
import { LostResponseError, PortalClient, PortalError, type BatchCommand } from '../../src/portal/client.js';
import { actionScope, RestPipeline } from '../../src/service/rest-pipeline.js';
import { digest } from '../../src/service/rules.js';
import { startTestEmulator } from '../helpers/emulator.js';

let emulator: RunningEmulator;
let client: PortalClient;

beforeAll(async () => {
  emulator = await startTestEmulator({ limits: false });
  client = PortalClient.fromWebhook(emulator.webhookUrl, { rateLimit: { burstLimit: 100_000, drainRate: 10_000 }, retry: { minDelayMs: 5, maxDelayMs: 20 } });
});
afterAll(() => emulator.close());
afterEach(() => {
  vi.restoreAllMocks();
  emulator.control.setFaults({});
});

const requests = () => emulator.control.stats();

describe('RestPipeline', () => {
  it('a lone call goes as the plain call; calls made together go as one batch, each caller getting its own answer', async () => {
    const pipeline = new RestPipeline(client);
    emulator.control.resetStats();
    const { result: alone } = await pipeline.call<number>('crm.lead.add', { fields: { TITLE: 'Один' } });
    expect(requests()).toMatchObject({ httpRequests: 1, calls: { 'crm.lead.add': 1 } });

    emulator.control.resetStats();
    const ids = await Promise.all(Array.from({ length: 30 }, (_, i) => pipeline.call<number>('crm.lead.add', { fields: { TITLE: `Лид ${i}` } })));
    const leads = await Promise.all(ids.map(({ result }) => pipeline.call<{ TITLE: string }>('crm.lead.get', { id: result })));
    expect(leads.map(({ result }) => result.TITLE)).toEqual(Array.from({ length: 30 }, (_, i) => `Лид ${i}`));
    expect(requests()).toMatchObject({ httpRequests: 2, calls: { batch: 2, 'crm.lead.add': 30, 'crm.lead.get': 30 } });
    expect(new Set(ids.map((r) => r.result)).size).toBe(30);
    expect(ids.every((r) => r.result > alone)).toBe(true);
  });

  it('more than 50 commands go in as few full batches as they fill', async () => {
    const pipeline = new RestPipeline(client);
    emulator.control.resetStats();
    await Promise.all(Array.from({ length: 120 }, () => pipeline.call('crm.lead.fields')));
    // Identical reads share one command.
    expect(requests().calls['crm.lead.fields']).toBe(1);
    emulator.control.resetStats();
    await Promise.all(Array.from({ length: 120 }, (_, i) => pipeline.call('crm.lead.list', { filter: { ID: i + 1 }, select: ['ID'] })));
    expect(requests()).toMatchObject({ httpRequests: 3, calls: { batch: 3, 'crm.lead.list': 120 } });
  });

  it('a caller\'s own batch keeps its $result references, whatever names its commands get in the shared batch', async () => {
    const pipeline = new RestPipeline(client);
    const chain = (title: string): Record<string, BatchCommand> => ({
      lead: { method: 'crm.lead.add', params: { fields: { TITLE: title } } },
      read: { method: 'crm.lead.get', params: { id: '$result[lead]' } },
    });
    const [a, b] = await Promise.all([pipeline.batch(chain('Цепочка А')), pipeline.batch(chain('Цепочка Б'))]);
    expect((a.result.read as { TITLE: string }).TITLE).toBe('Цепочка А');
    expect((b.result.read as { TITLE: string }).TITLE).toBe('Цепочка Б');
    expect(a.result.lead).not.toBe(b.result.lead);
  });

  it('every command carries the idempotency key of the action it serves', async () => {
    const pipeline = new RestPipeline(client);
    const sent: string[] = [];
    const batch = client.batch.bind(client);
    vi.spyOn(client, 'batch').mockImplementation(async (commands, options) => {
      sent.push(...Object.keys(commands));
      return batch(commands, options);
    });
    await Promise.all([
      actionScope.run('m|deal|1|deal.info.task|create|0', () => pipeline.call('crm.lead.fields')),
      actionScope.run('m|deal|2|deal.info.task|create|0', () => pipeline.call('crm.deal.fields')),
      pipeline.call('crm.contact.fields'),
    ]);
    expect(sent).toHaveLength(3);
    expect(sent.filter((k) => k.startsWith(`a${digest('m|deal|1|deal.info.task|create|0', 10)}_`))).toHaveLength(1);
    expect(sent.filter((k) => k.startsWith(`a${digest('m|deal|2|deal.info.task|create|0', 10)}_`))).toHaveLength(1);
  });

  it('a command\'s error reaches only its caller; the others get their results', async () => {
    const pipeline = new RestPipeline(client);
    const results = await Promise.allSettled([
      pipeline.call('crm.lead.add', { fields: { TITLE: 'Хороший' } }),
      pipeline.call('crm.lead.get', { id: 999_999 }),
      pipeline.call('crm.lead.add', { fields: { TITLE: 'Тоже хороший' } }),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    const error = (results[1] as PromiseRejectedResult).reason as PortalError;
    expect(error).toBeInstanceOf(PortalError);
    expect(error.method).toBe('crm.lead.get');
  });

  it('a lost batch answer: its reads are asked again, its writes are reported lost (their callers look them up), never sent again', async () => {
    const pipeline = new RestPipeline(client);
    emulator.control.resetStats();
    emulator.control.setFaults({ lostAnswerNext: 1 });
    const [write, read] = await Promise.allSettled([
      pipeline.call('crm.lead.add', { fields: { TITLE: 'Ответ потерян' } }),
      pipeline.call('crm.lead.fields'),
    ]);
    expect(write.status).toBe('rejected');
    expect((write as PromiseRejectedResult).reason).toBeInstanceOf(LostResponseError);
    expect(read.status).toBe('fulfilled');
    // The add ran once (its answer was lost); only the read went again.
    expect(requests()).toMatchObject({ lostAnswers: 1, calls: { 'crm.lead.add': 1, 'crm.lead.fields': 2 } });
    const found = await pipeline.call<unknown[]>('crm.lead.list', { filter: { TITLE: 'Ответ потерян' }, select: ['ID'] });
    expect(found.result).toHaveLength(1);
  });

  it('listAll reads the first page, then every other page in one batch', async () => {
    const pipeline = new RestPipeline(client);
    await Promise.all(Array.from({ length: 130 }, (_, i) => pipeline.call('crm.company.add', { fields: { TITLE: `Компания ${i}` } })));
    emulator.control.resetStats();
    const companies = await pipeline.listAll<{ ID: string }>('crm.company.list', { select: ['ID'], order: { ID: 'ASC' } });
    expect(companies.length).toBeGreaterThanOrEqual(130);
    expect(new Set(companies.map((c) => c.ID)).size).toBe(companies.length);
    expect(requests()).toMatchObject({ httpRequests: 2, calls: { batch: 1 } });
    // Asked to, it reads the first pages in the first request already.
    emulator.control.resetStats();
    const again = await pipeline.listAll<{ ID: string }>('crm.company.list', { select: ['ID'], order: { ID: 'ASC' } }, { firstPages: 5 });
    expect(again.map((c) => c.ID)).toEqual(companies.map((c) => c.ID));
    expect(requests()).toMatchObject({ httpRequests: 1, calls: { batch: 1, 'crm.company.list': 5 } });
  });

  it('under a tight budget it sends no request the portal would refuse, and jobs arriving one by one still share requests', async () => {
    // A portal that admits a burst of 3 and then 20 requests/s, and a client that knows it.
    const limited = await startTestEmulator({ rateLimit: { burst: 3, drainPerSecond: 20 } });
    try {
      const tight = PortalClient.fromWebhook(limited.webhookUrl, { rateLimit: { burstLimit: 3, drainRate: 20 } });
      const pipeline = new RestPipeline(tight);
      // 40 jobs of five steps each, arriving one by one over 200 ms.
      const job = async (n: number) => {
        await new Promise((resolve) => setTimeout(resolve, n * 5));
        for (let step = 0; step < 5; step++) await pipeline.call('crm.lead.list', { filter: { ID: n * 10 + step }, select: ['ID'] });
      };
      await Promise.all(Array.from({ length: 40 }, (_, n) => job(n)));
      const stats = limited.control.stats();
      expect(stats.rejected503).toBe(0);
      expect(stats.calls['crm.lead.list']).toBe(200);
      // While the budget makes them wait, the jobs' calls gather: 200 commands in a dozen requests, not 200.
      expect(stats.httpRequests).toBeLessThanOrEqual(15);
    } finally {
      await limited.close();
    }
  });
});
