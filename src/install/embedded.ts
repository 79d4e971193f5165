// `npm start` without a portal: the embedded emulator (state under .autosalon/emulator/) with the full template
// installed into it through its incoming webhook. Node trusts extra CAs only from process start, so a process that
// does not yet trust the emulator's CA makes it and runs the same command again with NODE_EXTRA_CA_CERTS set.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ensureCertificates } from '../emulator/certs.js';
import { startEmulator, type RunningEmulator } from '../emulator/index.js';
import { PortalClient } from '../portal/client.js';
import type { Lang } from '../template/model.js';
import { loadTemplate } from '../template/loader.js';
import { runInstall } from './apply.js';
import type { InstallReport } from './model.js';
import { renderPlan, renderProgress, renderSummary } from './render.js';

/** The embedded emulator listens here by default: a stable address keeps the portal's ledger (named by host:port). */
export const EMBEDDED_PORT = 8943;

export interface EmbeddedOptions {
  stateDir: string;
  port?: number;
  /** The emulated portal's plan (LICENSE_TYPE); it decides the tier, as app.info would. */
  plan?: string;
  lang?: Lang;
  print?: (text: string) => void;
  printProgress?: (text: string) => void;
}

export function embeddedDir(stateDir: string): string {
  return join(stateDir, 'emulator');
}

function sameFile(a: string | undefined, b: string): boolean {
  if (!a || !existsSync(a)) return false;
  return resolve(a) === resolve(b) || readFileSync(a, 'utf8') === readFileSync(b, 'utf8');
}

/**
 * Makes sure this process trusts `certDir`'s CA. If it does not, runs the same command in a child process that does
 * (stdio inherited) and resolves with the child's exit code; resolves with undefined when this process may go on.
 */
export async function relaunchTrustingCa(certDir: string): Promise<number | undefined> {
  const { caCertPath } = await ensureCertificates(certDir);
  if (sameFile(process.env.NODE_EXTRA_CA_CERTS, caCertPath)) return undefined;
  if (process.env.AUTOSALON_RELAUNCHED) {
    throw new Error(`NODE_EXTRA_CA_CERTS does not point at the emulator's CA (${caCertPath}) even after a restart`);
  }
  const child = spawn(process.execPath, [...process.execArgv, ...process.argv.slice(1)], {
    stdio: 'inherit',
    env: { ...process.env, NODE_EXTRA_CA_CERTS: caCertPath, AUTOSALON_RELAUNCHED: '1' },
  });
  // The child handles Ctrl-C itself (same process group); the parent only waits for it.
  const ignore = () => undefined;
  process.on('SIGINT', ignore);
  process.on('SIGTERM', ignore);
  return new Promise((resolvePromise, reject) => {
    child.on('error', reject);
    child.on('exit', (code, signal) => resolvePromise(code ?? (signal ? 1 : 0)));
  });
}

export interface EmbeddedRun { emulator: RunningEmulator; report: InstallReport; stateFile: string }

/** Starts the emulator (this process must trust its CA) and installs the template for the emulated plan. */
export async function installIntoEmbedded(options: EmbeddedOptions): Promise<EmbeddedRun> {
  const print = options.print ?? console.log;
  const dir = embeddedDir(options.stateDir);
  const stateFile = join(dir, 'portal.json');
  const plan = options.plan ?? 'pro';
  let emulator: RunningEmulator;
  try {
    emulator = await startEmulator({ port: options.port ?? EMBEDDED_PORT, stateFile, certDir: dir, plan });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      throw new Error(`port ${options.port ?? EMBEDDED_PORT} is taken (another emulator running?): stop it or pass --port N`, { cause: error });
    }
    throw error;
  }
  const template = loadTemplate();
  const client = PortalClient.fromWebhook(emulator.webhookUrl);
  try {
    const report = await runInstall(client, {
      // A webhook cannot read app.info: the emulated portal's plan is known here, so it says which tier to install.
      plan,
      lang: options.lang,
      stateDir: options.stateDir,
      template,
      onProgress: (event) => {
        if (event.type === 'plan' && event.round === 1) {
          print(renderPlan(event.plan, template, { target: `the embedded emulator ${emulator.origin}`, tierSource: `emulated plan ${plan}` }));
          print('');
          return;
        }
        const line = renderProgress(event);
        if (line) (options.printProgress ?? console.error)(line);
      },
    });
    print(renderSummary(report));
    print('');
    print([
      'The emulated portal:',
      `  REST        ${emulator.origin}/rest/  (incoming webhook: user 1; its secret is in ${stateFile})`,
      `  control API ${emulator.controlUrl}  (GET ${emulator.controlUrl}/stats)`,
      `  OAuth       ${emulator.oauthUrl}`,
      `  CA          ${emulator.caCertPath}  (NODE_EXTRA_CA_CERTS for clients)`,
      `  state       ${stateFile}`,
      `  ledger      ${report.stateDir}`,
    ].join('\n'));
    return { emulator, report, stateFile };
  } catch (error) {
    await emulator.close();
    throw error;
  }
}
