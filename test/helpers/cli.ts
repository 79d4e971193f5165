import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const BIN = fileURLToPath(new URL('../../bin/autosalon.js', import.meta.url));

export interface CliResult { status: number | null; stdout: string; stderr: string }

/**
 * The environment a CLI test starts from: English messages and no colour whatever the machine's locale and the test
 * runner's FORCE_COLOR; a test asks for Russian or colour explicitly. CI and NODE_DISABLE_COLORS are cleared too:
 * Node says a terminal has no colours when CI is set (unless it names a known CI vendor), which is the CI runner's
 * fact, not the terminal the test is about.
 */
export function cliEnv(env: Record<string, string | undefined>): NodeJS.ProcessEnv {
  return { ...process.env, LANG: 'C', LC_ALL: undefined, LC_MESSAGES: undefined, FORCE_COLOR: undefined, NO_COLOR: undefined, NODE_DISABLE_COLORS: undefined, CI: undefined, ...env };
}

/** Runs the real CLI in a child process, as a user would. */
export function runCli(args: string[], env: Record<string, string | undefined> = {}, timeoutMs = 60_000): CliResult {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: cliEnv(env), timeout: timeoutMs });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}
