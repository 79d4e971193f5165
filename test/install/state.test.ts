import { mkdirSync, statSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { StatusRow } from '../../src/portal/snapshot.js';
import { recoverFromJournal } from '../../src/install/recover.js';
import { PortalState, portalDirName } from '../../src/install/state.js';
import { emptyLedger, freshSnapshot } from './fixtures.js';
import { tempStateDir } from './portal-checks.js';

const portal = { key: '127.0.0.1:8443', origin: 'https://127.0.0.1:8443', mode: 'webhook' as const };

describe('local state of a portal', () => {
  it('keeps the ledger per portal key, and survives a round trip', () => {
    const state = new PortalState(tempStateDir(), portal.key);
    expect(portalDirName(portal.key)).toBe('127.0.0.1_8443');
    expect(state.loadLedger(portal)).toEqual({ version: 1, portal, objects: {}, localAdditions: [] });
    const ledger = state.loadLedger(portal);
    ledger.objects['category:repair'] = { created: true, id: 5 };
    ledger.lang = 'en';
    state.saveLedger(ledger);
    expect(state.loadLedger(portal)).toMatchObject({ lang: 'en', objects: { 'category:repair': { created: true, id: 5 } } });
    // A client's CRM configuration: readable by the user who runs the installer only, whatever the umask.
    expect(statSync(state.dir).mode & 0o777).toBe(0o700);
    expect(statSync(state.ledgerFile).mode & 0o777).toBe(0o600);
    const backup = join(state.backupDir, '2026-01-01T00-00-00-000Z.json');
    state.writeBackup(backup, { portal: '', createdAt: '', template: '', tier: '', lang: 'ru', objects: [] });
    expect(statSync(state.backupDir).mode & 0o777).toBe(0o700);
    expect(statSync(backup).mode & 0o777).toBe(0o600);
  });

  it('says which file is damaged and what to do, instead of starting over silently', () => {
    const state = new PortalState(tempStateDir(), portal.key);
    mkdirSync(state.dir, { recursive: true });
    writeFileSync(state.ledgerFile, '{"version":1,');
    expect(() => state.loadLedger(portal)).toThrow(/ledger .*ledger\.json is not valid JSON.*move it away/);
    writeFileSync(state.ledgerFile, JSON.stringify({ version: 1, portal, objects: { 'category:repair': { created: 'yes' } }, localAdditions: [] }));
    expect(() => state.loadLedger(portal)).toThrow(/damaged \(objects\.category:repair\.created/);
  });

  it('gives the earliest backed-up state of each object: what the portal had before Autosalon', () => {
    const state = new PortalState(tempStateDir(), portal.key);
    const entry = (name: string) => ({ key: 'status:NEW', kind: 'status' as const, action: 'update' as const, title: 'status NEW', before: { name } });
    state.writeBackup(join(state.backupDir, '2026-01-01T00-00-00-000Z.json'), { portal: '', createdAt: '', template: '', tier: '', lang: 'ru', objects: [entry('Не обработан')] });
    state.writeBackup(join(state.backupDir, '2026-02-01T00-00-00-000Z.json'), { portal: '', createdAt: '', template: '', tier: '', lang: 'ru', objects: [entry('Новое обращение')] });
    expect(state.originalStates().get('status:NEW')?.before).toEqual({ name: 'Не обработан' });
    expect(state.newBackupFile(new Date('2026-03-01T00:00:00Z'))).toMatch(/2026-03-01T00-00-00-000Z\.json$/);
  });

  it('lets one run at a time work on a portal, and takes over the lock of a process that died', () => {
    const state = new PortalState(tempStateDir(), portal.key);
    const release = state.lock('install');
    expect(() => state.lock('uninstall')).toThrow(new RegExp(`another install is working on this portal \\(pid ${process.pid}`));
    // Should the process id have been reused, the user is told which file to delete.
    expect(() => state.lock('uninstall')).toThrow(/if no such run is going on .* delete .*\.lock\)$/);
    // The same portal reached another way (its webhook vs the application's endpoint) shares the lock.
    const viaWebhook = new PortalState(state.dir.replace(/\/portals\/.*$/, ''), 'portal.bitrix24.ru', 'https://portal.bitrix24.ru/rest/1/secret/');
    const viaApp = new PortalState(state.dir.replace(/\/portals\/.*$/, ''), 'a223c6b3710f85df22e9377d6c4f7553', 'https://PORTAL.bitrix24.ru');
    const webhookRun = viaWebhook.lock('install');
    expect(() => viaApp.lock('install')).toThrow(/another install is working on this portal/);
    webhookRun();
    release();
    writeFileSync(state.lockFile, JSON.stringify({ pid: 2 ** 22 + 12345, host: hostname(), what: 'install' }));
    const again = state.lock('install');
    again();
  });

  it('a journal of a lost batch: what is on the portal now is recorded as created, what is not stays unknown', () => {
    const snapshot = freshSnapshot();
    snapshot.categories.push({ id: 3, name: 'Магазин', sort: 200, isDefault: false }, { id: 4, name: 'Мойка', sort: 300, isDefault: false });
    snapshot.statuses.push({ id: 900, entityId: 'STATUS', statusId: 'UC_CALLBACK', name: 'Уточняющий звонок', sort: 30, color: '#FFA900', semantics: 'process', system: false } satisfies StatusRow);
    const ledger = emptyLedger();
    // Another object's id equal to a pipeline id must not hide the pipeline.
    ledger.objects['field:lead:UF_CRM_AS_VIN'] = { created: true, id: 3 };
    const found = recoverFromJournal({
      startedAt: '', round: 1, batch: 1,
      steps: [
        { id: 's1', action: 'create', kind: 'status', key: 'status:UC_CALLBACK', title: '', natural: { entityId: 'STATUS', statusId: 'UC_CALLBACK' }, record: { created: true } },
        { id: 's2', action: 'create', kind: 'category', key: 'category:shop', title: '', natural: { names: ['Магазин'] }, record: { created: true } },
        { id: 's3', action: 'create', kind: 'category', key: 'category:repair', title: '', natural: { names: ['Ремонт авто'] }, record: { created: true } },
        { id: 's4', action: 'update', kind: 'status', key: 'status:NEW', title: '', natural: {} },
      ],
    }, snapshot, ledger);
    expect(found).toEqual({ creates: 3, found: 2 });
    expect(ledger.objects['status:UC_CALLBACK']).toEqual({ created: true, id: 900 });
    expect(ledger.objects['category:shop']).toEqual({ created: true, id: 3 });
    expect(ledger.objects['category:repair']).toBeUndefined();
  });
});
