import { describe, expect, it } from 'vitest';
import { packBatches } from '../../src/install/apply.js';
import type { Plan, Step } from '../../src/install/model.js';
import { countActions, executableSteps, isSettled, needsConsent, planInstall, removableDefaultStages, type PlanInput } from '../../src/install/plan.js';
import { base, crmPlus, defaultStages, emptyLedger, freshSnapshot, row, settledPortal } from './fixtures.js';

const plan = (over: Partial<PlanInput> = {}): Plan =>
  planInstall({
    template: crmPlus, tier: 'crm_plus', lang: 'ru', snapshot: freshSnapshot(), ledger: emptyLedger(),
    portal: 'https://portal.test', mode: 'webhook', ...over,
  });

const byKey = (p: Plan, key: string): Step => {
  const step = p.steps.find((s) => s.key === key);
  if (!step) throw new Error(`no step ${key}`);
  return step;
};

describe('plan on a new portal', () => {
  it('creates the three pipelines, the fields and the callback status, renames the system statuses and removes PROCESSED', () => {
    const p = plan();
    const creates = p.steps.filter((s) => s.action === 'create' && !s.deferred);
    expect(creates.filter((s) => s.kind === 'category').map((s) => s.call?.params)).toEqual([
      { entityTypeId: 2, fields: { name: 'Ремонт авто', sort: 100 } },
      { entityTypeId: 2, fields: { name: 'Магазин', sort: 200 } },
      { entityTypeId: 2, fields: { name: 'Мойка', sort: 300 } },
    ]);
    // 9 lead + 17 deal + 3 contact + 1 company user fields.
    expect(creates.filter((s) => s.kind === 'field')).toHaveLength(30);
    expect(byKey(p, 'status:UC_CALLBACK').call).toEqual({
      method: 'crm.status.add',
      params: { fields: { ENTITY_ID: 'STATUS', STATUS_ID: 'UC_CALLBACK', NAME: 'Уточняющий звонок', SORT: 30, COLOR: '#FFA900' } },
    });
    expect(byKey(p, 'status:NEW')).toMatchObject({ action: 'update', foreign: true, call: { method: 'crm.status.update', params: { fields: { NAME: 'Новое обращение', COLOR: '#2FC6F6' } } } });
    // CONVERTED keeps its name in Russian; its colour already matches: nothing to do.
    expect(byKey(p, 'status:CONVERTED').action).toBe('keep');
    const processed = p.steps.find((s) => s.title.includes('PROCESSED'))!;
    expect(processed).toMatchObject({ action: 'delete', template: false, call: { method: 'crm.status.delete' } });
    expect(needsConsent(p)).toBe(true);
  });

  it('orders the lead statuses so no create breaks the sort rule: updates, then deletes, then creates', () => {
    const leads = executableSteps(plan()).filter((s) => s.group === 'leads').map((s) => `${s.action} ${s.title.split(' ')[1]}`);
    expect(leads).toEqual(['update NEW', 'update IN_PROCESS', 'delete PROCESSED', 'create UC_CALLBACK']);
  });

  it('plans the stages of a new pipeline for the next round and references the new pipeline id in its card', () => {
    const p = plan();
    const repairStages = p.steps.filter((s) => s.group === 'pipeline:repair' && s.kind === 'stage');
    expect(repairStages.every((s) => s.deferred)).toBe(true);
    expect(repairStages.filter((s) => s.action === 'create').map((s) => s.key)).toEqual([
      'stage:repair:INSPECTION', 'stage:repair:WAIT_PARTS', 'stage:repair:IN_REPAIR', 'stage:repair:PAYMENT', 'stage:repair:OTHER',
    ]);
    expect(repairStages.filter((s) => s.action === 'delete').map((s) => s.title)).toEqual([
      'stage PREPARATION', 'stage PREPAYMENT_INVOICE', 'stage EXECUTING', 'stage FINAL_INVOICE', 'stage APOLOGY',
    ]);
    const category = byKey(p, 'category:repair');
    const card = byKey(p, 'card:deal:repair');
    expect(card.dependsOn).toBe(category.id);
    expect(card.call?.params).toMatchObject({ entityTypeId: 2, scope: 'C', extras: { dealCategoryId: `$result[${category.id}][category][id]` } });
    const sections = (card.call?.params.data as { name: string }[]).map((s) => s.name);
    expect(sections).toEqual(['main', 'as_car', 'as_repair']);
    const batches = packBatches(executableSteps(p));
    expect(batches.every((b) => b.length <= 50)).toBe(true);
    expect(batches.find((b) => b.includes(card))).toContain(category);
  });

  it('webhook mode skips every application object and says why', () => {
    const skipped = plan().steps.filter((s) => s.group === 'app');
    expect(skipped.map((s) => s.kind)).toEqual(['robot', 'robot', 'trigger', 'event', 'event', 'event', 'event', 'event', 'bp']);
    expect(skipped.every((s) => s.action === 'skip' && /installed Autosalon application/.test(s.detail!))).toBe(true);
  });

  it('the base tier installs Repair only and no automation objects', () => {
    const p = plan({ template: base, tier: 'base' });
    expect(p.steps.filter((s) => s.kind === 'category').map((s) => s.key)).toEqual(['category:repair']);
    expect(p.steps.some((s) => s.group === 'app')).toBe(false);
    expect(p.steps.some((s) => s.key === 'card:deal:shop' || s.key === 'card:deal:wash')).toBe(false);
  });

  it('writes names in the install language and labels in both', () => {
    const p = plan({ lang: 'en' });
    expect(byKey(p, 'category:repair').call?.params).toMatchObject({ fields: { name: 'Car repair' } });
    const field = byKey(p, 'field:lead:UF_CRM_AS_DIRECTION').call!;
    expect(field.method).toBe('crm.lead.userfield.add');
    expect(field.params.fields).toMatchObject({
      FIELD_NAME: 'UF_CRM_AS_DIRECTION', USER_TYPE_ID: 'enumeration', LABEL: 'Line of business',
      EDIT_FORM_LABEL: { ru: 'Направление', en: 'Line of business' },
      LIST: [
        { VALUE: 'Car repair', XML_ID: 'repair', SORT: 10, DEF: 'N' },
        { VALUE: 'Parts shop', XML_ID: 'shop', SORT: 20, DEF: 'N' },
        { VALUE: 'Car wash', XML_ID: 'wash', SORT: 30, DEF: 'N' },
      ],
    });
  });
});

