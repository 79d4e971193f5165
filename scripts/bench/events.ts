// Event ingestion of the automation service: how many Bitrix24 events per second it accepts and how long the answer
// takes at the 99th percentile, with the durable SQLite queue (WAL, synchronous=FULL: each answer waits for its
// insert to reach the disk). The load generator is autocannon; the service listens on 127.0.0.1 only.
// The worker is off, so the numbers are the answer path alone: parse, validate, check the token, insert, answer.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import qs from 'qs';
import { loadServiceConfig } from '../../src/service/config.js';
import { createLogger } from '../../src/service/log.js';
import { startService } from '../../src/service/service.js';
import { defaultSettings } from '../../src/service/settings.js';
import { autocannon } from './autocannon.js';

export interface EventsBenchResult {
  eventsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** Requests autocannon sent, including those still in flight when the load stopped (answered, not counted). */
  sent: number;
  accepted: number;
  queued: number;
  rejected: number;
  durationSeconds: number;
  connections: number;
}

export async function benchEvents(options: { durationSeconds?: number; connections?: number } = {}): Promise<EventsBenchResult> {
  const durationSeconds = Math.min(options.durationSeconds ?? 10, 60);
  const connections = options.connections ?? 20;
  const dir = mkdtempSync(join(tmpdir(), 'autosalon-bench-events-'));
  const config = loadServiceConfig({}, { port: 0, dbFile: join(dir, 'service.sqlite'), stateDir: dir, logLevel: 'error', sweepIntervalSeconds: 0 });
  const service = await startService({ config, background: false, log: createLogger('error') });
  const applicationToken = 'bench-application-token';
  await service.store.savePortal({
    memberId: 'bench-member', domain: 'bench.bitrix24.ru', clientEndpoint: 'https://bench.bitrix24.ru/rest/', accessToken: '', refreshToken: '',
    expires: 0, scope: 'crm', userId: 1, applicationToken, lang: 'ru', tier: 'crm_plus', plan: 'pro', installedAt: Date.now(), installState: 'installed',
    settings: defaultSettings(),
  });
  let id = 0;
  try {
    const r = await autocannon({
      url: service.url,
      connections,
      duration: durationSeconds,
      requests: [{
        method: 'POST',
        path: '/events',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        setupRequest: (req) => ({
          ...req,
          body: qs.stringify({
            event: id % 3 === 0 ? 'ONCRMLEADADD' : 'ONCRMDEALUPDATE', event_handler_id: '11', data: { FIELDS: { ID: String(++id) } },
            ts: String(Math.floor(Date.now() / 1000)),
            auth: { domain: 'bench.bitrix24.ru', member_id: 'bench-member', application_token: applicationToken, client_endpoint: 'https://bench.bitrix24.ru/rest/' },
          }),
        }),
      }],
    });
    const stats = await service.store.queueStats(Date.now());
    return {
      eventsPerSecond: Math.round(r.requests.total / r.duration),
      p50Ms: r.latency.p50,
      p99Ms: r.latency.p99,
      maxMs: r.latency.max,
      sent: id,
      accepted: r.requests.total - r.non2xx,
      queued: stats.queued,
      rejected: r.non2xx + r.errors + r.timeouts,
      durationSeconds: r.duration,
      connections,
    };
  } finally {
    await service.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Every event answered 200 was queued durably, and the queue holds no more than was sent. */
export function nothingLost(r: EventsBenchResult): boolean {
  return r.queued >= r.accepted && r.queued <= r.sent;
}

export function renderEventsBench(r: EventsBenchResult): string {
  return [
    `Event ingestion (autocannon, ${r.connections} connections, ${r.durationSeconds.toFixed(1)} s, SQLite WAL synchronous=FULL, worker off):`,
    `  ${r.eventsPerSecond} events/s accepted; answer latency p50 ${r.p50Ms} ms, p99 ${r.p99Ms} ms, max ${r.maxMs} ms`,
    `  ${r.sent} sent, ${r.accepted} answered 200 within the run, ${r.queued} jobs in the queue afterwards`
      + ` (the rest were in flight when the load stopped), ${r.rejected} rejected or failed`,
    `  [${nothingLost(r) ? 'ok' : 'FAIL'}] every event answered 200 is in the durable queue, and nothing more than was sent`,
  ].join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(renderEventsBench(await benchEvents({ durationSeconds: Number(process.env.BENCH_SECONDS ?? 10) })));
}
