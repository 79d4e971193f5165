import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recallList, renderRecalls } from '../../src/service/recalls.js';
import { SqliteStore } from '../../src/service/store/sqlite.js';
import { runCli } from '../helpers/cli.js';
import { defaultSettings } from '../../src/service/settings.js';
import { testKeys } from '../helpers/keys.js';

let dir: string;
let db: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'autosalon-recalls-'));
  db = join(dir, 'service.sqlite');
  const store = await SqliteStore.open(db, { keys: testKeys() });
  await store.savePortal({
    memberId: 'm1', domain: 'autoservice.bitrix24.ru', clientEndpoint: 'https://autoservice.bitrix24.ru/rest/', accessToken: 'secret-at',
    refreshToken: 'secret-rt', expires: 0, scope: '', userId: 1, applicationToken: 'secret-app', lang: 'ru', tier: 'crm_plus', plan: 'pro',
    installedAt: 0, installState: 'installed', settings: defaultSettings(),
  });
  const base = { memberId: 'm1', stageId: 'C3:LOSE', enteredAt: 0, source: 'event' as const, createdAt: 0, responsibleId: 3 };
  await store.openEpisode({ ...base, dealId: '5', recallDate: '2027-02-01', reason: 'Дорого', dealTitle: 'Ремонт подвески', client: 'Иван Петров, +7 900 000-00-00', responsibleName: 'Анна Смирнова' });
  await store.openEpisode({ ...base, dealId: '6', recallDate: '2027-02-01', reason: '', dealTitle: 'Мойка', client: '', responsibleName: 'Олег' });
  await store.openEpisode({ ...base, dealId: '7', recallDate: '2027-02-15', reason: 'Уехал', dealTitle: 'Шины', client: 'ООО Ромашка', responsibleName: 'Анна Смирнова' });
  await store.closeEpisode('m1', '6', 1);
  await store.close();
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the re-call list', () => {
  it('lists the deals of one date with client, reason and responsible', async () => {
    const store = await SqliteStore.open(db, { readonly: true });
    const entries = await recallList(store, { date: '2027-02-01' });
    await store.close();
    expect(entries.map((e) => [e.dealId, e.client, e.reason, e.responsible, e.open])).toEqual([
      ['5', 'Иван Петров, +7 900 000-00-00', 'Дорого', 'Анна Смирнова', true],
      ['6', '', '', 'Олег', false],
    ]);
    const text = renderRecalls('2027-02-01', entries);
    expect(text).toContain('Re-calls on 2027-02-01: 2 deals (autoservice.bitrix24.ru)');
    expect(text).toMatch(/#5 Ремонт подвески\s+Иван Петров.*Дорого\s+Анна Смирнова/);
    expect(text).toContain('#6 Мойка (reopened)');
  });

  it('autosalon recalls --date prints the list; --json one object; no secrets', () => {
    const r = runCli(['recalls', '--date', '2027-02-15', '--db', db]);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/#7 Шины\s+ООО Ромашка\s+Уехал\s+Анна Смирнова/);
    const j = runCli(['recalls', '--date', '2027-02-01', '--db', db, '--json']);
    expect(JSON.parse(j.stdout)).toMatchObject({ date: '2027-02-01', recalls: [{ dealId: '5' }, { dealId: '6' }] });
    expect(r.stdout + j.stdout).not.toMatch(/secret/);
  });

  it('a day without re-calls says so; a bad date or a missing database is a clear error', () => {
    expect(runCli(['recalls', '--date', '2027-03-01', '--db', db]).stdout).toContain('No re-calls on 2027-03-01.');
    const bad = runCli(['recalls', '--date', '2027-02-30', '--db', db]);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toContain('--date must be a date such as 2027-02-01');
    const missing = runCli(['recalls', '--db', join(dir, 'nope.sqlite')]);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toMatch(/no service database at .*nope\.sqlite/);
    const notSqlite = join(dir, 'notes.txt');
    writeFileSync(notSqlite, 'not a database, a note\n'.repeat(100));
    const wrong = runCli(['recalls', '--db', notSqlite]);
    expect(wrong.status).toBe(1);
    expect(wrong.stderr).toMatch(/notes\.txt is not an Autosalon service database \(not an SQLite file at all\): point --db or AUTOSALON_DB/);
    expect(wrong.stderr).not.toMatch(/AUTOSALON_DEBUG|at .*\.ts:\d+/);
  });
});
