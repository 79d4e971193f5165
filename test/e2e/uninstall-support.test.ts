// Uninstall never plans a delete the portal would refuse, and support stages: what add-stage accepts and makes, and
// remove-stage.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { RunningEmulator } from '../../src/emulator/index.js';
import { addStage, removeStage, MAX_STAGE_NAME, stageCodeFromName } from '../../src/install/add-stage.js';
import { runInstall } from '../../src/install/apply.js';
import { PortalState } from '../../src/install/state.js';
import { renderUninstallSummary, uninstall, valuesHeld } from '../../src/install/uninstall.js';
import { PortalClient } from '../../src/portal/client.js';
import { loadTemplate } from '../../src/template/loader.js';
import { startTestEmulator } from '../helpers/emulator.js';
import { call, categories, statuses, tempStateDir } from '../install/portal-checks.js';

const template = loadTemplate();
const running: RunningEmulator[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((e) => e.close()));
});

async function installed(tier = 'base') {
  const emulator = await startTestEmulator();
  running.push(emulator);
  const stateDir = tempStateDir();
  const client = () => PortalClient.fromWebhook(emulator.webhookUrl);
  await runInstall(client(), { tier, stateDir, template });
  const [repair] = await categories(emulator);
  const stage = async (suffix: string) => (await statuses(emulator, `DEAL_STAGE_${repair.id}`)).find((r) => r.STATUS_ID.endsWith(suffix))!;
  return { emulator, stateDir, client, repair, stage };
}

const writes = (emulator: RunningEmulator) => Object.keys(emulator.control.stats().calls).filter((m) => /\.(add|update|delete|set|reset)$/.test(m));

describe('uninstall with deals in a pipeline Autosalon created', () => {
  it('keeps the pipeline whole — its stages, card and support stages — names where the deals are, and finishes once they are moved', async () => {
    const { emulator, stateDir, client, repair } = await installed();
    await addStage(client(), { pipeline: 'repair', name: 'Ждём клиента', after: 'Анализ авто', stateDir, template });
    const deals = await Promise.all([1, 2].map((n) => call<number>(emulator, 'crm.deal.add', { fields: { TITLE: `Сделка ${n}`, CATEGORY_ID: repair.id, STAGE_ID: (n === 1 ? `C${repair.id}:INSPECTION` : `C${repair.id}:PAYMENT`) } })));
    const stagesBefore = (await statuses(emulator, `DEAL_STAGE_${repair.id}`)).map((r) => `${r.STATUS_ID} ${r.NAME}`);

    const dry = await uninstall(client(), { stateDir, template, dryRun: true });
    const pipeline = dry.plan.steps.find((s) => s.kind === 'category')!;
    expect(pipeline).toMatchObject({ action: 'skip', blocked: true });
    expect(pipeline.detail).toBe('holds 2 deals (1 in "Анализ авто", 1 in "Расчет"): kept whole with its stages; move the deals to another pipeline, then run uninstall again');
    // Not one of its stages is deleted or put back, and its card stays as it is.
    expect(dry.plan.steps.filter((s) => s.kind === 'stage' || s.key === 'card:deal:repair')).toEqual([]);

    emulator.control.resetStats();
    const first = await uninstall(client(), { stateDir, template });
    expect(first.failed).toEqual([]);
    expect(first.blocked).toHaveLength(1);
    expect(renderUninstallSummary(first)).toMatch(/1 kept because it holds leads or deals\.[\s\S]*Uninstall is not finished: see above; once the leads or deals are moved, run it again\./);
    // Nothing was sent that the portal would refuse: no stage delete, no category delete.
    expect(writes(emulator)).not.toContain('crm.category.delete');
    expect((await statuses(emulator, `DEAL_STAGE_${repair.id}`)).map((r) => `${r.STATUS_ID} ${r.NAME}`)).toEqual(stagesBefore);

    for (const id of deals) await call(emulator, 'crm.deal.delete', { id });
    const second = await uninstall(client(), { stateDir, template });
    expect([second.failed, second.blocked]).toEqual([[], []]);
    expect(await categories(emulator)).toEqual([]);
    // Its support stage went with it.
    expect(new PortalState(stateDir, client().portalKey).loadLedger({ key: '', origin: '', mode: 'webhook' }).localAdditions).toEqual([]);
  });

  it('names the stages that are not the template\'s when it removes a pipeline with them', async () => {
    const { stateDir, client } = await installed();
    await addStage(client(), { pipeline: 'repair', name: 'Сушка', after: 'Анализ авто', stateDir, template });
    const report = await uninstall(client(), { stateDir, template, dryRun: true });
    const pipeline = report.plan.steps.find((s) => s.kind === 'category' && s.action === 'delete');
    expect(pipeline?.detail).toBe('created by Autosalon, no deals: removed with its stages, among them stages not from the template: "Сушка"');
  });

  it('keeps a lead status Autosalon created while leads are in it, with what to do', async () => {
    const { emulator, stateDir, client } = await installed();
    await call(emulator, 'crm.lead.add', { fields: { TITLE: 'Лид', STATUS_ID: 'UC_CALLBACK' } });
    const report = await uninstall(client(), { stateDir, template, dryRun: true });
    expect(report.blocked).toEqual([{ object: 'status UC_CALLBACK "Уточняющий звонок"', reason: 'holds 1 lead: kept; move them to another status first, then run uninstall again' }]);
    expect(report.plan.steps.filter((s) => s.action === 'delete' && s.kind === 'status')).toEqual([]);
  });
});

