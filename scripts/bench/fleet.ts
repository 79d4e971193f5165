// Fleets and the CLI, against emulators with the cloud limits on (plan pro) and a fixed latency per request:
//  - a fleet of 10 portals installed with install --portals' runner (4 at a time): total time against one portal
//    installed alone, times ten, and the requests each portal took;
//  - the CLI as a person or a script runs it (a child process: start-up included) at 150 ms per request: a fresh
//    install and a no-op re-run, each against requests × latency (target ≤ 1.5×), and the start-up alone (--version);
//    the median of three portals, as other work on the machine moves single runs.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startEmulator, type RunningEmulator } from '../../src/emulator/index.js';
import { runInstall } from '../../src/install/apply.js';
import { runFleet, type FleetRow } from '../../src/install/fleet.js';
import { PortalClient } from '../../src/portal/client.js';
import { loadTemplate } from '../../src/template/loader.js';

const BIN = fileURLToPath(new URL('../../bin/autosalon.js', import.meta.url));

export interface FleetBenchResult {
  latencyMs: number;
  portals: number;
  concurrency: number;
  singleMs: number;
  singleRequests: number;
  fleetMs: number;
  rows: FleetRow[];
}

export interface CliRun { name: string; wallMs: number; requests: number; ratio: number }
export interface CliBenchResult { latencyMs: number; startupMs: number; runs: CliRun[]; fromBuild: boolean }

const emulatorOptions = (certDir: string, latencyMs: number) => ({ certDir, latencyMs, limits: true, plan: 'pro' });

export async function benchFleet(options: { certDir: string; portals?: number; concurrency?: number; latencyMs?: number }): Promise<FleetBenchResult> {
  const portals = options.portals ?? 10;
  const concurrency = options.concurrency ?? 4;
  const latencyMs = options.latencyMs ?? 50;
  const template = loadTemplate();
  const work = mkdtempSync(join(tmpdir(), 'autosalon-bench-fleet-'));
  const emulators: RunningEmulator[] = [];
  try {
    const single = await startEmulator(emulatorOptions(options.certDir, latencyMs));
    emulators.push(single);
    const started = performance.now();
    const report = await runInstall(PortalClient.fromWebhook(single.webhookUrl), { tier: 'crm_plus', stateDir: join(work, 'single'), template });
    const singleMs = performance.now() - started;
    if (!report.converged) throw new Error('the single portal did not converge');

    emulators.push(...(await Promise.all(Array.from({ length: portals }, () => startEmulator(emulatorOptions(options.certDir, latencyMs))))));
    const fleet = emulators.slice(1).map((e, i) => ({ name: `portal-${String(i + 1).padStart(2, '0')}`, webhook: e.webhookUrl, tier: 'crm_plus' }));
    const fleetStarted = performance.now();
    const rows = await runFleet(fleet, { template, stateDir: join(work, 'fleet'), concurrency, yes: true });
    const fleetMs = performance.now() - fleetStarted;
    const failed = rows.filter((r) => r.result !== 'done');
    if (failed.length) throw new Error(`fleet: ${failed.map((r) => `${r.name} ${r.result} ${r.message ?? ''}`).join('; ')}`);
    return { latencyMs, portals, concurrency, singleMs, singleRequests: report.httpRequests, fleetMs, rows };
  } finally {
    await Promise.all(emulators.map((e) => e.close()));
    rmSync(work, { recursive: true, force: true });
  }
}

function runCli(args: string[], env: Record<string, string>): Promise<{ status: number | null; ms: number; stdout: string }> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, LANG: 'C', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    child.stderr.resume();
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, ms: performance.now() - started, stdout }));
  });
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

export async function benchCli(options: { certDir: string; latencyMs?: number; repeat?: number }): Promise<CliBenchResult> {
  const latencyMs = options.latencyMs ?? 150;
  const names = ['fresh crm_plus install', 'no-op re-run'];
  const samples = names.map(() => ({ ms: [] as number[], requests: [] as number[] }));
  const startups: number[] = [];
  for (let i = 0; i < (options.repeat ?? 3); i++) {
    const work = mkdtempSync(join(tmpdir(), 'autosalon-bench-cli-'));
    const emulator = await startEmulator(emulatorOptions(options.certDir, latencyMs));
    try {
      const env = { B24_WEBHOOK_URL: emulator.webhookUrl, AUTOSALON_STATE_DIR: work };
      startups.push((await runCli(['--version'], env)).ms);
      for (const [n, name] of names.entries()) {
        emulator.control.resetStats();
        const r = await runCli(['install', '--tier', 'crm_plus', '--yes', '--json'], env);
        if (r.status !== 0) throw new Error(`${name}: the CLI exited with ${r.status}`);
        samples[n].ms.push(r.ms);
        samples[n].requests.push(emulator.control.stats().httpRequests);
      }
    } finally {
      await emulator.close();
      rmSync(work, { recursive: true, force: true });
    }
  }
  const runs = names.map((name, n) => {
    const wallMs = median(samples[n].ms);
    const requests = median(samples[n].requests);
    return { name, wallMs, requests, ratio: wallMs / (requests * latencyMs) };
  });
  // The compiled build starts in well under half a second; tsx (a source newer than the build) takes longer.
  return { latencyMs, startupMs: median(startups), runs, fromBuild: median(startups) < 400 };
}

/** The targets of the CLI issue, each with what was measured. */
export function cliTargets(r: CliBenchResult): { ok: boolean; text: string }[] {
  return r.runs.map((run) => ({
    ok: run.ratio <= 1.5,
    text: `${run.name} through the CLI ≤ 1.5 × requests × latency (${run.ratio.toFixed(2)}×: ${(run.wallMs / 1000).toFixed(2)} s for ${run.requests} × ${r.latencyMs} ms)`,
  }));
}

export function renderFleetBench(r: FleetBenchResult): string {
  const requests = r.rows.map((row) => row.requests);
  const avg = requests.reduce((a, b) => a + b, 0) / requests.length;
  return [
    `Fleet — ${r.portals} emulated portals (plan pro, limits on), ${r.latencyMs} ms latency per request, ${r.concurrency} at a time`,
    `  one portal alone            ${(r.singleMs / 1000).toFixed(2).padStart(6)} s   ${r.singleRequests} requests`,
    `  one portal × ${r.portals}              ${((r.singleMs * r.portals) / 1000).toFixed(2).padStart(6)} s`,
    `  the fleet of ${r.portals}             ${(r.fleetMs / 1000).toFixed(2).padStart(6)} s   (${((r.singleMs * r.portals) / r.fleetMs).toFixed(1)}× faster than one after another)`,
    `  requests per portal         min ${Math.min(...requests)}, max ${Math.max(...requests)}, average ${avg.toFixed(1)}`,
  ].join('\n');
}

export function renderCliBench(r: CliBenchResult): string {
  return [
    `CLI — a child process as a person runs it (${r.fromBuild ? 'the compiled build' : 'tsx: the build is older than the sources, run npm run build'}), ${r.latencyMs} ms latency per request, median of 3`,
    `  start-up alone (--version)  ${(r.startupMs / 1000).toFixed(2).padStart(6)} s`,
    ...r.runs.map((run) => `  ${run.name.padEnd(27)} ${(run.wallMs / 1000).toFixed(2).padStart(6)} s   ${run.requests} requests × ${r.latencyMs} ms = ${((run.requests * r.latencyMs) / 1000).toFixed(2)} s   → ${run.ratio.toFixed(2)}×`),
    ...cliTargets(r).map((t) => `  [${t.ok ? 'ok' : 'FAIL'}] ${t.text}`),
  ].join('\n');
}
