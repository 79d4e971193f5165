// The installer against the emulator, through an incoming webhook: what the acceptance list asks for.
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import type { RunningEmulator } from '../../src/emulator/index.js';
import { addStage } from '../../src/install/add-stage.js';
import { runInstall, type InstallOptions } from '../../src/install/apply.js';
import { PortalState, type BackupFile } from '../../src/install/state.js';
import { uninstall } from '../../src/install/uninstall.js';
import { verifyPortal } from '../../src/install/verify.js';
import { LostResponseError, PortalClient } from '../../src/portal/client.js';
import { loadTemplate } from '../../src/template/loader.js';
import { startTestEmulator } from '../helpers/emulator.js';
import { call, card, categories, duplicates, fieldNames, statuses, tempStateDir, type Row } from '../install/portal-checks.js';

const template = loadTemplate();
const running: RunningEmulator[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((e) => e.close()));
});

async function portal(options: Parameters<typeof startTestEmulator>[0] = {}) {
  const emulator = await startTestEmulator(options);
  running.push(emulator);
  const stateDir = tempStateDir();
  const client = () => PortalClient.fromWebhook(emulator.webhookUrl, { retry: { minDelayMs: 20, maxDelayMs: 200 } });
  const install = (o: InstallOptions = {}) => runInstall(client(), { tier: 'crm_plus', stateDir, template, ...o });
  return { emulator, stateDir, client, install };
}

const stageCodes = (rows: Row[], categoryId: number) =>
  rows.filter((r) => r.ENTITY_ID === `DEAL_STAGE_${categoryId}`).map((r) => `${r.STATUS_ID.replace(/^C\d+:/, '')}:${r.SORT}`);

