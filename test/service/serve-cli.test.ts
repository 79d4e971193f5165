import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { runCliAsync } from '../install/cli-run.js';

describe('autosalon serve', () => {
  it('without the application credentials stops with what to set', () => {
    const r = runCli(['serve', '--port', '0'], { B24_APP_CLIENT_ID: '', B24_APP_CLIENT_SECRET: '' });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('set B24_APP_CLIENT_ID and B24_APP_CLIENT_SECRET');
    expect(r.stderr).not.toMatch(/at .*\.ts:\d+/);
  });

  it('lists every wrong setting at once, and a bad flag', () => {
    const r = runCli(['serve', '--public-url', 'not a url'], { AUTOSALON_TIME_ZONE: 'Mars/Olympus', B24_APP_CLIENT_ID: 'local.1', B24_APP_CLIENT_SECRET: 's' });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/AUTOSALON_TIME_ZONE "Mars\/Olympus" is not a time zone/);
    expect(r.stderr).toMatch(/--public-url must be an http\(s\) URL/);
    expect(runCli(['serve', '--port', '70000']).stderr).toContain('--port must be a port number 0–65535');
  });
});

describe('autosalon serve with a public URL Bitrix24 would refuse', () => {
  async function startAndStop(publicUrl: string | undefined): Promise<string> {
    const dir = mkdtempSync(join(tmpdir(), 'autosalon-serve-'));
    try {
      const env = { B24_APP_CLIENT_ID: 'local.1', B24_APP_CLIENT_SECRET: 's', AUTOSALON_STATE_DIR: dir, AUTOSALON_PUBLIC_URL: publicUrl ?? '' };
      // Stopped with SIGTERM as soon as it says where it listens: the warning, if any, comes before.
      const r = await runCliAsync(['serve', '--port', '0'], env, {
        onStderr: (text, child) => { if (text.includes('install handler')) setTimeout(() => child.kill('SIGTERM'), 200); },
        timeoutMs: 30_000,
      });
      expect(r.stderr).toContain('Autosalon service on http://127.0.0.1:');
      return r.stderr;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  it('warns at start that robots and event bindings would be skipped', async () => {
    const stderr = await startAndStop('http://localhost:3000');
    expect(stderr).toMatch(/warning: Bitrix24 refuses handler URLs whose host has no dot \("localhost"\)/);
    expect(stderr).toContain('AUTOSALON_PUBLIC_URL');
  }, 40_000);

  it('without a public URL says where Bitrix24 is told to call, and that only a local portal reaches it', async () => {
    const stderr = await startAndStop(undefined);
    expect(stderr).toMatch(/warning: AUTOSALON_PUBLIC_URL \(or --public-url\) is not set, so robots and events are bound to http:\/\/127\.0\.0\.1:\d+, which only a portal on this machine reaches/);
    expect(stderr).not.toContain('is unknown');
  }, 40_000);

  it('says nothing of the kind for a public name', async () => {
    expect(await startAndStop('https://autosalon.example.com')).not.toContain('warning');
  }, 40_000);
});
