// `npm start` without a portal runs the embedded emulator (state under .autosalon/emulator/). Node trusts extra CAs
// only from process start, so a process that does not yet trust the emulator's CA makes it and runs the same command
// again with NODE_EXTRA_CA_CERTS set (npm start and npm run bench both do).
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';


/** The embedded emulator listens here by default: a stable address keeps its URLs the same from one start to the next. */
export const EMBEDDED_PORT = 8943;

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
  // Loaded here: making certificates is needed only by the commands that start the emulator.
  const { ensureCertificates } = await import('../emulator/certs.js');
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
