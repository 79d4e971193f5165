// The CLI on a terminal and piped: colour only on a terminal that has colours (NO_COLOR turns it off, FORCE_COLOR on),
// a live progress line while applying, and the question repeating the plan's counts. The terminal is a real
// pseudo-terminal from util-linux `script` (no native test dependency).
/* eslint-disable no-control-regex -- the escape sequences of colour and of the live line are what is checked */
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningEmulator } from '../../src/emulator/index.js';
import { colourOn } from '../../src/cli/style.js';
import { BIN, cliEnv } from '../helpers/cli.js';
import { startTestEmulator } from '../helpers/emulator.js';
import { runCliAsync } from '../install/cli-run.js';
import { tempStateDir } from '../install/portal-checks.js';

const ANSI_COLOUR = /\x1b\[3\dm/;

/** Runs the CLI on a pseudo-terminal (stdin, stdout and stderr all the terminal), typing `input`. */
function onTerminal(args: string[], env: Record<string, string | undefined>, input = ''): Promise<{ status: number | null; output: string }> {
  const command = [process.execPath, BIN, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  return new Promise((resolve, reject) => {
    const child = spawn('script', ['-qfec', command, '/dev/null'], { env: cliEnv({ TERM: 'xterm-256color', ...env }), stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => { output += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { output += d.toString(); });
    child.stdin.end(input);
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, output });
    });
  });
}

let emulator: RunningEmulator;
let env: Record<string, string>;

beforeAll(async () => {
  emulator = await startTestEmulator();
  env = { B24_WEBHOOK_URL: emulator.webhookUrl, AUTOSALON_STATE_DIR: tempStateDir() };
});
afterAll(async () => {
  await emulator?.close();
});

describe('colour', () => {
  const tty = (hasColors: boolean) => ({ isTTY: true, hasColors: () => hasColors }) as unknown as NodeJS.WriteStream;
  const pipe = { isTTY: false } as unknown as NodeJS.WriteStream;

  it('is on for a terminal with colours, off when piped; NO_COLOR turns it off, FORCE_COLOR on (and FORCE_COLOR=0 off)', () => {
    expect(colourOn(tty(true), {})).toBe(true);
    expect(colourOn(tty(false), {})).toBe(false);
    expect(colourOn(pipe, {})).toBe(false);
    expect(colourOn(tty(true), { NO_COLOR: '1' })).toBe(false);
    expect(colourOn(tty(true), { NO_COLOR: '' })).toBe(true);
    expect(colourOn(pipe, { FORCE_COLOR: '1' })).toBe(true);
    expect(colourOn(tty(true), { FORCE_COLOR: '0' })).toBe(false);
  });
});

describe('autosalon install on a terminal', () => {
  it('colours the plan, asks with the plan\'s counts, shows a live progress line and a coloured summary', async () => {
    const r = await onTerminal(['install', '--tier', 'crm_plus'], env, 'y\n');
    expect(r.status).toBe(0);
    expect(r.output).toMatch(/\x1b\[32m\+\x1b\[39m pipeline "Ремонт авто"/);
    expect(r.output).toMatch(/\x1b\[33m~\x1b\[39m status NEW "Новое обращение"/);
    // Right before the question: what needs consent, then the counts.
    // (readline moves the cursor to the line's start before its question.)
    expect(r.output).toMatch(/The plan changes 3 objects that were on the portal before Autosalon \(2 to update, 1 to delete\)\r?\n(\x1b\[\d*[GJ])*Apply the plan \(45 to create, 17 to update, 16 to delete\)\? \[y\/N\] /);
    // The live line: rewritten in place while the batches go.
    expect(r.output).toMatch(/\r\x1b\[2KApplying: 0 of \d+ changes \(batch 1 of 1\)/);
    expect(r.output).toMatch(/\x1b\[32mThe portal now matches the template\.\x1b\[39m/);
  });

  it('uses no colour with NO_COLOR on a terminal, and none when piped; FORCE_COLOR colours piped output', async () => {
    const plain = await onTerminal(['verify', '--detailed-exitcode'], { ...env, NO_COLOR: '1' });
    expect(plain.status).toBe(0);
    expect(plain.output).toMatch(/OK: the portal matches the template\./);
    expect(plain.output).not.toMatch(ANSI_COLOUR);
    const piped = await runCliAsync(['verify'], env);
    expect(piped.stdout).toMatch(/^OK: the portal matches the template\.$/m);
    expect(piped.stdout + piped.stderr).not.toMatch(/\x1b\[/);
    const forced = await runCliAsync(['verify'], { ...env, FORCE_COLOR: '1' });
    expect(forced.stdout).toMatch(/\x1b\[32mOK: the portal matches the template\.\x1b\[39m/);
  });
});