describe('uninstall\'s question about fields', () => {
  it('says how many records hold values, and --export-values saves them to a CSV file before anything is deleted', async () => {
    const { emulator, stateDir, client, repair } = await installed();
    await call(emulator, 'crm.deal.add', { fields: { TITLE: 'Сделка', CATEGORY_ID: repair.id, UF_CRM_AS_VIN: 'XTA210990Y2765432', UF_CRM_AS_CAR_MAKE: 'Lada, "Нива"' } });
    await call(emulator, 'crm.lead.add', { fields: { TITLE: 'Лид', UF_CRM_AS_VIN: 'WVWZZZ1JZXW000001' } });
    const file = join(tempStateDir(), 'values.csv');
    let asked = '';
    const report = await uninstall(client(), {
      stateDir, template, exportValuesTo: file,
      confirm: (plan) => { asked = valuesHeld(plan).text; return false; },
    });
    expect(report.cancelled).toBe(true);
    expect(asked).toBe('1 in leads, 2 in deals');
    expect(report.plan.valueCounts).toMatchObject({ 'field:deal:UF_CRM_AS_VIN': 1, 'field:deal:UF_CRM_AS_CAR_MAKE': 1, 'field:lead:UF_CRM_AS_VIN': 1, 'field:lead:UF_CRM_AS_PLATE': 0 });
    expect(report.exported).toEqual({ file, values: 3 });
    const csv = readFileSync(file, 'utf8').trim().split('\n');
    expect(csv[0]).toBe('entity,id,field,value');
    expect(csv.slice(1).sort()).toEqual([
      expect.stringMatching(/^deal,\d+,UF_CRM_AS_CAR_MAKE,"Lada, ""Нива"""$/),
      expect.stringMatching(/^deal,\d+,UF_CRM_AS_VIN,XTA210990Y2765432$/),
      expect.stringMatching(/^lead,\d+,UF_CRM_AS_VIN,WVWZZZ1JZXW000001$/),
    ]);
    // Declined: every field is still there.
    expect((await call<{ FIELD_NAME: string }[]>(emulator, 'crm.deal.userfield.list')).map((f) => f.FIELD_NAME)).toContain('UF_CRM_AS_VIN');
  });
});

