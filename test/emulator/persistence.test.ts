// The state file (a portal that survives restarts, a clear error for a broken file), the CLI command and the
// control API over HTTP.
import { spawn } from 'node:child_process';
import { request as httpsRequest } from 'node:https';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { EmulatorStateError } from '../../src/emulator/index.js';
import { BIN, runCli } from '../helpers/cli.js';
import { appCall, rawCall, startTestEmulator } from '../helpers/emulator.js';

const dir = mkdtempSync(join(tmpdir(), 'autosalon-emulator-state-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('state file', () => {
  test('the portal, its webhook, apps and tokens survive a restart; so does the portal clock', async () => {
    const stateFile = join(dir, 'portal.json');
    const first = await startTestEmulator({ stateFile, limits: false });
    const category = ((await rawCall(first, 'crm.category.add', { entityTypeId: 2, fields: { name: 'Ремонт авто' } })).body.result as { category: { id: number } }).category.id;
    const lead = (await rawCall(first, 'crm.lead.add', { fields: { TITLE: 'persisted' } })).body.result;
    const app = await first.control.installApp({});
    first.control.advanceClock(86_400_000);
    const shiftedNow = first.control.now();
    await first.close();

    const second = await startTestEmulator({ stateFile, limits: false });
    try {
      expect(second.webhookUrl).not.toBe(first.webhookUrl.replace(/:\d+\//, ':0/'));
      expect(new URL(second.webhookUrl).pathname).toBe(new URL(first.webhookUrl).pathname);
      expect(second.memberId).toBe(first.memberId);
      expect((await rawCall(second, 'crm.lead.get', { id: lead })).body.result).toMatchObject({ TITLE: 'persisted' });
      expect((await rawCall(second, 'crm.status.list', { filter: { ENTITY_ID: `DEAL_STAGE_${category}` } })).body.total).toBe(8);
      // A day later the access token has expired; the refresh token still works and so does the app.
      expect((await appCall(second, app.accessToken, 'app.info')).body.error).toBe('expired_token');
      const refreshed = await fetch(`${second.oauthUrl}/oauth/token/?${new URLSearchParams({ grant_type: 'refresh_token', client_id: app.clientId, client_secret: app.clientSecret, refresh_token: app.refreshToken })}`);
      const tokens = (await refreshed.json()) as { access_token: string };
      expect((await appCall(second, tokens.access_token, 'app.info')).body.result).toMatchObject({ INSTALLED: true });
      expect(second.control.now()).toBeGreaterThanOrEqual(shiftedNow);
      expect(second.control.now() - Date.now()).toBeGreaterThan(86_000_000);
      // New ids continue after the old ones.
      expect((await rawCall(second, 'crm.lead.add', { fields: {} })).body.result).toBe((lead as number) + 1);
    } finally {
      await second.close();
    }
  });

  test('a corrupt or foreign state file is a clear error, and the file is left alone', async () => {
    const broken = join(dir, 'broken.json');
    writeFileSync(broken, '{"format": "autosalon-bitrix24-emulator", "version": 1, "memb');
    await expect(startTestEmulator({ stateFile: broken })).rejects.toThrow(EmulatorStateError);
    await expect(startTestEmulator({ stateFile: broken })).rejects.toThrow(/broken\.json is not valid JSON .*fix the file, or move it away to start a new portal/);
    expect(readFileSync(broken, 'utf8')).toContain('"memb');
    const foreign = join(dir, 'foreign.json');
    writeFileSync(foreign, JSON.stringify({ hello: 'world' }));
    await expect(startTestEmulator({ stateFile: foreign })).rejects.toThrow(/foreign\.json is not an emulator portal \(format:/);
  });
});

function httpsJson(url: string, ca: string, method = 'GET', body?: unknown): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(url, { method, ca, headers: { 'content-type': 'application/json' } }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => resolve(JSON.parse(text)));
    });
    req.on('error', reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

/** Starts `autosalon emulator` and resolves with its first stdout line. */
function startCli(args: string[]): Promise<{ line: Record<string, string>; stop: () => Promise<number | null> }> {
  const child = spawn(process.execPath, [BIN, 'emulator', ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, AUTOSALON_STATE_DIR: dir } });
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    const timer = setTimeout(() => reject(new Error(`the emulator did not start: ${err}`)), 30_000);
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const newline = out.indexOf('\n');
      if (newline < 0) return;
      clearTimeout(timer);
      resolve({
        line: JSON.parse(out.slice(0, newline)) as Record<string, string>,
        stop: () =>
          new Promise((done) => {
            child.once('exit', (code) => done(code));
            child.kill('SIGTERM');
          }),
      });
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the emulator exited with ${code}: ${err}`));
    });
  });
}

describe('autosalon emulator (CLI)', () => {
  test('prints one JSON line with the URLs, serves REST and /_control/stats, keeps its state, stops on SIGTERM', async () => {
    const stateFile = join(dir, 'cli.json');
    const { line, stop } = await startCli(['--port', '0', '--state', stateFile, '--plan', 'ent250', '--limits', 'off']);
    expect(Object.keys(line)).toEqual(expect.arrayContaining(['webhookUrl', 'caCertPath', 'controlUrl', 'oauthUrl', 'origin', 'memberId']));
    expect(line.webhookUrl).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/rest\/1\/[a-z0-9]+\/$/);
    expect(line.caCertPath).toBe(join(dir, 'ca.pem'));
    // This worker trusts only the shared test CA (NODE_EXTRA_CA_CERTS), so talk to the CLI's emulator with its own CA.
    const ca = readFileSync(line.caCertPath, 'utf8');
    const lead = (await httpsJson(`${line.webhookUrl}crm.lead.add`, ca, 'POST', { fields: { TITLE: 'cli' } })) as { result: number };
    expect(lead.result).toBe(1);
    expect(await httpsJson(`${line.controlUrl}/stats`, ca)).toMatchObject({ httpRequests: 1, calls: { 'crm.lead.add': 1 } });
    await httpsJson(`${line.controlUrl}/stats/reset`, ca, 'POST');
    expect(((await httpsJson(`${line.controlUrl}/stats`, ca)) as { httpRequests: number }).httpRequests).toBe(0);
    const info = (await httpsJson(`${line.controlUrl}/clock`, ca, 'POST', { advanceMs: 3_600_000 })) as { now: number };
    expect(info.now - Date.now()).toBeGreaterThan(3_500_000);
    expect(await stop()).toBe(0);
    const saved = JSON.parse(readFileSync(stateFile, 'utf8')) as { plan: string; crm: { lead: unknown[] } };
    expect(saved.plan).toBe('ent250');
    expect(saved.crm.lead).toHaveLength(1);
  });

  test('--portals 2: the first line keeps portal 1\'s fields and lists every portal; the control API selects them', async () => {
    const stateFile = join(dir, 'cli-two.json');
    const { line, stop } = await startCli(['--portals', '2', '--state', stateFile, '--limits', 'off', '--time-zone', 'Asia/Vladivostok']);
    const portals = line.portals as unknown as Record<string, string>[];
    expect(portals).toHaveLength(2);
    expect(line.portalUrl).toBe(`${line.origin}/`);
    expect(portals[0]).toEqual({ webhookUrl: line.webhookUrl, origin: line.origin, portalUrl: `${line.origin}/`, domain: new URL(line.origin).host, memberId: line.memberId, plan: 'pro', timeZone: 'Asia/Vladivostok' });
    expect(portals[1].memberId).not.toBe(line.memberId);
    const ca = readFileSync(line.caCertPath, 'utf8');
    expect(await httpsJson(`${portals[1].webhookUrl}crm.lead.add`, ca, 'POST', { fields: { TITLE: 'on portal 2' } })).toMatchObject({ result: 1 });
    expect(await httpsJson(`${line.controlUrl}/stats?portal=${portals[1].memberId}`, ca)).toMatchObject({ httpRequests: 1 });
    expect(await httpsJson(`${line.controlUrl}/stats`, ca)).toMatchObject({ httpRequests: 0 });
    expect(await stop()).toBe(0);
    const saved = JSON.parse(readFileSync(stateFile, 'utf8')) as { version: number; portals: { memberId: string; crm: { lead: unknown[] } }[] };
    expect(saved.version).toBe(2);
    expect(saved.portals.map((p) => [p.memberId, p.crm.lead.length])).toEqual([[line.memberId, 0], [portals[1].memberId, 1]]);
  });

  test('a corrupt state file stops the command with the reason and exit code 1', () => {
    const broken = join(dir, 'cli-broken.json');
    writeFileSync(broken, 'not json');
    const r = runCli(['emulator', '--state', broken], { AUTOSALON_STATE_DIR: dir });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/error: the emulator state file .*cli-broken\.json is not valid JSON/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(r.stdout).toBe('');
  });

  test('a bad flag is refused with what to use', () => {
    const r = runCli(['emulator', '--limits', 'maybe']);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('--limits takes on or off');
  });

  test('a bad --portals or --time-zone is refused with what to use', () => {
    const portals = runCli(['emulator', '--portals', '0']);
    expect(portals.status).toBe(1);
    expect(portals.stderr).toContain('--portals must be a whole number from 1 to 100 (got "0")');
    const zone = runCli(['emulator', '--time-zone', 'Moscow']);
    expect(zone.status).toBe(1);
    expect(zone.stderr).toContain('--time-zone takes an IANA time zone name such as Europe/Moscow or Asia/Vladivostok (got "Moscow")');
    const plan = runCli(['emulator', '--plan', 'Pro']);
    expect(plan.stderr).toContain('--plan takes a plan code such as pro, ent250 or basic (got "Pro")');
    expect(zone.stdout).toBe('');
  });
});
