// install --portals: five emulated portals, one of them refusing the webhook; the others are installed, each with its
// own state, and one table (or one JSON object) says what happened to each.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningEmulator } from '../../src/emulator/index.js';
import { readFleetFile, renderFleet, type FleetRow } from '../../src/install/fleet.js';
import { PortalState } from '../../src/install/state.js';
import { startTestEmulator } from '../helpers/emulator.js';
import { runCliAsync } from '../install/cli-run.js';
import { categories, tempStateDir } from '../install/portal-checks.js';

const emulators: RunningEmulator[] = [];
let file: string;
let stateDir: string;
let wrongSecret: string;

beforeAll(async () => {
  emulators.push(...(await Promise.all(Array.from({ length: 5 }, (_, i) => startTestEmulator({ plan: i === 1 ? 'basic' : 'pro' })))));
  stateDir = tempStateDir();
  file = join(stateDir, 'portals.yaml');
  wrongSecret = emulators[3].webhookUrl.replace(/\/rest\/1\/[^/]+\//, '/rest/1/wrongsecret99/');
  writeFileSync(file, [
    'portals:',
    `  - name: client-a\n    webhook: ${emulators[0].webhookUrl}`,
    // The plan decides the tier: basic is the base tier.
    `  - name: client-b\n    webhook: ${emulators[1].webhookUrl}`,
    `  - name: client-c\n    webhookEnv: CLIENT_C_WEBHOOK\n    tier: base`,
    `  - name: client-d\n    webhook: ${wrongSecret}\n    tier: crm_plus`,
    `  - name: client-e\n    webhook: ${emulators[4].webhookUrl}\n    lang: en`,
  ].join('\n'));
});
afterAll(async () => {
  await Promise.all(emulators.map((e) => e.close()));
});

describe('autosalon install --portals', () => {
  it('installs every portal it can, a few at a time, and prints one table; one portal failing fails the run, not the others', async () => {
    const r = await runCliAsync(['install', '--portals', file, '--yes', '--concurrency', '3', '--state-dir', stateDir], { CLIENT_C_WEBHOOK: emulators[2].webhookUrl });
    expect(r.status).toBe(1);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^portal\s+tier\s+created\s+updated\s+unchanged\s+skipped\s+requests\s+time\s+result$/);
    const row = (name: string) => lines.find((l) => l.startsWith(`${name} `))!.split(/\s{2,}/);
    // portal, tier, created, updated, unchanged, skipped, requests, time, result
    expect(row('client-a')).toEqual(['client-a', 'crm_plus', expect.stringMatching(/^\d{2}$/), expect.any(String), expect.any(String), '9', expect.stringMatching(/^[3-8]$/), expect.stringMatching(/^\d+\.\d s$/), 'done']);
    expect(row('client-b').slice(0, 2)).toEqual(['client-b', 'base']);
    expect(row('client-c').slice(0, 2)).toEqual(['client-c', 'base']);
    expect(row('client-e').at(-1)).toBe('done');
    const failed = row('client-d');
    expect(failed[1]).toBe('crm_plus');
    expect(failed.at(-1)).toMatch(/^failed: the portal refused: .*check the webhook URL \(its user id and secret\)$/);
    expect(r.stdout + r.stderr).not.toContain('wrongsecret99');
    expect(lines.at(-1)).toBe('4 of 5 portals done.');
    // Each portal: its own pipelines, its own ledger, in the language asked for.
    expect((await categories(emulators[0])).map((c) => c.name)).toEqual(['Ремонт авто', 'Магазин', 'Мойка']);
    expect((await categories(emulators[1])).map((c) => c.name)).toEqual(['Ремонт авто']);
    expect((await categories(emulators[4])).map((c) => c.name)).toEqual(['Car repair', 'Parts shop', 'Car wash']);
    expect(await categories(emulators[3])).toEqual([]);
    for (const e of [emulators[0], emulators[2], emulators[4]]) {
      expect(new PortalState(stateDir, new URL(e.origin).host).loadLedger({ key: '', origin: '', mode: 'webhook' }).tier).toBeDefined();
    }
  });

  it('--json: one object with a row per portal; a second run has nothing left to do', async () => {
    const r = await runCliAsync(['install', '--portals', file, '--yes', '--json', '--state-dir', stateDir], { CLIENT_C_WEBHOOK: emulators[2].webhookUrl });
    expect(r.status).toBe(1);
    const out = JSON.parse(r.stdout);
    expect(out.ok).toBe(false);
    expect(out.portals.map((p: { name: string; result: string; created: number }) => `${p.name} ${p.result} ${p.created}`))
      .toEqual(['client-a done 0', 'client-b done 0', 'client-c done 0', 'client-d failed 0', 'client-e done 0']);
    expect(out.portals[0].requests).toBeLessThanOrEqual(2);
  });
});

describe('the fleet table', () => {
  const row = (name: string, result: FleetRow['result']): FleetRow => ({ name, portal: name, tier: 'crm_plus', created: 0, updated: 0, deleted: 0, unchanged: 64, skipped: 0, requests: 1, ms: 100, result });

  it('says a dry run planned the portals and changed nothing, not that they are done', () => {
    expect(renderFleet([row('a', 'dry-run'), row('b', 'dry-run'), row('c', 'failed')])).toMatch(/\nDry run: 2 of 3 portals planned; nothing was changed\.$/);
    expect(renderFleet([row('a', 'done'), row('b', 'failed')])).toMatch(/\n1 of 2 portals done\.$/);
  });
});

describe('the fleet file', () => {
  it('refuses one portal listed twice, and names the portal whose variable is unset, before anything runs', () => {
    const twice = join(tempStateDir(), 'twice.yaml');
    writeFileSync(twice, 'portals:\n  - name: a\n    webhook: https://a.example.com/rest/1/x/\n  - name: a-again\n    webhookEnv: A_AGAIN\n');
    expect(() => readFleetFile(twice, { A_AGAIN: 'https://a.example.com/rest/1/x/' })).toThrow(`${twice}: a and a-again are the same portal (a.example.com); list each portal once`);
    expect(() => readFleetFile(twice, {})).toThrow(`${twice}: portals[1] (a-again): the environment variable A_AGAIN is not set`);
  });

  it('refuses a tier the template does not have before any portal is touched', async () => {
    const gold = join(tempStateDir(), 'gold.yaml');
    // Nothing listens on port 9: a request would fail differently.
    writeFileSync(gold, 'portals:\n  - name: client-x\n    webhook: https://127.0.0.1:9/rest/1/x/\n    tier: gold\n');
    const r = await runCliAsync(['install', '--portals', gold, '--yes', '--state-dir', tempStateDir()], {});
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('client-x: unknown tier "gold": use base, crm_plus');
  });
});
