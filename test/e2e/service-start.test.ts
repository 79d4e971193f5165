// npm start on the embedded default: emulator + automation service, the app installed into the emulator through its
// control API, the template installed by the service in app mode; a second start changes nothing.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { SqliteStore } from '../../src/service/store/sqlite.js';
import { runCliAsync } from '../install/cli-run.js';

/** A port free right now on 127.0.0.1. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    }).on('error', reject);
  });
}

it('npm start runs the whole product: the service installs the template in app mode, and again as a no-op', async () => {
  const home = mkdtempSync(join(tmpdir(), 'autosalon-start-service-'));
  try {
    const env = { B24_WEBHOOK_URL: '', NODE_EXTRA_CA_CERTS: undefined, AUTOSALON_STATE_DIR: join(home, '.autosalon'), AUTOSALON_PUBLIC_URL: 'https://elsewhere.example' };
    const first = await runCliAsync(['start', '--once', '--port', '0'], env, { cwd: home, timeoutMs: 90_000 });
    expect(first.stderr).not.toMatch(/error/i);
    expect(first.status).toBe(0);
    expect(first.stderr).toMatch(/The emulated portal installs the application \(its install event goes to http:\/\/127\.0\.0\.1:\d+\/install\)/);
    expect(first.stdout).toMatch(/the emulated portal https:\/\/127\.0\.0\.1:\d+, as the installed application/);
    expect(first.stdout).toMatch(/\+ robot autosalon_refusal .* handler http:\/\/127\.0\.0\.1:\d+\/robots\/refusal/);
    // The event bindings share their handler: it is said once, the events under it.
    expect(first.stdout).toMatch(/\+ handler http:\/\/127\.0\.0\.1:\d+\/events:\n {6}event ONCRMLEADADD → the automation service\n[\s\S]* {6}event ONCRMDEALUPDATE → the automation service\n/);
    expect(first.stdout).toMatch(/The portal now matches the template/);
    expect(first.stdout).toMatch(/The automation service:\n {2}install {5}http:\/\/127\.0\.0\.1:\d+\/install/);
    expect(first.stdout).not.toContain('elsewhere.example');
    // The portal's shell, where a person opens the application from the left menu.
    expect(first.stdout).toMatch(/The emulated portal:\n {2}portal {6}https:\/\/127\.0\.0\.1:\d+\/ {2}\(open it in a browser: the application "Автосалон" is in the left menu/);
    const store = await SqliteStore.open(join(home, '.autosalon', 'service.sqlite'), { readonly: true });
    const [portal] = await store.listPortals();
    await store.close();
    expect(portal).toMatchObject({ tier: 'crm_plus', plan: 'pro', installState: 'installed' });
    // The service is told when the admin removes the application, as a Market install would be.
    const portalState = JSON.parse(readFileSync(join(home, '.autosalon', 'emulator', 'portal.json'), 'utf8')) as { eventBindings: { event: string; handler: string }[]; apps: { pageUrl?: string; setupPending?: boolean }[] };
    expect(portalState.apps).toMatchObject([{ pageUrl: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+\/app$/), setupPending: false }]);
    expect(portalState.eventBindings.filter((b) => b.event === 'ONAPPUNINSTALL').map((b) => b.handler)).toEqual([expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+\/events$/)]);

    // On fixed ports (the default 8943/8944 in real use) a second start finds nothing to change.
    const ports = { emulator: await freePort(), service: await freePort() };
    const fixed = { ...env, AUTOSALON_PORT: String(ports.service) };
    const third = await runCliAsync(['start', '--once', '--port', String(ports.emulator)], fixed, { cwd: home, timeoutMs: 90_000 });
    expect(third.status).toBe(0);
    const again = await runCliAsync(['start', '--once', '--port', String(ports.emulator)], fixed, { cwd: home, timeoutMs: 90_000 });
    expect(again.status).toBe(0);
    expect(again.stdout).toMatch(/Plan: 0 to create, 0 to update, 0 to delete/);
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}, 180_000);
