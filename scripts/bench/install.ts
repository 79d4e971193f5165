// Installer benchmark against the emulator with the cloud limits on (plan pro: a burst of 50, then 2 requests/s)
// and 50 ms of latency per request: a fresh crm_plus install, a re-run that has nothing to do, and a naive baseline
// that makes one REST call per object (the same plan, every command sent on its own instead of in batches); plus the
// fresh install in app mode, which also registers robots, the trigger, event bindings and the business process.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEmulator, type RunningEmulator } from '../../src/emulator/index.js';
import { runInstall } from '../../src/install/apply.js';
import type { InstallReport } from '../../src/install/model.js';
import { LostResponseError, PortalClient, PortalError, type BatchResult, type RestParams } from '../../src/portal/client.js';

export interface ScenarioResult {
  name: string;
  httpRequests: number;
  rejected503: number;
  rejected429: number;
  wallMs: number;
  converged: boolean;
  changes: number;
}

export interface InstallBenchResult { latencyMs: number; scenarios: ScenarioResult[] }

const RESULT_REF = /\$result((?:\[[^\]]+\])+)/g;

function lookup(results: Record<string, unknown>, path: string): unknown {
  const parts = [...path.matchAll(/\[([^\]]+)\]/g)].map((m) => m[1]);
  let value: unknown = results;
  for (const p of parts) value = (value as Record<string, unknown> | undefined)?.[p];
  return value;
}

/** `$result[...]` as the portal resolves it inside a batch: a whole value is replaced as is, an embedded one as text. */
function substitute(value: unknown, results: Record<string, unknown>): unknown {
  if (typeof value === 'string') {
    const whole = /^\$result((?:\[[^\]]+\])+)$/.exec(value);
    if (whole) return lookup(results, whole[1]);
    return value.replace(RESULT_REF, (all, path: string) => {
      const v = lookup(results, path);
      return typeof v === 'string' || typeof v === 'number' ? String(v) : all;
    });
  }
  if (Array.isArray(value)) return value.map((v) => substitute(v, results));
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, substitute(v, results)]));
  return value;
}

/** The same client, but every batch is sent as one REST call per command: what an installer without batches does. */
export function oneCallPerObject(client: PortalClient): PortalClient {
  const naive = Object.create(client) as PortalClient;
  naive.batch = async (commands): Promise<BatchResult> => {
    const out: BatchResult = { result: {}, errors: {}, total: {}, next: {} };
    for (const [key, command] of Object.entries(commands)) {
      try {
        const r = await client.call(command.method, substitute(command.params ?? {}, out.result) as RestParams);
        out.result[key] = r.result;
        if (r.total !== undefined) out.total[key] = r.total;
      } catch (error) {
        if (!(error instanceof PortalError) || error instanceof LostResponseError) throw error;
        out.errors[key] = error;
      }
    }
    return out;
  };
  return naive;
}

async function measure(name: string, emulator: RunningEmulator, run: () => Promise<InstallReport>): Promise<ScenarioResult> {
  emulator.control.resetStats();
  const started = performance.now();
  const report = await run();
  const wallMs = performance.now() - started;
  const stats = emulator.control.stats();
  if (report.failed.length) throw new Error(`${name}: ${report.failed.map((f) => f.reason).join('; ')}`);
  return {
    name, httpRequests: stats.httpRequests, rejected503: stats.rejected503, rejected429: stats.rejected429, wallMs,
    converged: report.converged, changes: report.created + report.updated + report.deleted,
  };
}

