// npm start with no portal configured: the embedded emulator, the full template installed into it.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { runCliAsync } from '../install/cli-run.js';

it('starts the embedded emulator, trusting its CA through a relaunch, and installs the full template (crm_plus)', async () => {
  const home = mkdtempSync(join(tmpdir(), 'autosalon-start-'));
  try {
    // No webhook, and a CA setting that is not the emulator's: the command must make its CA and relaunch itself.
    const env = { B24_WEBHOOK_URL: '', NODE_EXTRA_CA_CERTS: undefined, AUTOSALON_STATE_DIR: join(home, '.autosalon') };
    const r = await runCliAsync(['start', '--once', '--port', '0'], env, { cwd: home, timeoutMs: 90_000 });
    expect(r.stderr).not.toMatch(/error/i);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/Plan: \d+ to create/);
    expect(r.stdout).toMatch(/Tier crm_plus \(the emulated portal.s plan pro/);
    expect(r.stdout).toMatch(/The portal now matches the template/);
    expect(r.stdout).toMatch(/control API https:\/\/127\.0\.0\.1:\d+\/_control/);
    expect(r.stdout).toContain(join(home, '.autosalon', 'emulator', 'portal.json'));
    expect(r.stdout).not.toMatch(/\/rest\/1\/[A-Za-z0-9]{8,}/); // the webhook secret is not printed
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}, 120_000);