describe('plan on a portal that holds the template', () => {
  it('changes nothing (colour case and option flags aside)', () => {
    const { snapshot, ledger } = settledPortal(crmPlus);
    const p = plan({ snapshot, ledger });
    const changes = p.steps.filter((s) => s.action !== 'keep');
    expect(changes.filter((s) => s.group !== 'app')).toEqual([]);
    // The application objects remain skipped (webhook), which is settled: nothing more can be done.
    expect(isSettled(p)).toBe(true);
    expect(executableSteps(p)).toEqual([]);
  });

  it('notices drift: a renamed stage, a changed label, a lost card section', () => {
    const { snapshot, ledger } = settledPortal(crmPlus);
    snapshot.statuses.find((r) => r.statusId === 'C1:INSPECTION')!.name = 'Осмотр';
    snapshot.fields.deal.find((f) => f.fieldName === 'UF_CRM_AS_VIN')!.labels.editForm.en = 'Vin code';
    snapshot.cards.contact = snapshot.cards.contact!.filter((s) => s.name !== 'as_car');
    const p = plan({ snapshot, ledger });
    expect(byKey(p, 'stage:repair:INSPECTION')).toMatchObject({ action: 'update', detail: 'name "Осмотр" → "Анализ авто"', foreign: false });
    const vin = byKey(p, 'field:deal:UF_CRM_AS_VIN');
    expect(vin.action).toBe('update');
    // Labels overwrite every language, so all of them are sent.
    expect(vin.call?.params.fields).toMatchObject({ EDIT_FORM_LABEL: { ru: 'VIN', en: 'VIN' }, LIST_COLUMN_LABEL: { ru: 'VIN', en: 'VIN' } });
    const card = byKey(p, 'card:contact');
    expect(card.detail).toBe('adds section "Автомобиль"');
    expect((card.call?.params.data as { name: string }[]).map((s) => s.name)).toEqual(['main', 'as_car']);
  });
});