describe('installing through a webhook', () => {
  it('a fresh crm_plus install matches the template: verify finds no drift, a re-run plans nothing', async () => {
    const { emulator, install, client, stateDir } = await portal();
    const report = await install();
    expect(report.failed).toEqual([]);
    expect(report.converged).toBe(true);
    expect(report.httpRequests).toBeLessThanOrEqual(8);

    const cats = await categories(emulator);
    expect(cats.map((c) => c.name)).toEqual(['Ремонт авто', 'Магазин', 'Мойка']);
    const rows = await statuses(emulator);
    expect(stageCodes(rows, cats[0].id)).toEqual(['NEW:10', 'INSPECTION:20', 'WAIT_PARTS:30', 'IN_REPAIR:40', 'PAYMENT:50', 'WON:60', 'LOSE:70', 'OTHER:80']);
    expect(stageCodes(rows, cats[1].id)).toEqual(['NEW:10', 'ASSEMBLY:20', 'PAYMENT:30', 'WON:40', 'LOSE:50', 'VANISHED:60', 'OTHER:70']);
    expect(rows.filter((r) => r.ENTITY_ID === `DEAL_STAGE_${cats[2].id}`).map((r) => r.NAME))
      .toEqual(['Получение полной информации', 'Ожидание мойки / мойка', 'Сделка успешна', 'Клиент не приехал', 'Другое']);
    expect(rows.filter((r) => r.ENTITY_ID === 'STATUS').map((r) => `${r.STATUS_ID} ${r.NAME}`)).toEqual([
      'NEW Новое обращение', 'IN_PROCESS Обработка лида', 'UC_CALLBACK Уточняющий звонок', 'CONVERTED Качественный лид', 'JUNK Некачественный лид',
    ]);
    expect((await fieldNames(emulator, 'deal')).filter((f) => f.startsWith('UF_CRM_AS_'))).toHaveLength(17);
    const repairCard = (await card(emulator, 2, cats[0].id)) as { name: string }[];
    expect(repairCard.map((s) => s.name)).toEqual(['main', 'as_car', 'as_repair']);

    const verify = await verifyPortal(client(), { stateDir, template });
    expect(verify.drift).toEqual([]);
    expect(verify.ok).toBe(true);

    const again = await install();
    expect([again.created, again.updated, again.deleted]).toEqual([0, 0, 0]);
    expect(again.httpRequests).toBeLessThanOrEqual(2);
    expect(again.plan.steps.filter((s) => s.call && !s.deferred && s.action !== 'skip')).toEqual([]);
  });

  it('the base tier creates Repair only, and no automation objects', async () => {
    const { emulator, install } = await portal();
    const report = await install({ tier: 'base' });
    expect(report.converged).toBe(true);
    expect((await categories(emulator)).map((c) => c.name)).toEqual(['Ремонт авто']);
    expect(report.plan.steps.filter((s) => s.group === 'app')).toEqual([]);
    expect(report.skipped).toEqual([]);
    expect(Object.keys(emulator.control.stats().calls).filter((m) => /^(bizproc|event\.|crm\.automation)/.test(m))).toEqual([]);
  });

  it('lists what a webhook cannot install: robots, the trigger, event bindings, the business process', async () => {
    const { install } = await portal();
    const report = await install();
    expect(report.skipped.map((s) => s.object.split(' ')[0])).toEqual(['robot', 'robot', 'trigger', 'event', 'event', 'event', 'event', 'event', 'business']);
    expect(report.skipped.every((s) => /installed Autosalon application/.test(s.reason))).toBe(true);
  });

  it('keeps a client\'s own stages and the stages that hold leads or deals', async () => {
    const { emulator, install, client, stateDir } = await portal();
    const lead = await call<number>(emulator, 'crm.lead.add', { fields: { TITLE: 'Старый лид', STATUS_ID: 'PROCESSED' } });
    await call(emulator, 'crm.status.add', { fields: { ENTITY_ID: 'STATUS', STATUS_ID: 'UC_OWN01', NAME: 'Перезвонить позже', SORT: 25 } });
    // One round only: the pipeline and its default stages exist; then a deal lands in a default stage.
    await install({ tier: 'base', maxRounds: 1 });
    const [repair] = await categories(emulator);
    const deal = await call<number>(emulator, 'crm.deal.add', { fields: { TITLE: 'Сделка', CATEGORY_ID: repair.id, STAGE_ID: `C${repair.id}:EXECUTING` } });
    await call(emulator, 'crm.status.add', { fields: { ENTITY_ID: `DEAL_STAGE_${repair.id}`, STATUS_ID: 'UC_MINE01', NAME: 'Согласование', SORT: 45 } });

    const report = await install({ tier: 'base' });
    expect(report.failed).toEqual([]);
    const rows = await statuses(emulator);
    const ids = rows.map((r) => r.STATUS_ID);
    expect(ids).toEqual(expect.arrayContaining(['PROCESSED', 'UC_OWN01', `C${repair.id}:EXECUTING`, `C${repair.id}:UC_MINE01`]));
    expect(ids).not.toContain(`C${repair.id}:PREPARATION`);
    expect(report.skipped.map((s) => s.object)).toEqual(expect.arrayContaining([
      expect.stringContaining('PROCESSED'), expect.stringContaining(`C${repair.id}:EXECUTING`),
    ]));
    expect(report.skipped.find((s) => s.object.includes('EXECUTING'))!.reason).toMatch(/holds 1 deal/);
    expect(report.kept.map((k) => k.object)).toEqual(expect.arrayContaining([expect.stringContaining('UC_OWN01'), expect.stringContaining('UC_MINE01')]));
    expect((await call<{ STATUS_ID: string }>(emulator, 'crm.lead.get', { id: lead })).STATUS_ID).toBe('PROCESSED');
    expect((await call<{ STAGE_ID: string }>(emulator, 'crm.deal.get', { id: deal })).STAGE_ID).toBe(`C${repair.id}:EXECUTING`);
    const verify = await verifyPortal(client(), { stateDir, template });
    expect(verify.ok).toBe(true);
    expect(verify.notes.map((n) => n.object)).toEqual(expect.arrayContaining([expect.stringContaining('PROCESSED')]));
  });

  it('killed after each batch in turn, a re-run converges with no duplicate pipeline, stage or field', async () => {
    class Killed extends Error {}
    let covered = 0;
    for (let killAt = 1; killAt <= 40; killAt++) {
      const { emulator, install, client, stateDir } = await portal();
      let sent = 0;
      const died = await install({ maxBatch: 10, onBatchSent: () => { if (++sent === killAt) throw new Killed(); } })
        .then(() => false, (error) => { if (error instanceof Killed) return true; throw error; });
      if (!died) break;
      covered++;
      expect(new PortalState(stateDir, client().portalKey).readJournal()).toBeDefined();
      const report = await install({ maxBatch: 10 });
      expect(report.resumed).toBe(true);
      expect(report.failed).toEqual([]);
      expect(report.converged).toBe(true);
      expect(await duplicates(emulator)).toEqual([]);
      expect((await categories(emulator)).map((c) => c.name)).toEqual(['Ремонт авто', 'Магазин', 'Мойка']);
      expect((await verifyPortal(client(), { stateDir, template })).drift).toEqual([]);
      // What the killed run created is recorded as Autosalon's (uninstall may remove it), not adopted as the portal's.
      const ledger = new PortalState(stateDir, client().portalKey).loadLedger({ key: '', origin: '', mode: 'webhook' });
      expect(['repair', 'shop', 'wash'].map((p) => ledger.objects[`category:${p}`]?.created)).toEqual([true, true, true]);
      await emulator.close();
    }
    // Round 1 (categories, fields, cards, statuses) and round 2 (stages) take several batches of 10 each.
    expect(covered).toBeGreaterThanOrEqual(8);
  }, 120_000);

  it('a batch whose answer was lost is looked up, not sent again', async () => {
    const { emulator, stateDir, client } = await portal();
    const c = client();
    const send = c.batch.bind(c);
    let lost = 0;
    c.batch = async (commands, options) => {
      const result = await send(commands, options);
      if (!lost && Object.values(commands).some((cmd) => cmd.method === 'crm.category.add')) {
        lost++;
        throw new LostResponseError('batch', 'connection reset after the portal executed it');
      }
      return result;
    };
    const report = await runInstall(c, { tier: 'crm_plus', stateDir, template });
    expect(lost).toBe(1);
    // Found again within this run: counted as created by it, not as an earlier run resumed.
    expect(report.resumed).toBe(false);
    expect(report.created).toBe(report.plan.steps.filter((step) => step.action === 'create').length);
    expect(report.converged).toBe(true);
    expect(emulator.control.stats().calls['crm.category.add']).toBe(3);
    expect(await duplicates(emulator)).toEqual([]);
    // The pipelines found again are recorded as created by Autosalon, so uninstall may remove them.
    const ledger = new PortalState(stateDir, c.portalKey).loadLedger({ key: c.portalKey, origin: '', mode: 'webhook' });
    expect(['repair', 'shop', 'wash'].map((p) => ledger.objects[`category:${p}`]?.created)).toEqual([true, true, true]);
  });

  it('waits out a storm of 503 QUERY_LIMIT_EXCEEDED at the rate the portal\'s bucket drains, and still converges', async () => {
    const bucket = { burst: 1, drainPerSecond: 8 };
    const { emulator, stateDir } = await portal({ rateLimit: bucket });
    const waits: number[] = [];
    const client = PortalClient.fromWebhook(emulator.webhookUrl, { portalBucket: bucket, onWait: ({ ms }) => waits.push(ms ?? 0) });
    const report = await runInstall(client, { tier: 'crm_plus', stateDir, template, maxBatch: 10 });
    // Every wait is one drain interval (1/8 s), never a doubling backoff.
    expect(waits.length).toBeGreaterThan(0);
    expect(new Set(waits)).toEqual(new Set([125]));
    expect(emulator.control.stats().rejected503).toBeGreaterThan(0);
    expect(report.failed).toEqual([]);
    expect(report.converged).toBe(true);
    // The storm is over for the checks below, which call the portal directly.
    emulator.portal.bucket.setLimit({ burst: 1000, drainPerSecond: 1000 });
    expect(await duplicates(emulator)).toEqual([]);
  });
});

