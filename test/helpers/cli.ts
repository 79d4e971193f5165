import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const BIN = fileURLToPath(new URL('../../bin/autosalon.js', import.meta.url));

export interface CliResult { status: number | null; stdout: string; stderr: string }

/** Runs the real CLI in a child process, as a user would. */
export function runCli(args: string[], env: Record<string, string | undefined> = {}, timeoutMs = 60_000): CliResult {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { ...process.env, ...env }, timeout: timeoutMs });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}
