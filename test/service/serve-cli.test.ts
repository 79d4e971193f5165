import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';

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