describe('what the plan never touches', () => {
  it('keeps a client\'s own stage and a default stage holding deals, and lists them', () => {
    const snapshot = freshSnapshot();
    snapshot.categories.push({ id: 7, name: 'Ремонт авто', sort: 100, isDefault: false });
    snapshot.statuses.push(...defaultStages(7), row('DEAL_STAGE_7', 'C7:UC_MINE01', 'Согласование с клиентом', 25));
    snapshot.counts.deals = Object.fromEntries(removableDefaultStages(7, crmPlus.pipelines[0].stages.map((s) => s.code)).map((id) => [id, 0]));
    snapshot.counts.deals['C7:EXECUTING'] = 2;
    snapshot.cards['deal:7'] = null;
    const ledger = emptyLedger();
    ledger.objects['category:repair'] = { created: true, id: 7 };
    const p = plan({ snapshot, ledger, template: base, tier: 'base' });
    const own = p.steps.find((s) => s.title.includes('C7:UC_MINE01'))!;
    expect(own).toMatchObject({ action: 'keep', template: false });
    const busy = p.steps.find((s) => s.title.includes('C7:EXECUTING'))!;
    expect(busy).toMatchObject({ action: 'skip' });
    expect(busy.detail).toMatch(/holds 2 deals/);
    expect(p.steps.filter((s) => s.action === 'delete' && s.group === 'pipeline:repair').map((s) => s.title.split(' ')[1]))
      .toEqual(['C7:PREPARATION', 'C7:PREPAYMENT_INVOICE', 'C7:FINAL_INVOICE', 'C7:APOLOGY']);
    expect(p.steps.some((s) => s.call?.method === 'crm.status.delete' && s.title.includes('UC_MINE01'))).toBe(false);
  });

  it('keeps PROCESSED while leads use it', () => {
    const snapshot = freshSnapshot();
    snapshot.counts.leads.PROCESSED = 3;
    const processed = plan({ snapshot }).steps.find((s) => s.title.includes('PROCESSED'))!;
    expect(processed.action).toBe('skip');
    expect(processed.detail).toMatch(/holds 3 leads/);
  });

  it('asks for the count when it does not have it, instead of deleting', () => {
    const snapshot = freshSnapshot();
    snapshot.counts.leads = {};
    const p = plan({ snapshot });
    expect(p.missingReads.leadCounts).toEqual(['PROCESSED']);
    expect(p.steps.some((s) => s.action === 'delete' && !s.deferred)).toBe(false);
  });

  it('does not delete the other stages of a pipeline it adopted by name', () => {
    const snapshot = freshSnapshot();
    snapshot.categories.push({ id: 4, name: 'Car repair', sort: 50, isDefault: false });
    snapshot.statuses.push(...defaultStages(4));
    snapshot.cards['deal:4'] = [];
    const p = plan({ snapshot, template: base, tier: 'base' });
    expect(p.categories.repair).toEqual({ code: 'repair', id: 4, created: false, isNew: false });
    expect(byKey(p, 'category:repair')).toMatchObject({ action: 'update', foreign: true });
    expect(byKey(p, 'category:repair').detail).toMatch(/adopted/);
    expect(p.steps.filter((s) => s.action === 'delete')).toHaveLength(1); // PROCESSED only
    expect(p.steps.find((s) => s.title.includes('C4:EXECUTING'))?.action).toBe('keep');
  });

  it('keeps a support stage recorded by add-stage', () => {
    const { snapshot, ledger } = settledPortal(base);
    snapshot.statuses.push(row('DEAL_STAGE_1', 'C1:UC_SUPP01', 'Ждём клиента', 25));
    ledger.localAdditions.push({ pipeline: 'repair', statusId: 'C1:UC_SUPP01', name: 'Ждём клиента', after: 'Анализ авто', semantics: 'process', color: '#39A8EF', sort: 25, addedAt: '2026-01-01' });
    const p = plan({ snapshot, ledger, template: base, tier: 'base' });
    expect(p.steps.find((s) => s.title.includes('UC_SUPP01'))).toMatchObject({ action: 'keep', detail: expect.stringMatching(/support stage/) });
    expect(executableSteps(p)).toEqual([]);
  });

  it('skips a stage whose semantics on the portal differ, and a field of another type', () => {
    const { snapshot, ledger } = settledPortal(base);
    const other = snapshot.statuses.find((r) => r.statusId === 'C1:OTHER')!;
    other.semantics = 'process';
    snapshot.fields.lead.find((f) => f.fieldName === 'UF_CRM_AS_CAR_YEAR')!.userTypeId = 'string';
    const p = plan({ snapshot, ledger, template: base, tier: 'base' });
    expect(byKey(p, 'stage:repair:OTHER')).toMatchObject({ action: 'skip', detail: expect.stringMatching(/cannot change the semantics/) });
    expect(byKey(p, 'field:lead:UF_CRM_AS_CAR_YEAR')).toMatchObject({ action: 'skip', detail: expect.stringMatching(/type/) });
  });

  it('never creates a stage where the server would refuse it', () => {
    const snapshot = freshSnapshot();
    snapshot.categories.push({ id: 2, name: 'Ремонт авто', sort: 100, isDefault: false });
    // A success stage that is not the template's WON, placed early: the process stages cannot go after it.
    snapshot.statuses.push(
      row('DEAL_STAGE_2', 'C2:NEW', 'Новая', 10, { system: true }),
      row('DEAL_STAGE_2', 'C2:DONE', 'Готово', 15, { semantics: 'success' }),
      row('DEAL_STAGE_2', 'C2:LOSE', 'Провал', 70, { system: true, semantics: 'failure' }),
    );
    snapshot.cards['deal:2'] = [];
    const p = plan({ snapshot, template: base, tier: 'base' });
    expect(byKey(p, 'stage:repair:INSPECTION')).toMatchObject({ action: 'skip', detail: expect.stringMatching(/before the success stage \(sort 15\)/) });
    expect(byKey(p, 'stage:repair:WON')).toMatchObject({ action: 'skip', detail: expect.stringMatching(/system stage C2:WON is missing/) });
  });

  it('keeps the portal\'s own card sections and replaces only the as_* ones', () => {
    const { snapshot, ledger } = settledPortal(base);
    snapshot.cards.lead = [
      { name: 'client_main', title: 'Клиент', type: 'section', elements: [{ name: 'TITLE' }] },
      { name: 'as_car', title: 'Машина', type: 'section', elements: [{ name: 'UF_CRM_AS_VIN' }] },
      { name: 'as_legacy', title: 'Старое', type: 'section', elements: [{ name: 'UF_CRM_AS_PLATE' }] },
    ];
    const card = byKey(plan({ snapshot, ledger, template: base, tier: 'base' }), 'card:lead');
    const data = card.call!.params.data as { name: string; title: string }[];
    expect(data.map((s) => `${s.name}:${s.title}`)).toEqual(['client_main:Клиент', 'as_car:Автомобиль', 'as_request:Обращение']);
    expect(card.before).toEqual({ card: 'lead', sections: snapshot.cards.lead });
  });
});

