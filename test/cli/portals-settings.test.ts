// The operator's view of the portals the service serves, and a support engineer changing one portal's settings.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultSettings } from '../../src/service/settings.js';
import { SqliteStore } from '../../src/service/store/sqlite.js';
import type { PortalRecord } from '../../src/service/store/types.js';
import { runCli } from '../helpers/cli.js';
import { testKeys } from '../helpers/keys.js';

let dir: string;
let db: string;
const portal = (over: Partial<PortalRecord>): PortalRecord => ({
  memberId: 'm1', domain: 'autoservice.bitrix24.ru', clientEndpoint: 'https://autoservice.bitrix24.ru/rest/', accessToken: 'secret-at',
  refreshToken: 'secret-rt', expires: 0, scope: 'crm', userId: 1, applicationToken: 'secret-app', lang: 'ru', tier: 'crm_plus', plan: 'pro',
  installedAt: 0, installState: 'installed', settings: defaultSettings(), ...over,
});

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'autosalon-portals-'));
  db = join(dir, 'service.sqlite');
  const store = await SqliteStore.open(db, { keys: testKeys() });
  await store.savePortal(portal({}));
  await store.savePortal(portal({
    memberId: 'm2', domain: 'wash.bitrix24.ru', tier: 'base', plan: 'basic', installState: 'failed',
    installError: 'the application was installed without the "crm" permission that crm.category.list needs', settings: defaultSettings({ timeZone: 'Asia/Vladivostok' }),
  }));
  await store.enqueue({ memberId: 'm1', kind: 'event', payload: {}, runAt: 0 });
  await store.close();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('autosalon portals', () => {
  it('lists every portal with plan, tier, state, queue and settings, and the reason of a failure; no secrets', () => {
    const r = runCli(['portals', '--db', db]);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/autoservice\.bitrix24\.ru\s+m1\s+pro\s+crm_plus\s+installed\s+1\/1\/0\s+Europe\/Moscow, re-call 10:00/);
    expect(r.stdout).toMatch(/wash\.bitrix24\.ru\s+m2\s+basic\s+base\s+failed\s+0\/0\/0\s+Asia\/Vladivostok/);
    expect(r.stdout).toContain('  ! the application was installed without the "crm" permission');
    expect(r.stdout).not.toMatch(/secret-/);
  });
});

describe('autosalon settings', () => {
  it('changes one portal\'s settings and shows them; the other portal keeps its own', () => {
    const r = runCli(['settings', '--db', db, '--member-id', 'm1', '--set', 'recallHour=9', 'timeZone=Europe/Kaliningrad', 'rule.deal.refusal=off', '--json']);
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ memberId: 'm1', settings: { recallHour: 9, timeZone: 'Europe/Kaliningrad', disabledRules: ['deal.refusal'] } });
    const portals = JSON.parse(runCli(['portals', '--db', db, '--json']).stdout) as { portals: { memberId: string; settings: { recallHour: number; timeZone: string } }[] };
    expect(portals.portals.map((p) => [p.memberId, p.settings.timeZone, p.settings.recallHour])).toEqual([['m1', 'Europe/Kaliningrad', 9], ['m2', 'Asia/Vladivostok', 10]]);
  });

  it('refuses a wrong value with what it should be, and an unknown portal with where to look', () => {
    const wrong = runCli(['settings', '--db', db, '--member-id', 'm1', '--set', 'recallHour=30']);
    expect(wrong.status).toBe(1);
    expect(wrong.stderr).toContain('error: recallHour takes an hour from 0 to 23 (got "30")');
    const unknown = runCli(['settings', '--db', db, '--member-id', 'nope']);
    expect(unknown.status).toBe(1);
    expect(unknown.stderr).toContain('no installed portal with member_id nope: see autosalon portals');
  });
});
