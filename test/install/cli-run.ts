// Runs the real CLI as a child process without blocking this process (an in-process emulator must keep answering).
import { spawn, type ChildProcess } from 'node:child_process';
import { BIN, cliEnv } from '../helpers/cli.js';

export interface CliRun { status: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }

export function runCliAsync(
  args: string[],
  env: Record<string, string | undefined>,
  options: { onStderr?: (text: string, child: ChildProcess) => void; timeoutMs?: number; cwd?: string; stdin?: string } = {},
): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: cliEnv(env), cwd: options.cwd, stdio: [options.stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    if (options.stdin !== undefined) child.stdin!.end(options.stdin);
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => { stdout += d.toString(); });
    child.stderr!.on('data', (d: Buffer) => {
      stderr += d.toString();
      options.onStderr?.(stderr, child);
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
    child.on('error', reject);
    child.on('close', (status, signal) => {
      clearTimeout(timer);
      resolve({ status, signal, stdout, stderr });
    });
  });
}
