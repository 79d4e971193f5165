// Fairness benchmark: one service, two portals on the emulator with the cloud limits on (plan pro: a burst of 50,
// then 2 requests/s each). Portal A imports 2,000 leads (2,000 ONCRMLEADADD events queued at the service), then
// portal B gets one lead: how long until B's "new lead" notification exists, and whether A ever got a 503 while
// the service worked through its backlog at A's own REST budget.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEmulator } from '../../src/emulator/index.js';
import { loadServiceConfig } from '../../src/service/config.js';
import { createLogger } from '../../src/service/log.js';
import { startService } from '../../src/service/service.js';
import { until } from './wait.js';

export interface FairnessResult {
  concurrency: number;
  backlog: number;
  /** ms from B's lead to B's notification. */
  servedBMs: number;
  /** A's jobs done by then. */
  aDone: number;
  a503: number;
  b503: number;
}

export async function benchFairness(options: { certDir: string; backlog?: number; concurrency?: number }): Promise<FairnessResult> {
  const backlog = options.backlog ?? 2000;
  const concurrency = options.concurrency ?? 8;
  const dir = mkdtempSync(join(tmpdir(), 'autosalon-bench-fairness-'));
  const emulator = await startEmulator({ certDir: options.certDir, portals: 2, latencyMs: 20 });
  const [a, b] = emulator.portals;
  const registered = await a.control.installApp({});
  const config = loadServiceConfig({}, {
    port: 0, dbFile: join(dir, 'service.sqlite'), stateDir: dir, oauthUrl: emulator.oauthUrl, logLevel: 'error', sweepIntervalSeconds: 0,
    app: { clientId: registered.clientId, clientSecret: registered.clientSecret }, workerConcurrency: concurrency, secretKey: Buffer.alloc(32, 9),
  });
  const service = await startService({ config, log: createLogger('error'), localPortal: true });
  try {
    for (const portal of [a, b]) await portal.control.installApp({ clientId: registered.clientId, handlerUrl: `${service.url}/install` });
    await until('fairness bench: both installs', async () => {
      const states = await Promise.all([a, b].map(async (p) => (await service.store.getPortal(p.memberId))?.installState));
      return states.every((s) => s === 'installed') ? true : undefined;
    }, 120_000);
    // The installs spent part of each portal's budget: start from full buckets, as after a quiet minute.
    for (const portal of [a, b]) {
      portal.control.resetLimits();
      portal.control.resetStats();
    }
    for (let i = 0; i < backlog; i++) a.control.addRecord('lead', { TITLE: `Импорт ${i}`, SOURCE_ID: 'WEB', ASSIGNED_BY_ID: 3 });
    await until('fairness bench: A\'s events queued at the service', async () => {
      const queued = (await service.store.queueStatsByPortal(Date.now())).get(a.memberId);
      return queued && queued.queued + queued.running + queued.done >= backlog ? true : undefined;
    }, 120_000);
    const started = Date.now();
    b.control.addRecord('lead', { TITLE: 'Лид портала B', SOURCE_ID: 'WEB', ASSIGNED_BY_ID: 3 });
    await until('fairness bench: B\'s notification', () => (b.control.collection('notifications').some((n) => n.message === 'Новый лид: Лид портала B') ? true : undefined), 120_000);
    const servedBMs = Date.now() - started;
    const aDone = (await service.store.queueStatsByPortal(Date.now())).get(a.memberId)?.done ?? 0;
    return { concurrency, backlog, servedBMs, aDone, a503: a.control.stats().rejected503, b503: b.control.stats().rejected503 };
  } finally {
    await service.close();
    await emulator.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** B is served within a few seconds, and neither portal's budget was exceeded. */
export function fairnessTargets(r: FairnessResult): { ok: boolean; text: string }[] {
  return [
    { ok: r.servedBMs <= 5000, text: `portal B's job served within 5 s behind ${r.backlog} queued jobs of portal A (${(r.servedBMs / 1000).toFixed(2)} s)` },
    { ok: r.a503 === 0 && r.b503 === 0, text: `no portal over its REST budget (503s: A ${r.a503}, B ${r.b503})` },
  ];
}

export function renderFairnessBench(results: FairnessResult[]): string {
  const lines = ['Fairness — two portals, emulator limits on (plan pro: burst 50, drain 2/s each), 20 ms latency; A has a backlog of queued lead events'];
  lines.push('  worker concurrency   A backlog   B served after   A jobs done by then   503s A/B');
  for (const r of results) {
    lines.push(`  ${String(r.concurrency).padStart(18)}   ${String(r.backlog).padStart(9)}   ${`${(r.servedBMs / 1000).toFixed(2)} s`.padStart(14)}   ${String(r.aDone).padStart(19)}   ${r.a503}/${r.b503}`);
  }
  for (const t of results.flatMap(fairnessTargets)) lines.push(`  [${t.ok ? 'ok' : 'FAIL'}] ${t.text}`);
  return lines.join('\n');
}