describe('add-stage', () => {
  it('refuses a name Bitrix24 would not keep as it is: too long, with markup, with a line break — before reading the portal', async () => {
    const { client, stateDir } = await installed();
    const c = client();
    const add = (name: string) => addStage(c, { pipeline: 'repair', name, after: 'Анализ авто', stateDir, template });
    await expect(add('Я'.repeat(MAX_STAGE_NAME + 1))).rejects.toThrow(/the name is 101 characters long; Bitrix24 keeps at most 100/);
    await expect(add('<b>Срочно</b>')).rejects.toThrow(/contains markup/);
    await expect(add('Мойка &amp; сушка')).rejects.toThrow(/contains markup/);
    await expect(add('Две\nстроки')).rejects.toThrow(/line break/);
    expect(c.httpRequests).toBe(0);
  });

  it('makes a readable code from the name, and with --dry-run changes nothing', async () => {
    const { emulator, client, stateDir, stage } = await installed();
    emulator.control.resetStats();
    const dry = await addStage(client(), { pipeline: 'repair', name: 'Ждём запчасти от поставщика', after: 'Анализ авто', stateDir, template, dryRun: true });
    // Cut to the 17 characters a template takes (the server would take 30 − "C1:" − 8 = 19, but then `export` of the
    // portal would not be a valid template), without a trailing underscore.
    expect(dry).toMatchObject({ dryRun: true, statusId: 'C1:ZHDEM_ZAPCHASTI_O', sort: 25, semantics: 'process' });
    expect(writes(emulator)).toEqual([]);
    const added = await addStage(client(), { pipeline: 'repair', name: 'Сушка', after: 'Анализ авто', stateDir, template });
    expect(added.statusId).toMatch(/^C\d+:SUSHKA$/);
    expect((await stage(':SUSHKA')).NAME).toBe('Сушка');
    // The same name transliterated again (another spelling of it) gets a number.
    expect(stageCodeFromName('сушка!', new Set([added.statusId]), added.statusId.split(':')[0] + ':', 18)).toBe('SUSHKA_2');
  });

  it('refuses --after a final stage unless --semantics failure says so', async () => {
    const { client, stateDir } = await installed();
    await expect(addStage(client(), { pipeline: 'repair', name: 'Отказ от ремонта', after: 'Сделка успешна', stateDir, template }))
      .rejects.toThrow(/"Сделка успешна" is a final stage: a stage after it can only be a failure stage\. Add --semantics failure/);
    const failure = await addStage(client(), { pipeline: 'repair', name: 'Отказ от ремонта', after: 'Сделка успешна', semantics: 'failure', stateDir, template });
    expect(failure).toMatchObject({ semantics: 'failure', statusId: expect.stringMatching(/:OTKAZ_OT_REMONTA$/) });
  });
});

describe('remove-stage', () => {
  it('removes a support stage that holds nothing; refuses one that holds deals, and any stage that is not a support stage', async () => {
    const { emulator, client, stateDir, repair, stage } = await installed();
    await addStage(client(), { pipeline: 'repair', name: 'Сушка', after: 'Анализ авто', stateDir, template });
    const deal = await call<number>(emulator, 'crm.deal.add', { fields: { TITLE: 'Сделка', CATEGORY_ID: repair.id, STAGE_ID: `C${repair.id}:SUSHKA` } });
    await expect(removeStage(client(), { pipeline: 'repair', stage: 'Сушка', stateDir, template })).rejects.toThrow(/"Сушка" holds 1 deal: move them to another stage first; nothing was removed/);
    await expect(removeStage(client(), { pipeline: 'repair', stage: 'Анализ авто', stateDir, template })).rejects.toThrow(/"Анализ авто" is not a support stage of repair: remove-stage removes only stages added with add-stage \("Сушка"\)/);
    await expect(removeStage(client(), { pipeline: 'repair', stage: ' ', stateDir, template })).rejects.toThrow('say which support stage of repair to remove: --stage NAME (support stages: "Сушка")');
    await call(emulator, 'crm.deal.delete', { id: deal });
    const dry = await removeStage(client(), { pipeline: 'repair', stage: 'SUSHKA', stateDir, template, dryRun: true });
    expect(dry).toMatchObject({ dryRun: true, name: 'Сушка' });
    expect(await stage(':SUSHKA')).toBeDefined();
    const removed = await removeStage(client(), { pipeline: 'repair', stage: 'сушка', stateDir, template });
    expect(removed).toMatchObject({ dryRun: false, alreadyGone: false, httpRequests: 3 });
    expect(await stage(':SUSHKA')).toBeUndefined();
    expect(new PortalState(stateDir, client().portalKey).loadLedger({ key: '', origin: '', mode: 'webhook' }).localAdditions).toEqual([]);
  });
});
