import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Job, ServiceStore } from '../../src/service/store/types.js';
import { Worker } from '../../src/service/worker.js';
import { BACKENDS, storePlace, type StorePlace } from '../helpers/stores.js';

// The worker on both stores: the rotation of portals and the batches of one portal hold on either.
describe.each(BACKENDS)('the worker on %s', (backend) => {
let place: StorePlace;
let store: ServiceStore;
let now: number;
const clock = () => now;

beforeEach(async () => {
  place = await storePlace(backend);
  store = await place.open();
  now = 1_000_000;
});
afterEach(async () => {
  await store.close();
  place.cleanup();
});

class Permanent extends Error {}

describe('Worker', () => {
  it('runs due jobs by the injected clock and leaves scheduled ones for later', async () => {
    const ran: unknown[] = [];
    const worker = new Worker(store, async (job) => void ran.push(job.payload), { clock, startDelayMs: 0, pollMs: 10 });
    await store.enqueue({ memberId: 'm', kind: 'event', payload: 'now', runAt: now });
    await store.enqueue({ memberId: 'm', kind: 'delayed', payload: 'in an hour', runAt: now + 3_600_000 });
    expect(await worker.drain()).toBe(1);
    expect(ran).toEqual(['now']);
    now += 3_600_000;
    expect(await worker.drain()).toBe(1);
    expect(ran).toEqual(['now', 'in an hour']);
    expect(await store.queueStats(now)).toMatchObject({ queued: 0, done: 2 });
  });

  it('retries a failing job with growing backoff, then parks it as failed', async () => {
    const errors: [number, boolean][] = [];
    const worker = new Worker(store, async () => { throw new Error('portal down'); }, {
      clock, startDelayMs: 0, pollMs: 10, maxAttempts: 3, retryBaseMs: 1000,
      onError: (job, _e, willRetry) => errors.push([job.attempts, willRetry]),
    });
    const { id } = await store.enqueue({ memberId: 'm', kind: 'event', payload: null, runAt: now });
    await worker.drain();
    const [queued] = await store.listJobs({ status: 'queued' });
    expect(queued.runAt).toBe(now + 1000);
    now += 1000;
    await worker.drain();
    expect((await store.listJobs({ status: 'queued' }))[0].runAt).toBe(now + 2000);
    now += 2000;
    await worker.drain();
    expect(errors).toEqual([[1, true], [2, true], [3, false]]);
    expect(await store.listJobs({ status: 'failed' })).toMatchObject([{ id, lastError: 'portal down' }]);
  });

  it('a permanent error fails the job at once', async () => {
    const worker = new Worker(store, async () => { throw new Permanent('no such pipeline'); }, {
      clock, startDelayMs: 0, pollMs: 10, isPermanent: (e) => e instanceof Permanent,
    });
    await store.enqueue({ memberId: 'm', kind: 'event', payload: null, runAt: now });
    await worker.drain();
    expect(await store.listJobs({ status: 'failed' })).toHaveLength(1);
  });

  it('the background loop waits out the start delay, then runs queued jobs when woken', async () => {
    const ran: Job[] = [];
    const worker = new Worker(store, async (job) => void ran.push(job), { clock, startDelayMs: 150, pollMs: 5000 });
    await store.enqueue({ memberId: 'm', kind: 'event', payload: 1, runAt: now });
    worker.start();
    worker.wake();
    await new Promise((r) => setTimeout(r, 60));
    expect(ran).toHaveLength(0);
    await new Promise((r) => setTimeout(r, 200));
    expect(ran).toHaveLength(1);
    await store.enqueue({ memberId: 'm', kind: 'event', payload: 2, runAt: now });
    worker.wake();
    await new Promise((r) => setTimeout(r, 50));
    expect(ran.map((j) => j.payload)).toEqual([1, 2]);
    await worker.stop();
  });

  it('keeps serving when the store fails for a while (the database restarting): tries again, then runs what is queued', async () => {
    let down = true;
    const errors: unknown[] = [];
    // The store as the worker sees it: every call fails while it is down.
    const flaky = new Proxy(store, {
      get(target, name, receiver) {
        const value = Reflect.get(target, name, receiver) as unknown;
        if (typeof value !== 'function') return value;
        return (...args: unknown[]) => (down ? Promise.reject(new Error('the database system is shutting down')) : (value as (...a: unknown[]) => unknown).apply(target, args));
      },
    });
    const ran: Job[] = [];
    const worker = new Worker(flaky, async (job) => void ran.push(job), { clock, startDelayMs: 0, pollMs: 10, onError: (_job, error) => void errors.push(error) });
    worker.start();
    await new Promise((r) => setTimeout(r, 100));
    expect(errors.length).toBeGreaterThan(1);
    down = false;
    await store.enqueue({ memberId: 'm', kind: 'event', payload: 1, runAt: now });
    worker.wake();
    await new Promise((r) => setTimeout(r, 100));
    expect(ran.map((j) => j.payload)).toEqual([1]);
    await worker.stop();
  });
});

describe('Worker across portals', () => {
  it('without batching, one job per portal at a time; a portal\'s backlog does not delay another portal', async () => {
    const ran: string[] = [];
    let runningOfA = 0;
    let mostOfAAtOnce = 0;
    const worker = new Worker(store, async (job) => {
      if (job.memberId === 'A') {
        runningOfA++;
        mostOfAAtOnce = Math.max(mostOfAAtOnce, runningOfA);
      }
      // A job waits on its portal's REST budget: time passes, nothing else blocks.
      await new Promise((r) => setTimeout(r, 5));
      ran.push(`${job.memberId}${String(job.payload)}`);
      if (job.memberId === 'A') runningOfA--;
    }, { clock, startDelayMs: 0, pollMs: 10, concurrency: 4, batchSize: 1 });
    for (let i = 0; i < 200; i++) await store.enqueue({ memberId: 'A', kind: 'event', payload: i, runAt: now });
    await store.enqueue({ memberId: 'B', kind: 'event', payload: 0, runAt: now + 1 });
    now += 1;
    expect(await worker.drain()).toBe(201);
    // B's one job ran among A's first, not after A's 200.
    expect(ran.indexOf('B0')).toBeLessThan(3);
    expect(mostOfAAtOnce).toBe(1);
    // A's own jobs ran in order.
    expect(ran.filter((r) => r.startsWith('A'))).toEqual(Array.from({ length: 200 }, (_, i) => `A${i}`));
  });

  it('takes a batch of a portal\'s due jobs and runs them side by side; jobs of one item one after another; the other portal meanwhile', async () => {
    const ran: string[] = [];
    const running = new Map<string, number>();
    let mostOfAAtOnce = 0;
    const overlapping: string[] = [];
    const worker = new Worker(store, async (job) => {
      const { item } = job.payload as { item: string };
      if (running.has(item)) overlapping.push(item);
      running.set(item, job.id);
      mostOfAAtOnce = Math.max(mostOfAAtOnce, [...running.keys()].filter((k) => k.startsWith('A')).length);
      await new Promise((r) => setTimeout(r, 5));
      running.delete(item);
      ran.push(`${item}#${job.id}`);
    }, { clock, startDelayMs: 0, pollMs: 10, concurrency: 4, batchSize: 50, serialKey: (job) => (job.payload as { item: string }).item });
    // 120 jobs of A on 100 items (the first 20 items twice), then one of B.
    const ids: number[] = [];
    for (let i = 0; i < 120; i++) ids.push((await store.enqueue({ memberId: 'A', kind: 'event', payload: { item: `A${i % 100}` }, runAt: now })).id);
    await store.enqueue({ memberId: 'B', kind: 'event', payload: { item: 'B0' }, runAt: now + 1 });
    now += 1;
    expect(await worker.drain()).toBe(121);
    expect(mostOfAAtOnce).toBeGreaterThan(40);
    expect(mostOfAAtOnce).toBeLessThanOrEqual(50);
    expect(overlapping).toEqual([]);
    // B's job ran while A's first batch did, not after A's 120.
    expect(ran.findIndex((r) => r.startsWith('B0'))).toBeLessThanOrEqual(50);
    // The two jobs of an item ran in the order they were queued.
    expect(ran.filter((r) => r.startsWith('A7#'))).toEqual([`A7#${ids[7]}`, `A7#${ids[107]}`]);
    expect(await store.queueStats(now)).toMatchObject({ queued: 0, running: 0, done: 121 });
  });

  it('a failing job of a batch is retried alone; the others are done', async () => {
    const worker = new Worker(store, async (job) => {
      if ((job.payload as { n: number }).n === 3) throw new Error('this one failed');
    }, { clock, startDelayMs: 0, pollMs: 10, batchSize: 50, retryBaseMs: 1000 });
    for (let n = 0; n < 6; n++) await store.enqueue({ memberId: 'A', kind: 'event', payload: { n }, runAt: now });
    expect(await worker.drain()).toBe(6);
    expect(await store.listJobs({ status: 'queued' })).toMatchObject([{ payload: { n: 3 }, runAt: now + 1000, lastError: 'this one failed' }]);
    expect(await store.listJobs({ status: 'done' })).toHaveLength(5);
  });

  it('an exclusive job runs alone: after the portal\'s earlier jobs, before its later ones', async () => {
    const log: string[] = [];
    const worker = new Worker(store, async (job) => {
      const { name } = job.payload as { name: string };
      log.push(`start ${name}`);
      await new Promise((r) => setTimeout(r, name === 'install' ? 20 : 5));
      log.push(`end ${name}`);
    }, { clock, startDelayMs: 0, pollMs: 10, batchSize: 50, exclusive: (job) => job.kind === 'install' });
    for (const name of ['a', 'b']) await store.enqueue({ memberId: 'A', kind: 'event', payload: { name }, runAt: now });
    await store.enqueue({ memberId: 'A', kind: 'install', payload: { name: 'install' }, runAt: now });
    for (const name of ['c', 'd']) await store.enqueue({ memberId: 'A', kind: 'event', payload: { name }, runAt: now });
    expect(await worker.drain()).toBe(5);
    const at = (entry: string) => log.indexOf(entry);
    expect(at('start install')).toBeGreaterThan(Math.max(at('end a'), at('end b')));
    expect(Math.min(at('start c'), at('start d'))).toBeGreaterThan(at('end install'));
  });
});
});