describe('application objects in app mode', () => {
  const app = (over: Partial<PlanInput> = {}) => {
    const { snapshot, ledger } = settledPortal(crmPlus);
    snapshot.app = { robots: [], triggers: [], events: [], templates: [], unavailable: {} };
    return plan({ snapshot, ledger, mode: 'app', app: { publicUrl: 'https://svc.example.com', clientId: 'local.abc' }, ...over });
  };

  it('registers robots with the service\'s handler, the trigger, the events and the refusal process', () => {
    const p = app();
    const calls = executableSteps(p).map((s) => s.call!);
    expect(calls.map((c) => c.method)).toEqual([
      'bizproc.robot.add', 'bizproc.robot.add', 'crm.automation.trigger.add',
      'event.bind', 'event.bind', 'event.bind', 'event.bind', 'event.bind', 'bizproc.workflow.template.add',
    ]);
    expect(calls[0].params).toMatchObject({ CODE: 'autosalon_refusal', HANDLER: 'https://svc.example.com/robots/refusal', USE_SUBSCRIPTION: 'Y' });
    expect(calls[3].params).toEqual({ event: 'ONCRMLEADADD', handler: 'https://svc.example.com/events' });
    expect(calls[8].params).toMatchObject({ DOCUMENT_TYPE: ['crm', 'CCrmDocumentDeal', 'DEAL'], AUTO_EXECUTE: '0', NAME: 'Автосалон: отказ клиента' });
  });

  it('keeps what is registered and current; re-registers a robot whose fingerprint changed', () => {
    const first = app();
    const { snapshot, ledger } = settledPortal(crmPlus);
    snapshot.app = {
      robots: ['autosalon_refusal', 'autosalon_stage_actions'], triggers: [{ code: 'autosalon_inbound', name: 'Автосалон: входящее обращение (звонок, форма)' }],
      events: crmPlus.app.events.map((event) => ({ event, handler: 'https://svc.example.com/events' })),
      templates: [{ id: 9, name: 'Автосалон: отказ клиента', systemCode: 'rest_app_3', documentType: [] }],
      unavailable: {},
    };
    for (const s of executableSteps(first)) if (s.record) ledger.objects[s.key] = { ...s.record, ...(s.kind === 'bp' ? { id: 9 } : {}) };
    ledger.objects['robot:autosalon_stage_actions'].hash = 'old';
    const p = plan({ snapshot, ledger, mode: 'app', app: { publicUrl: 'https://svc.example.com', clientId: 'local.abc' } });
    expect(executableSteps(p).map((s) => `${s.action} ${s.key}`)).toEqual(['update robot:autosalon_stage_actions']);
  });

  it('unbinds an older address of the service that it bound itself', () => {
    const { snapshot, ledger } = settledPortal(crmPlus);
    snapshot.app = { robots: [], triggers: [], events: [{ event: 'ONCRMLEADADD', handler: 'https://old.example.com/events' }, { event: 'ONCRMLEADADD', handler: 'https://other.example.com/hook' }], templates: [], unavailable: {} };
    ledger.objects['event:ONCRMLEADADD'] = { created: true, handler: 'https://old.example.com/events' };
    const p = plan({ snapshot, ledger, mode: 'app', app: { publicUrl: 'https://svc.example.com', clientId: 'x' } });
    const unbind = executableSteps(p).filter((s) => s.call!.method === 'event.unbind');
    expect(unbind.map((s) => s.call!.params)).toEqual([{ event: 'ONCRMLEADADD', handler: 'https://old.example.com/events' }]);
  });

  it('says so when the portal\'s plan has no business processes (bizproc methods not found)', () => {
    const { snapshot, ledger } = settledPortal(crmPlus);
    snapshot.app = { robots: [], triggers: [], events: [], templates: [], unavailable: { robots: 'ERROR_METHOD_NOT_FOUND: Method not found!', templates: 'ERROR_METHOD_NOT_FOUND: Method not found!' } };
    const p = plan({ snapshot, ledger, mode: 'app', app: { publicUrl: 'https://svc.example.com', clientId: 'x' } });
    expect(p.steps.filter((s) => s.kind === 'robot' || s.kind === 'bp').map((s) => s.action)).toEqual(['skip', 'skip', 'skip']);
    expect(p.steps.find((s) => s.kind === 'robot')!.detail).toMatch(/does not offer it \(ERROR_METHOD_NOT_FOUND/);
    expect(executableSteps(p).map((s) => s.call!.method)).toEqual(['crm.automation.trigger.add', ...crmPlus.app.events.map(() => 'event.bind')]);
  });

  it('says why robots and events cannot be registered without a usable public URL', () => {
    const p = app({ app: { publicUrl: 'http://localhost:3000', clientId: 'x' } });
    const robot = p.steps.find((s) => s.kind === 'robot')!;
    expect(robot).toMatchObject({ action: 'skip', detail: expect.stringMatching(/no dot/) });
    expect(p.steps.find((s) => s.kind === 'bp')).toMatchObject({ action: 'skip', detail: expect.stringMatching(/runs the robot autosalon_refusal, which is skipped: .*no dot/) });
    expect(countActions(p.steps).create).toBe(1); // the trigger needs no URL
    expect(p.publicUrl).toBeUndefined();
  });

  it('without a public URL, binds to the one the last install recorded; an older ledger has it in its event handlers', () => {
    const recorded = app({ app: { clientId: 'x' }, ledger: { ...settledPortal(crmPlus).ledger, publicUrl: 'https://svc.example.com' } });
    expect(recorded.publicUrl).toBe('https://svc.example.com');
    expect(recorded.steps.filter((s) => s.action === 'skip')).toEqual([]);
    expect(executableSteps(recorded).find((s) => s.kind === 'robot')!.call!.params).toMatchObject({ HANDLER: 'https://svc.example.com/robots/refusal' });

    const older = settledPortal(crmPlus).ledger;
    older.objects['event:ONCRMLEADADD'] = { created: true, handler: 'https://old.example.com/svc/events' };
    expect(app({ app: { clientId: 'x' }, ledger: older }).publicUrl).toBe('https://old.example.com/svc');

    const given = app({ app: { publicUrl: 'https://new.example.com/', clientId: 'x' }, ledger: { ...settledPortal(crmPlus).ledger, publicUrl: 'https://svc.example.com' } });
    expect(given.publicUrl).toBe('https://new.example.com');
    const unknown = app({ app: { clientId: 'x' } });
    expect(unknown.steps.find((s) => s.kind === 'robot')).toMatchObject({ action: 'skip', detail: expect.stringMatching(/public URL is unknown: pass --public-url/) });
  });
});

describe('removable default stages', () => {
  it('follows the portal\'s 21-character cut of a new pipeline\'s stage ids', () => {
    expect(removableDefaultStages(5, ['NEW', 'WON', 'LOSE'])).toContain('C5:PREPAYMENT_INVOICE');
    expect(removableDefaultStages(12, ['NEW', 'WON', 'LOSE'])).toContain('C12:PREPAYMENT_INVOIC');
    expect(removableDefaultStages(12, ['NEW', 'WON', 'LOSE', 'EXECUTING'])).not.toContain('C12:EXECUTING');
  });
});
