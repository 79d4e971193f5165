// What `autosalon serve` and `npm start` say when the service cannot start: the address taken, the database unusable.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadServiceConfig } from '../../src/service/config.js';
import { startEmbeddedProduct } from '../../src/service/embedded.js';
import { startService } from '../../src/service/service.js';

let dir: string;
let taken: Server;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'autosalon-start-errors-'));
  taken = createServer();
  await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
});

afterAll(async () => {
  await new Promise((resolve) => taken.close(resolve));
  rmSync(dir, { recursive: true, force: true });
});

const config = (overrides: { port?: number; dbFile?: string }) =>
  loadServiceConfig({}, { stateDir: dir, logLevel: 'silent', sweepIntervalSeconds: 0, port: 0, ...overrides });

describe('the service cannot start', () => {
  it('on a port another process holds: names the address and the setting to change', async () => {
    const port = (taken.address() as AddressInfo).port;
    const attempt = startService({ config: config({ port }), background: false });
    await expect(attempt).rejects.toBeInstanceOf(ConfigError);
    await expect(attempt).rejects.toThrow(`the service's address 127.0.0.1:${port} is already in use by another process (another Autosalon service?): stop it, or choose another port with AUTOSALON_PORT (or --port of autosalon serve)`);
  });

  it('npm start on an emulator port another process holds: names the port and the flag', async () => {
    const port = (taken.address() as AddressInfo).port;
    const attempt = startEmbeddedProduct({ stateDir: dir, emulatorPort: port, print: () => undefined, printProgress: () => undefined });
    await expect(attempt).rejects.toBeInstanceOf(ConfigError);
    await expect(attempt).rejects.toThrow(`the emulator's port ${port} is taken (another emulator running?): stop it, or pass --port N (--port 0 for a free one)`);
  });

  it('on a file that is not a database, or one it cannot create: names the file and AUTOSALON_DB', async () => {
    const notDb = join(dir, 'notes.txt');
    writeFileSync(notDb, 'not a database, just some text that is long enough to be read as a header\n'.repeat(20));
    const attempt = startService({ config: config({ dbFile: notDb }), background: false });
    await expect(attempt).rejects.toBeInstanceOf(ConfigError);
    await expect(attempt).rejects.toThrow(new RegExp(`cannot open the service database ${notDb.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\(.+\\): point AUTOSALON_DB \\(or --db\\)`));
    await expect(startService({ config: config({ dbFile: join(notDb, 'service.sqlite') }), background: false }))
      .rejects.toThrow(/cannot open the service database .*notes\.txt\/service\.sqlite \(.*\): point AUTOSALON_DB/);
  });
});