describe('the operating limit', () => {
  it('commands refused with OPERATION_TIME_LIMIT inside a batch are sent again after a wait, and the install converges', async () => {
    // Each deal field costs 0.3 s of the method's budget of 2 s per (short) window: a batch of 17 crosses it.
    const { emulator, install } = await portal({ operatingLimit: { limitSeconds: 2, windowSeconds: 1 }, callCostSeconds: { 'crm.deal.userfield.add': 0.3 } });
    const waits: number[] = [];
    const report = await install({ tier: 'base', limitWaitMs: 1100, onProgress: (e) => { if (e.type === 'wait') waits.push(e.ms); } });
    expect(emulator.control.stats().rejected429).toBeGreaterThan(0);
    expect(waits.length).toBeGreaterThan(0);
    expect(report.failed).toEqual([]);
    expect(report.converged).toBe(true);
    expect((await fieldNames(emulator, 'deal')).filter((f) => f.startsWith('UF_CRM_AS_'))).toHaveLength(template.fields.filter((f) => f.entities.includes('deal') && (f.tier ?? 'base') === 'base').length);
  });
});

describe('uninstall and support stages', () => {
  it('uninstall leaves the portal as the backup says', async () => {
    const { emulator, install, client, stateDir } = await portal();
    const before = {
      leads: (await statuses(emulator, 'STATUS')).map(({ STATUS_ID, NAME, SORT, COLOR, SEMANTICS }) => ({ STATUS_ID, NAME, SORT, COLOR, SEMANTICS })),
      categories: await categories(emulator),
      fields: await Promise.all(['lead', 'deal', 'contact', 'company'].map((e) => fieldNames(emulator, e))),
      cards: await Promise.all([1, 3, 4].map((t) => card(emulator, t))),
    };
    await install();
    const report = await uninstall(client(), { stateDir, template });
    expect(report.failed).toEqual([]);
    expect(report.plan.losesData.length).toBe(30);

    const leads = (await statuses(emulator, 'STATUS')).map(({ STATUS_ID, NAME, SORT, COLOR, SEMANTICS }) => ({ STATUS_ID, NAME, SORT, COLOR, SEMANTICS }));
    expect(leads).toEqual(before.leads);
    expect(await categories(emulator)).toEqual(before.categories);
    expect(await Promise.all(['lead', 'deal', 'contact', 'company'].map((e) => fieldNames(emulator, e)))).toEqual(before.fields);
    expect(await Promise.all([1, 3, 4].map((t) => card(emulator, t)))).toEqual(before.cards);
    // And object by object, as the backup written before the install recorded them.
    const [{ backup }] = new PortalState(stateDir, client().portalKey).readBackups() as { backup: BackupFile }[];
    const now = await statuses(emulator, 'STATUS');
    for (const entry of backup.objects.filter((o) => o.kind === 'status')) {
      const was = entry.before as { statusId: string; name: string; sort: number };
      expect(now.find((r) => r.STATUS_ID === was.statusId)).toMatchObject({ NAME: was.name, SORT: String(was.sort) });
    }
    // Nothing left to remove: a second uninstall has nothing to do.
    const again = await uninstall(client(), { stateDir, template });
    expect(again.plan.steps.filter((s) => s.call)).toEqual([]);
  });

  it('uninstall from a state directory that never installed on the portal changes nothing and says where the state should be', async () => {
    const { emulator, install, client } = await portal();
    await install();
    const cards = await Promise.all([1, 3, 4].map((t) => card(emulator, t)));
    emulator.control.resetStats();
    const elsewhere = tempStateDir();
    await expect(uninstall(client(), { stateDir: elsewhere, template })).rejects.toThrow(/nothing is recorded for https:\/\/127\.0\.0\.1:\d+ in .*point --state-dir/);
    expect(emulator.control.stats().httpRequests).toBe(0);
    expect(await Promise.all([1, 3, 4].map((t) => card(emulator, t)))).toEqual(cards);
    expect(new PortalState(elsewhere, client().portalKey).readBackups()).toEqual([]);
  });

  it('a support stage added with add-stage stays in place through re-installs and is not drift', async () => {
    const { emulator, install, client, stateDir } = await portal();
    await install({ tier: 'base' });
    const added = await addStage(client(), { pipeline: 'repair', name: 'Ждём клиента', after: 'Анализ авто', stateDir, template });
    expect(added.sort).toBe(25);
    // The ledger knows the pipeline: its stages are read, the stage added.
    expect(added.httpRequests).toBe(2);
    const lead = await addStage(client(), { pipeline: 'leads', name: 'Повторный контакт', after: 'Уточняющий звонок', stateDir, template });
    expect(lead.sort).toBe(35);

    const again = await install({ tier: 'base' });
    expect([again.created, again.updated, again.deleted]).toEqual([0, 0, 0]);
    const [repair] = await categories(emulator);
    expect(stageCodes(await statuses(emulator), repair.id)).toEqual([
      'NEW:10', 'INSPECTION:20', `${added.statusId.split(':')[1]}:25`, 'WAIT_PARTS:30', 'IN_REPAIR:40', 'PAYMENT:50', 'WON:60', 'LOSE:70', 'OTHER:80',
    ]);
    const verify = await verifyPortal(client(), { stateDir, template });
    expect(verify.ok).toBe(true);
    expect(verify.kept.map((k) => k.object)).toEqual(expect.arrayContaining([expect.stringContaining('Ждём клиента'), expect.stringContaining('Повторный контакт')]));
    expect(JSON.parse(readFileSync(new PortalState(stateDir, client().portalKey).ledgerFile, 'utf8')).localAdditions).toHaveLength(2);
  });

  it('add-stage refuses what Bitrix24 would refuse, with the reason', async () => {
    const { install, client, stateDir } = await portal();
    await install({ tier: 'base' });
    await expect(addStage(client(), { pipeline: 'repair', name: 'X', after: 'Нет такой', stateDir, template })).rejects.toThrow(/no stage "Нет такой".*"Анализ авто"/);
    await expect(addStage(client(), { pipeline: 'repair', name: 'Y', after: 'Анализ авто', semantics: 'failure', stateDir, template })).rejects.toThrow(/failure stage goes after the success stage/);
    await expect(addStage(client(), { pipeline: 'shop', name: 'Z', after: 'NEW', stateDir, template })).rejects.toThrow(/shop is not on this portal/);
    // Another machine (no ledger) finds the pipeline by name in the same read that brings its stages.
    const elsewhere = await addStage(client(), { pipeline: 'repair', name: 'Ждём звонка', after: 'Анализ авто', stateDir: tempStateDir(), template });
    expect(elsewhere).toMatchObject({ sort: 25, httpRequests: 2 });
    // A malformed colour is refused before the portal is read.
    const c = client();
    await expect(addStage(c, { pipeline: 'repair', name: 'W', after: 'Анализ авто', color: 'red', stateDir, template })).rejects.toThrow(/a colour looks like #RRGGBB \(got "red"\)/);
    expect(c.httpRequests).toBe(0);
  });
});