export async function benchInstall(options: { certDir: string; latencyMs?: number }): Promise<InstallBenchResult> {
  const latencyMs = options.latencyMs ?? 50;
  const work = mkdtempSync(join(tmpdir(), 'autosalon-bench-install-'));
  const emulatorOptions = { certDir: options.certDir, latencyMs, limits: true, plan: 'pro' };
  const scenarios: ScenarioResult[] = [];
  const batched = await startEmulator(emulatorOptions);
  try {
    const client = PortalClient.fromWebhook(batched.webhookUrl);
    const stateDir = join(work, 'batched');
    scenarios.push(await measure('fresh crm_plus install', batched, () => runInstall(client, { tier: 'crm_plus', stateDir })));
    scenarios.push(await measure('no-op re-run', batched, () => runInstall(client, { tier: 'crm_plus', stateDir })));
  } finally {
    await batched.close();
  }
  const appPortal = await startEmulator(emulatorOptions);
  try {
    // The same install as the application: robots, the trigger, the event bindings and the .bpt come on top.
    const app = await appPortal.control.installApp();
    const client = PortalClient.fromOAuth(
      {
        accessToken: app.accessToken, refreshToken: app.refreshToken, expires: app.expires, domain: app.domain, clientEndpoint: app.clientEndpoint,
        serverEndpoint: app.serverEndpoint, memberId: app.memberId, applicationToken: app.applicationToken, scope: app.scope, userId: app.userId,
      },
      { clientId: app.clientId, clientSecret: app.clientSecret },
      () => undefined,
    );
    const options = { stateDir: join(work, 'app'), app: { publicUrl: 'https://127.0.0.1:9443/autosalon', clientId: app.clientId } };
    scenarios.push(await measure('fresh crm_plus install as the app', appPortal, () => runInstall(client, options)));
  } finally {
    await appPortal.close();
  }
  const naive = await startEmulator(emulatorOptions);
  try {
    const client = oneCallPerObject(PortalClient.fromWebhook(naive.webhookUrl));
    scenarios.push(await measure('naive: one REST call per object', naive, () => runInstall(client, { tier: 'crm_plus', stateDir: join(work, 'naive') })));
  } finally {
    await naive.close();
    rmSync(work, { recursive: true, force: true });
  }
  return { latencyMs, scenarios };
}

/** The targets of the installer issue, each with what was measured. */
export function installTargets(r: InstallBenchResult): { ok: boolean; text: string }[] {
  const [fresh, noop, app] = r.scenarios;
  return [
    { ok: fresh.httpRequests <= 8 && fresh.rejected503 === 0, text: `fresh crm_plus install in ≤ 8 requests with no QUERY_LIMIT_EXCEEDED (${fresh.httpRequests}, ${fresh.rejected503})` },
    { ok: noop.httpRequests <= 2 && noop.changes === 0, text: `no-op re-run in ≤ 2 requests, changing nothing (${noop.httpRequests})` },
    { ok: app.httpRequests <= 8 && app.rejected503 === 0, text: `fresh install as the app, robots and events included, in ≤ 8 requests (${app.httpRequests})` },
  ];
}

export function renderInstallBench(r: InstallBenchResult): string {
  const [fresh, , , naive] = r.scenarios;
  const rows = r.scenarios.map((s) =>
    `  ${s.name.padEnd(34)} ${String(s.httpRequests).padStart(8)} ${String(s.rejected503).padStart(6)} ${String(s.rejected429).padStart(6)} ${(s.wallMs / 1000).toFixed(2).padStart(9)} s   ${s.changes} change(s)${s.converged ? '' : ', NOT converged'}`);
  return [
    `Installer — emulator with limits on (plan pro: burst 50, drain 2/s), ${r.latencyMs} ms latency per request`,
    `  ${'scenario'.padEnd(34)} ${'requests'.padStart(8)} ${'503s'.padStart(6)} ${'429s'.padStart(6)} ${'wall time'.padStart(11)}`,
    ...rows,
    `  naive / batched: ${(naive.httpRequests / fresh.httpRequests).toFixed(1)}× the requests, ${(naive.wallMs / fresh.wallMs).toFixed(1)}× the wall time`,
    ...installTargets(r).map((t) => `  [${t.ok ? 'ok' : 'FAIL'}] ${t.text}`),
  ].join('\n');
}
