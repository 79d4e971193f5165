// autosalon export: a portal as a template directory that `template validate` accepts. Round trips: a portal installed
// from the Autosalon template gives the same template back; a hand-tuned portal, exported and installed into a new
// portal, leaves nothing for verify to find.
import { afterEach, describe, expect, it } from 'vitest';
import type { RunningEmulator } from '../../src/emulator/index.js';
import { runInstall } from '../../src/install/apply.js';
import { exportPortal, writeExport } from '../../src/install/export.js';
import { PortalState } from '../../src/install/state.js';
import { verifyPortal } from '../../src/install/verify.js';
import { PortalClient } from '../../src/portal/client.js';
import { fieldSort } from '../../src/install/desired.js';
import { loadTemplate } from '../../src/template/loader.js';
import type { Template } from '../../src/template/model.js';
import { startTestEmulator } from '../helpers/emulator.js';
import { call, categories, statuses, tempStateDir } from '../install/portal-checks.js';

const shipped = loadTemplate();
const running: RunningEmulator[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((e) => e.close()));
});

async function portal() {
  const emulator = await startTestEmulator();
  running.push(emulator);
  return { emulator, client: () => PortalClient.fromWebhook(emulator.webhookUrl), stateDir: tempStateDir() };
}

/** A template as what it means: defaults applied (a field's sort of 100, "all" pipelines) so spelling does not count. */
function meaning(t: Template): unknown {
  const pipelines = t.pipelines.map((p) => p.code);
  return {
    ...t,
    manifest: { ...t.manifest },
    fields: t.fields.map((f) => ({
      ...f, sort: fieldSort(f), multiline: f.multiline ?? false, multiple: f.multiple ?? false,
      shownIn: f.shownIn?.includes('all') ? pipelines : f.shownIn,
    })),
  };
}

async function exported(client: PortalClient, stateDir: string, reference: Template) {
  const state = new PortalState(stateDir, client.portalKey);
  const ledger = state.loadLedger({ key: client.portalKey, origin: client.origin, mode: client.mode });
  const result = await exportPortal(client, { reference, ledger, lang: ledger.lang ?? 'ru' });
  const dir = tempStateDir();
  return { result, dir, template: writeExport(dir, result) };
}

describe('autosalon export', () => {
  it('gives back the Autosalon template from a portal it was installed on (every tier, both languages, the automation)', async () => {
    const { client, stateDir } = await portal();
    await runInstall(client(), { tier: 'crm_plus', stateDir, template: shipped });
    const { result, template, dir } = await exported(client(), stateDir, shipped);
    expect(result.warnings).toEqual([]);
    // Two requests: everything but the cards, then the cards of the pipelines it found.
    expect(result.httpRequests).toBe(2);
    expect(meaning(template)).toEqual(meaning(shipped));
    // And it is a directory the loader (template validate) accepts on its own.
    expect(meaning(loadTemplate(dir))).toEqual(meaning(shipped));
  });

  it('a hand-tuned portal → a template → installed into a new portal, which verify then finds in order', async () => {
    const { emulator, client, stateDir } = await portal();
    await runInstall(client(), { tier: 'base', stateDir, template: shipped });
    // By hand: a stage renamed, a new pipeline with Bitrix24's standard stages, a field, a card section showing it.
    const [repair] = await categories(emulator);
    const inspection = (await statuses(emulator, `DEAL_STAGE_${repair.id}`)).find((r) => r.STATUS_ID.endsWith(':INSPECTION'))!;
    await call(emulator, 'crm.status.update', { id: inspection.ID, fields: { NAME: 'Диагностика' } });
    const tuning = await call<{ category: { id: number } }>(emulator, 'crm.category.add', { entityTypeId: 2, fields: { name: 'Тюнинг', sort: 400 } });
    await call(emulator, 'crm.deal.userfield.add', { fields: { FIELD_NAME: 'TUNING_KIT', USER_TYPE_ID: 'string', EDIT_FORM_LABEL: { ru: 'Комплект', en: 'Kit' } } });
    await call(emulator, 'crm.item.details.configuration.set', {
      entityTypeId: 2, scope: 'C', extras: { dealCategoryId: tuning.category.id },
      data: [
        { name: 'main', title: 'О сделке', type: 'section', elements: [{ name: 'TITLE' }, { name: 'STAGE_ID' }] },
        { name: 'kit', title: 'Комплект', type: 'section', elements: [{ name: 'UF_CRM_TUNING_KIT' }] },
      ],
    });
    const { result, dir, template } = await exported(client(), stateDir, shipped);
    // A template has one set of standard sections per entity: the new pipeline's own differ, and that is said.
    expect(result.warnings.filter((w) => !/automation rule/.test(w))).toEqual(['the standard sections of the deal card of tyuning differ from the first card\'s; the first card\'s are exported']);
    expect(template.pipelines.map((p) => `${p.code} ${p.name.ru}`)).toEqual(['repair Ремонт авто', 'tyuning Тюнинг']);
    expect(template.pipelines[0].stages.find((s) => s.code === 'INSPECTION')!.name).toEqual({ ru: 'Диагностика', en: 'Диагностика' });
    expect(template.fields.find((f) => f.code === 'UF_CRM_TUNING_KIT')).toMatchObject({ entities: ['deal'], type: 'string', label: { ru: 'Комплект', en: 'Kit' } });
    expect(template.cards.find((c) => c.pipeline === 'tyuning')!.sections).toEqual([{ name: 'as_kit', title: { ru: 'Комплект', en: 'Комплект' }, fields: ['UF_CRM_TUNING_KIT'] }]);
    // The reference's rules for the Shop and Wash pipelines refer to what this portal does not have: left out, each said.
    expect(result.warnings).toContain('automation rule shop.assembly left out: its pipelines (shop) are not on the portal');
    // A rule for several pipelines keeps the ones the portal has.
    expect(template.rules.find((r) => r.id === 'deal.refusal')?.pipelines).toEqual(['repair']);

    const fresh = await portal();
    const installed = await runInstall(fresh.client(), { stateDir: fresh.stateDir, template: loadTemplate(dir) });
    expect(installed.failed).toEqual([]);
    expect(installed.converged).toBe(true);
    const verify = await verifyPortal(fresh.client(), { stateDir: fresh.stateDir, template: loadTemplate(dir) });
    expect(verify.drift).toEqual([]);
    expect(verify.ok).toBe(true);
    expect((await categories(fresh.emulator)).map((c) => c.name)).toEqual(['Ремонт авто', 'Тюнинг']);
  });
});
