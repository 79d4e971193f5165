// crm.item.{add,update,get,list,delete,fields} for leads, deals, contacts and companies: contract tests built from the
// examples of api-reference/crm/universal/crm-item-*.md and tutorials/crm/how-to-edit-crm-objects/
// how-to-change-email-or-phone.md, and the server's Item controller (crm/lib/controller/item.php).
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import type { InstalledApp, RunningEmulator } from '../../src/emulator/index.js';
import { appCall, rawCall, startCaptureServer, startTestEmulator } from '../helpers/emulator.js';

type Rec = Record<string, unknown>;

let emu: RunningEmulator;
let hooks: Awaited<ReturnType<typeof startCaptureServer>>;
let app: InstalledApp;
// The docs' examples were taken on a portal in +02:00 in July 2024.
let now = Date.parse('2024-07-18T14:00:14+02:00');

beforeAll(async () => {
  hooks = await startCaptureServer();
  emu = await startTestEmulator({ limits: false, clock: () => now, timeZone: 'Europe/Berlin', language: 'en' });
  app = await emu.control.installApp({});
  for (const event of ['ONCRMLEADADD', 'ONCRMLEADDELETE', 'ONCRMDEALADD', 'ONCRMDEALUPDATE', 'ONCRMDEALMOVETOCATEGORY', 'ONCRMCONTACTADD', 'ONCRMCONTACTUPDATE', 'ONCRMCOMPANYADD']) {
    await appCall(emu, app.accessToken, 'event.bind', { event, handler: `${hooks.url}/events` });
  }
});
afterAll(async () => {
  await emu.close();
  await hooks.close();
});
/** Forgets the deliveries so far (after they have been made). */
async function clearHooks(): Promise<void> {
  await emu.control.waitForDeliveries();
  hooks.requests.length = 0;
}
beforeEach(clearHooks);

const call = (method: string, params: Rec) => rawCall(emu, method, params);
const item = async (method: string, params: Rec) => {
  const { status, body } = await call(method, params);
  expect(body.error_description, `${method}: ${JSON.stringify(body)}`).toBeUndefined();
  expect(status).toBe(200);
  return (body.result as { item: Rec }).item;
};
const items = async (params: Rec) => (await call('crm.item.list', params)).body;
const delivered = async () => {
  await emu.control.waitForDeliveries();
  return hooks.requests.map((r) => r.form as { event: string; data: { FIELDS: Rec }; auth: Record<string, string> });
};

/** A pipeline with the docs' custom stage UC_KN8KFI (C{id}:UC_KN8KFI). */
async function pipelineWithStage(name: string): Promise<number> {
  const { category } = (await call('crm.category.add', { entityTypeId: 2, fields: { name } })).body.result as { category: { id: number } };
  await call('crm.status.add', { fields: { ENTITY_ID: `DEAL_STAGE_${category.id}`, STATUS_ID: 'UC_KN8KFI', NAME: 'Negotiation', SORT: 25 } });
  return category.id;
}

describe('crm.item.add', () => {
  test('the docs\' deal: camelCase answer, the pipeline\'s stage, leadId and the lists kept; the legacy methods see the same deal', async () => {
    const categoryId = await pipelineWithStage('Service');
    await call('crm.deal.userfield.add', { fields: { FIELD_NAME: '1721244707107', USER_TYPE_ID: 'double', LABEL: 'Amount, custom' } });
    const lead = (await call('crm.lead.add', { fields: { TITLE: 'source lead' } })).body.result as number;
    const contacts = [];
    for (const NAME of ['Klaus', 'Anna']) contacts.push((await call('crm.contact.add', { fields: { NAME } })).body.result as number);
    const company = (await call('crm.company.add', { fields: { TITLE: 'Müller GmbH' } })).body.result as number;
    await clearHooks();

    const deal = await item('crm.item.add', {
      entityTypeId: 2,
      fields: {
        title: 'New deal (specifically for REST method examples)', typeId: 'SERVICE', categoryId, stageId: `C${categoryId}:UC_KN8KFI`,
        isReccurring: 'Y', probability: 50, currencyId: 'EUR', isManualOpportunity: 'Y', opportunity: 999.99, taxValue: 99.9,
        companyId: company, contactId: contacts[0], contactIds: contacts, begindate: '2024-06-18', closedate: '2024-07-30', opened: 'N',
        comments: '[B]Bold text[/B]', assignedById: 6, sourceId: 'WEB', sourceDescription: 'An additional description about the source',
        leadId: lead, additionalInfo: 'Additional information', observers: [2, 3], utmSource: 'google', utmMedium: 'CPC',
        ufCrm_1721244707107: 1111.1, parentId1220: 2,
      },
    });
    expect(deal).toMatchObject({
      id: expect.any(Number), createdTime: '2024-07-18T14:00:14+02:00', updatedTime: '2024-07-18T14:00:14+02:00', createdBy: 1, updatedBy: 1,
      assignedById: 6, opened: 'N', leadId: lead, companyId: company, contactId: contacts[0], quoteId: null,
      title: 'New deal (specifically for REST method examples)', categoryId, stageId: `C${categoryId}:UC_KN8KFI`, stageSemanticId: 'P',
      isNew: 'N', isRecurring: 'N', isReturnCustomer: 'N', closed: 'N', typeId: 'SERVICE', opportunity: 999.99, isManualOpportunity: 'Y',
      taxValue: 0, currencyId: 'EUR', probability: 50, comments: '[B]Bold text[/B]', begindate: '2024-06-18T02:00:00+02:00',
      closedate: '2024-07-30T02:00:00+02:00', sourceId: 'WEB', additionalInfo: 'Additional information', movedBy: 1,
      movedTime: '2024-07-18T14:00:14+02:00', ufCrm_1721244707107: 1111.1, utmSource: 'google', utmMedium: 'CPC', utmCampaign: null,
      observers: [2, 3], contactIds: contacts, entityTypeId: 2, productId: null, eventDate: null,
    });
    // Unknown names (the docs' isReccurring typo, an absent parent type) are dropped; deals have no multifields.
    expect(deal).not.toHaveProperty('parentId1220');
    expect(deal).not.toHaveProperty('fm');

    const legacy = (await call('crm.deal.get', { id: deal.id })).body.result as Rec;
    expect(legacy).toMatchObject({
      ID: String(deal.id), LEAD_ID: String(lead), CATEGORY_ID: String(categoryId), STAGE_ID: `C${categoryId}:UC_KN8KFI`, OPPORTUNITY: '999.99',
      CURRENCY_ID: 'EUR', CONTACT_ID: String(contacts[0]), COMPANY_ID: String(company), ASSIGNED_BY_ID: '6', UF_CRM_1721244707107: '1111.1',
    });
    const byLead = (await call('crm.deal.list', { filter: { LEAD_ID: lead }, select: ['ID'] })).body.result as Rec[];
    expect(byLead.map((d) => Number(d.ID))).toEqual([deal.id]);
    const events = await delivered();
    expect(events.map((e) => [e.event, e.data.FIELDS.ID, e.auth.user_id])).toEqual([['ONCRMDEALADD', String(deal.id), '1']]);
  });

  test('leadId is writable on add and on update for deals, contacts and companies (LEAD_ID stays read-only in crm.*.add)', async () => {
    const lead = (await call('crm.lead.add', { fields: { TITLE: 'to convert' } })).body.result as number;
    const contact = await item('crm.item.add', { entityTypeId: 3, fields: { name: 'Pyotr', leadId: lead } });
    const company = await item('crm.item.add', { entityTypeId: 4, fields: { title: 'Fleet LLC', leadId: lead } });
    expect([contact.leadId, company.leadId]).toEqual([lead, lead]);
    for (const entity of ['contact', 'company']) {
      const found = (await call(`crm.${entity}.list`, { filter: { LEAD_ID: lead }, select: ['ID'] })).body.result as Rec[];
      expect(found.map((r) => Number(r.ID))).toEqual([entity === 'contact' ? contact.id : company.id]);
    }
    const viaLegacy = (await call('crm.deal.add', { fields: { TITLE: 'legacy', LEAD_ID: lead } })).body.result as number;
    expect((await item('crm.item.get', { entityTypeId: 2, id: viaLegacy })).leadId).toBeNull();
    expect((await item('crm.item.update', { entityTypeId: 2, id: viaLegacy, fields: { leadId: lead } })).leadId).toBe(lead);
  });

  test('defaults: the title pattern, the first source and type, dates of a new deal, the caller as responsible', async () => {
    const lead = await item('crm.item.add', { entityTypeId: 1, fields: {} });
    expect(lead).toMatchObject({ title: `Lead #${lead.id}`, stageId: 'NEW', sourceId: 'CALL', opened: 'Y', assignedById: 1, currencyId: 'USD', opportunity: 0 });
    const deal = await item('crm.item.add', { entityTypeId: 2, fields: { stageId: 'WON' } });
    expect(deal).toMatchObject({ title: `Deal #${deal.id}`, typeId: 'SALE', categoryId: 0, stageId: 'WON', stageSemanticId: 'S', closed: 'Y' });
    expect([deal.begindate, deal.closedate]).toEqual(['2024-07-18T02:00:00+02:00', '2024-07-25T02:00:00+02:00']);
    const company = await item('crm.item.add', { entityTypeId: 4, fields: { title: 'Co' } });
    expect(company).toMatchObject({ typeId: 'CUSTOMER', employees: 'EMPLOYEES_1', isMyCompany: 'N', categoryId: 0 });
    // As the app's user: the responsible person is whoever calls.
    const token = emu.control.issueToken(app.clientId, 3).accessToken;
    const contact = (await appCall(emu, token, 'crm.item.add', { entityTypeId: 3, fields: { name: 'Olga' } })).body.result as { item: Rec };
    expect(contact.item).toMatchObject({ assignedById: 3, createdBy: 3, typeId: 'CLIENT', export: 'Y' });
    const events = await delivered();
    expect(events.filter((e) => e.event === 'ONCRMCONTACTADD').map((e) => e.auth.user_id)).toEqual(['3']);
  });

  test('a stage outside the pipeline becomes the pipeline\'s first stage of the same kind; an unknown pipeline is refused', async () => {
    const categoryId = await pipelineWithStage('Wash');
    const lost = await item('crm.item.add', { entityTypeId: 2, fields: { categoryId, stageId: 'LOSE' } });
    expect(lost).toMatchObject({ categoryId, stageId: `C${categoryId}:LOSE`, stageSemanticId: 'F' });
    const fresh = await item('crm.item.add', { entityTypeId: 2, fields: { categoryId, stageId: 'PREPARATION' } });
    expect(fresh.stageId).toBe(`C${categoryId}:NEW`);
    expect((await call('crm.item.add', { entityTypeId: 2, fields: { categoryId: 999 } })).body).toEqual({
      error: 'CRM_FIELD_ERROR_VALUE_NOT_VALID',
      error_description: 'Invalid value for field "Pipeline"',
    });
    expect((await call('crm.item.add', { entityTypeId: 3, fields: { name: 'x', categoryId: 5 } })).body.error).toBe('CRM_FIELD_ERROR_VALUE_NOT_VALID');
  });
});

describe('crm.item.get', () => {
  test('the docs\' lead, made by crm.lead.add: camelCase fields, numbers as numbers, fm with ids and the flat phone/e-mail aliases', async () => {
    await call('crm.lead.userfield.add', { fields: { FIELD_NAME: '1720019876534', USER_TYPE_ID: 'string' } });
    const id = (await call('crm.lead.add', {
      fields: {
        NAME: 'Admin', LAST_NAME: 'Admins', SECOND_NAME: 'Admin', COMPANY_TITLE: 'Administrative Company', POST: 'Admin', STATUS_ID: 'IN_PROCESS',
        SOURCE_ID: 'TRADE_SHOW', SOURCE_DESCRIPTION: 'Exhibition about admins', OPPORTUNITY: 999.9, CURRENCY_ID: 'USD', IS_MANUAL_OPPORTUNITY: 'Y',
        COMMENTS: '[B]Comment about admin[/B]', BIRTHDATE: '2000-01-01', UF_CRM_1720019876534: '321',
        PHONE: [{ VALUE: '+6111111111', VALUE_TYPE: 'WORK' }], EMAIL: [{ VALUE: 'admin@example.com', VALUE_TYPE: 'WORK' }],
      },
    })).body.result as number;
    const lead = await item('crm.item.get', { entityTypeId: 1, id, useOriginalUfNames: 'N' });
    expect(lead).toMatchObject({
      id, createdTime: '2024-07-18T14:00:14+02:00', createdBy: 1, updatedBy: 1, assignedById: 1, opened: 'Y', companyId: 0, contactId: 0,
      stageId: 'IN_PROCESS', isConvert: null, stageSemanticId: 'P', opportunity: 999.9, currencyId: 'USD', sourceId: 'TRADE_SHOW',
      sourceDescription: 'Exhibition about admins', title: `Lead #${id}`, name: 'Admin', lastName: 'Admins', secondName: 'Admin',
      companyTitle: 'Administrative Company', post: 'Admin', comments: '[B]Comment about admin[/B]', dateClosed: null,
      // A date field, as CRestUtil::ConvertDate writes it: local midnight shifted by the zone offset.
      birthdate: '2000-01-01T01:00:00+01:00', hasPhone: 'Y', hasEmail: 'Y', hasImol: 'N', isReturnCustomer: 'N', isManualOpportunity: 'Y',
      movedBy: 1, movedTime: '2024-07-18T14:00:14+02:00', phoneMobile: '', phoneWork: '+6111111111', emailWork: 'admin@example.com',
      emailHome: '', imol: '', skype: null, email: 'admin@example.com', phone: '+6111111111', ufCrm_1720019876534: '321',
      utmSource: null, observers: [], contactIds: [], entityTypeId: 1,
      fm: [
        { id: expect.any(Number), valueType: 'WORK', value: '+6111111111', typeId: 'PHONE' },
        { id: expect.any(Number), valueType: 'WORK', value: 'admin@example.com', typeId: 'EMAIL' },
      ],
    });
  });
});

describe('multifields (fm) and user field names', () => {
  test('the tutorial: an fm array adds; an fm object keyed by id changes, deletes with an empty value, leaves the rest', async () => {
    const contact = await item('crm.item.add', {
      entityTypeId: 3,
      fields: {
        name: 'Klaus', lastName: 'Weber',
        fm: [
          { typeId: 'EMAIL', valueType: 'WORK', value: 'work_email@nomail.com' },
          { typeId: 'EMAIL', valueType: 'HOME', value: 'home_email@nomail.com' },
          { typeId: 'PHONE', valueType: 'WORK', value: '+493012345678' },
          { typeId: 'PHONE', valueType: 'MOBILE', value: '+493076543210' },
        ],
      },
    });
    const fm = contact.fm as { id: number; typeId: string; valueType: string; value: string }[];
    expect(fm.map(({ typeId, valueType, value }) => [typeId, valueType, value])).toEqual([
      ['EMAIL', 'WORK', 'work_email@nomail.com'], ['EMAIL', 'HOME', 'home_email@nomail.com'], ['PHONE', 'WORK', '+493012345678'], ['PHONE', 'MOBILE', '+493076543210'],
    ]);
    expect(contact).toMatchObject({ hasPhone: 'Y', hasEmail: 'Y' });
    const id = (type: string, valueType: string) => fm.find((v) => v.typeId === type && v.valueType === valueType)!.id;

    const updated = await item('crm.item.update', {
      entityTypeId: 3,
      id: contact.id,
      fields: {
        fm: {
          [id('EMAIL', 'WORK')]: { typeId: 'EMAIL', valueType: 'WORK', value: 'new_work_email@nomail.com' },
          [id('EMAIL', 'HOME')]: { typeId: 'EMAIL', value: '' },
          [id('PHONE', 'MOBILE')]: { typeId: 'PHONE', valueType: 'MOBILE', value: '+493055544433' },
          // Without typeId nothing happens; an id the contact does not have adds a value.
          [id('PHONE', 'WORK')]: { value: 'ignored' },
          999999: { typeId: 'PHONE', valueType: 'HOME', value: '+4930000' },
          n0: { typeId: 'WEB', valueType: 'WORK', value: 'https://example.com' },
        },
      },
    });
    expect((updated.fm as Rec[]).map((v) => [v.typeId, v.valueType, v.value])).toEqual([
      ['EMAIL', 'WORK', 'new_work_email@nomail.com'], ['PHONE', 'WORK', '+493012345678'], ['PHONE', 'MOBILE', '+493055544433'],
      ['PHONE', 'HOME', '+4930000'], ['WEB', 'WORK', 'https://example.com'],
    ]);
    // crm.item.get adds the flat aliases; the legacy method sees the same values.
    const got = await item('crm.item.get', { entityTypeId: 3, id: contact.id });
    expect(got).toMatchObject({ email: 'new_work_email@nomail.com', emailWork: 'new_work_email@nomail.com', emailHome: '', phone: '+493012345678', phoneMobile: '+493055544433', phoneWork: '+493012345678' });
    const legacy = (await call('crm.contact.get', { id: contact.id })).body.result as { EMAIL: Rec[]; PHONE: Rec[] };
    expect(legacy.EMAIL.map((v) => v.VALUE)).toEqual(['new_work_email@nomail.com']);
    expect(legacy.PHONE).toHaveLength(3);
  });

  test('fm given as a string adds nothing; a value without valueType or a bad e-mail is refused', async () => {
    const plain = await item('crm.item.add', { entityTypeId: 1, fields: { title: 'string fm', fm: '+7900' } });
    expect(plain).toMatchObject({ hasPhone: 'N', hasEmail: 'N', fm: [] });
    expect((await call('crm.item.add', { entityTypeId: 3, fields: { name: 'x', fm: [{ typeId: 'PHONE', value: '+7900' }] } })).body.error).toBe('CRM_FIELD_ERROR_VALUE_NOT_VALID');
    expect((await call('crm.item.add', { entityTypeId: 4, fields: { title: 'x', fm: [{ typeId: 'EMAIL', valueType: 'WORK', value: 'not-an-email' }] } })).body).toEqual({
      error: 'CRM_FIELD_ERROR_VALUE_NOT_VALID',
      error_description: 'Invalid value for field "E-mail"',
    });
  });

  test('user fields: ufCrm… names by default, UF_CRM_… with useOriginalUfNames=Y; booleans take only Y/y/true as yes', async () => {
    await call('crm.lead.userfield.add', { fields: { FIELD_NAME: 'AS_CAR_MAKE', USER_TYPE_ID: 'string' } });
    await call('crm.lead.userfield.add', { fields: { FIELD_NAME: 'AS_INSURED', USER_TYPE_ID: 'boolean' } });
    await call('crm.lead.userfield.add', { fields: { FIELD_NAME: 'AS_MILEAGE', USER_TYPE_ID: 'integer' } });
    const camel = await item('crm.item.add', { entityTypeId: 1, fields: { ufCrmAsCarMake: 'Audi', ufCrmAsInsured: 'Y', ufCrmAsMileage: '120000' } });
    expect(camel).toMatchObject({ ufCrmAsCarMake: 'Audi', ufCrmAsInsured: 'Y', ufCrmAsMileage: 120000 });
    // Without useOriginalUfNames an UF_CRM_… name is not one the converter knows: it is dropped.
    expect((await item('crm.item.add', { entityTypeId: 1, fields: { UF_CRM_AS_CAR_MAKE: 'dropped' } })).ufCrmAsCarMake).toBeNull();
    const original = await item('crm.item.add', { entityTypeId: 1, useOriginalUfNames: 'Y', fields: { UF_CRM_AS_CAR_MAKE: 'BMW', UF_CRM_AS_INSURED: '1', title: 'original' } });
    expect(original).toMatchObject({ UF_CRM_AS_CAR_MAKE: 'BMW', UF_CRM_AS_INSURED: 'N', title: 'original' });
    expect(original).not.toHaveProperty('ufCrmAsCarMake');
    const legacy = (await call('crm.lead.get', { id: camel.id })).body.result as Rec;
    expect(legacy).toMatchObject({ UF_CRM_AS_CAR_MAKE: 'Audi', UF_CRM_AS_INSURED: '1', UF_CRM_AS_MILEAGE: '120000' });
    // A multiple field given one value is refused, as Item::set does.
    expect((await call('crm.item.add', { entityTypeId: 2, fields: { observers: 3 } })).body).toEqual({
      error: '100',
      error_description: 'Expected iterable value for multiple field, but got integer instead',
    });
  });
});

describe('crm.item.update', () => {
  test('the docs\' update: only given fields change; a stage change moves movedTime; an unknown stage is ignored; no change, no save', async () => {
    const categoryId = await pipelineWithStage('Repair');
    const deal = await item('crm.item.add', { entityTypeId: 2, fields: { title: 'before', categoryId, opportunity: 500 } });
    await clearHooks();
    now += 3600_000;
    const updated = await item('crm.item.update', {
      entityTypeId: 2,
      id: deal.id,
      fields: { title: 'REST Deal #1', stageId: `C${categoryId}:UC_KN8KFI`, assignedById: 6, observers: [1, 2, 3], opened: 'N', typeId: 'SERVICE', opportunity: 10000, currencyId: 'USD', additionalInfo: 'Changing a deal via REST', isManualOpportunity: 'N', utmSource: 'google', createdBy: 5 },
    });
    expect(updated).toMatchObject({
      id: deal.id, title: 'REST Deal #1', stageId: `C${categoryId}:UC_KN8KFI`, assignedById: 6, observers: [1, 2, 3], opened: 'N', typeId: 'SERVICE',
      opportunity: 10000, currencyId: 'USD', isManualOpportunity: 'N', createdBy: 1, createdTime: '2024-07-18T14:00:14+02:00',
      updatedTime: '2024-07-18T15:00:14+02:00', movedTime: '2024-07-18T15:00:14+02:00',
    });
    now += 60_000;
    const kept = await item('crm.item.update', { entityTypeId: 2, id: deal.id, fields: { stageId: 'C999:NEW', title: '', comments: 'note' } });
    expect(kept).toMatchObject({ stageId: `C${categoryId}:UC_KN8KFI`, title: 'REST Deal #1', comments: 'note', movedTime: '2024-07-18T15:00:14+02:00', updatedTime: '2024-07-18T15:01:14+02:00' });
    now += 60_000;
    const same = await item('crm.item.update', { entityTypeId: 2, id: deal.id, fields: { comments: 'note', opened: 'N' } });
    expect(same.updatedTime).toBe('2024-07-18T15:01:14+02:00');
    expect((await delivered()).map((e) => e.event)).toEqual(['ONCRMDEALUPDATE', 'ONCRMDEALUPDATE']);
  });

  // The move event comes from the category field's after-save (crm/lib/Field/Category.php:84-87), then the update
  // operation sends OnAfterCrmDealUpdate like for any change (crm/lib/Service/Factory/Deal.php:695).
  test('a new categoryId moves the deal: the stage follows by kind, ONCRMDEALMOVETOCATEGORY fires, then UPDATE', async () => {
    const from = await pipelineWithStage('From');
    const to = await pipelineWithStage('To');
    const deal = await item('crm.item.add', { entityTypeId: 2, fields: { categoryId: from, stageId: `C${from}:WON` } });
    await clearHooks();
    const moved = await item('crm.item.update', { entityTypeId: 2, id: deal.id, fields: { categoryId: to } });
    expect(moved).toMatchObject({ categoryId: to, stageId: `C${to}:WON`, stageSemanticId: 'S' });
    const events = await delivered();
    expect(events.map((e) => [e.event, e.data.FIELDS])).toEqual([
      ['ONCRMDEALMOVETOCATEGORY', { ID: String(deal.id), CATEGORY_ID: String(to), STAGE_ID: `C${to}:WON` }],
      ['ONCRMDEALUPDATE', { ID: String(deal.id) }],
    ]);
    const chosen = await item('crm.item.update', { entityTypeId: 2, id: deal.id, fields: { categoryId: from, stageId: `C${from}:UC_KN8KFI` } });
    expect(chosen).toMatchObject({ categoryId: from, stageId: `C${from}:UC_KN8KFI` });
    expect((await call('crm.item.update', { entityTypeId: 2, id: deal.id, fields: { categoryId: 4242 } })).body.error).toBe('CRM_FIELD_ERROR_VALUE_NOT_VALID');
    // The legacy update still cannot change the pipeline.
    await call('crm.deal.update', { id: deal.id, fields: { CATEGORY_ID: to } });
    expect((await item('crm.item.get', { entityTypeId: 2, id: deal.id })).categoryId).toBe(from);
  });

  test('contactId binds one contact unless already bound; contactIds replaces the list; the legacy CONTACT_ID follows', async () => {
    const ids: number[] = [];
    for (let i = 0; i < 3; i++) ids.push((await item('crm.item.add', { entityTypeId: 3, fields: { name: `c${i}` } })).id as number);
    const deal = await item('crm.item.add', { entityTypeId: 2, fields: { contactIds: [ids[0], ids[1]] } });
    expect(deal).toMatchObject({ contactId: ids[0], contactIds: [ids[0], ids[1]] });
    expect((await item('crm.item.update', { entityTypeId: 2, id: deal.id, fields: { contactId: ids[1] } })).contactIds).toEqual([ids[0], ids[1]]);
    expect(await item('crm.item.update', { entityTypeId: 2, id: deal.id, fields: { contactId: ids[2] } })).toMatchObject({ contactId: ids[2], contactIds: [ids[2]] });
    expect((await call('crm.deal.get', { id: deal.id })).body.result).toMatchObject({ CONTACT_ID: String(ids[2]) });
  });
});

describe('crm.item.list', () => {
  test('the docs\' lead query: an OR group, IN, ranges, order by last and first name, select', async () => {
    const fresh = await startTestEmulator({ limits: false, clock: () => now, timeZone: 'Europe/Berlin', language: 'en' });
    try {
      const specs = [
        { name: 'Admin', lastName: null, stageId: 'NEW', sourceId: 'WEB', assignedById: 6, opportunity: 19000 },
        { name: 'Klaus', lastName: 'Weber', stageId: 'NEW', sourceId: 'WEB', assignedById: 1, opportunity: 19600 },
        { name: 'Klaus', lastName: 'Schmidt', stageId: 'NEW', sourceId: 'ADVERTISING', assignedById: 1, opportunity: 12000 },
        { name: 'Schmidt', lastName: 'Schmidt', stageId: 'IN_PROCESS', sourceId: 'ADVERTISING', assignedById: 6, opportunity: 19000 },
        { name: 'Too', lastName: 'Cheap', stageId: 'NEW', sourceId: 'WEB', assignedById: 1, opportunity: 100 },
        { name: 'Other', lastName: 'Source', stageId: 'NEW', sourceId: 'CALL', assignedById: 1, opportunity: 9000 },
        { name: null, lastName: null, stageId: 'NEW', sourceId: 'WEB', assignedById: 1, opportunity: 9000 },
      ];
      const created = [];
      for (const spec of specs) created.push(((await rawCall(fresh, 'crm.item.add', { entityTypeId: 1, fields: { ...spec, isManualOpportunity: 'Y' } })).body.result as { item: Rec }).item.id as number);
      const { body } = await rawCall(fresh, 'crm.item.list', {
        entityTypeId: 1,
        select: ['id', 'title', 'lastName', 'name', 'stageId', 'sourceId', 'assignedById', 'opportunity', 'isManualOpportunity'],
        filter: {
          0: { logic: 'OR', 0: { '!=name': '' }, 1: { '!=lastName': '' } },
          '@stageId': ['NEW', 'IN_PROCESS'], '@sourceId': ['WEB', 'ADVERTISING'], '@assignedById': [1, 6], '>=opportunity': 5000, '<=opportunity': 20000, isManualOpportunity: 'Y',
        },
        order: { lastName: 'ASC', name: 'ASC' },
      });
      expect(body.total).toBe(4);
      expect(body).not.toHaveProperty('next');
      const result = (body.result as { items: Rec[] }).items;
      expect(result.map((r) => r.id)).toEqual([created[0], created[2], created[3], created[1]]);
      expect(result[0]).toEqual({ id: created[0], assignedById: 6, stageId: 'NEW', opportunity: 19000, sourceId: 'WEB', title: `Lead #${created[0]}`, name: 'Admin', lastName: null, isManualOpportunity: 'Y' });
    } finally {
      await fresh.close();
    }
  });

  test('the docs\' date query with OR ranges; paging by 50 with total and next; * brings fm and the aliases; UF_* with original names', async () => {
    const fresh = await startTestEmulator({ limits: false, clock: () => now, timeZone: 'Europe/Berlin', language: 'en' });
    try {
      const at = (iso: string) => {
        fresh.control.setClock(Date.parse(iso));
        return fresh.control.addRecord('deal', { TITLE: iso });
      };
      const oct = at('2025-10-31T10:00:00+01:00');
      at('2025-11-01T00:30:00+01:00');
      const feb = at('2025-02-28T22:00:00+01:00');
      at('2025-03-01T12:00:00+01:00');
      const { body } = await rawCall(fresh, 'crm.item.list', {
        entityTypeId: 2,
        select: ['id', 'title', 'createdTime'],
        filter: { 0: { logic: 'OR', 0: { '>=createdTime': '2025-10-31T00:00:00+02:00', '<createdTime': '2025-11-01T00:00:00+02:00' }, 1: { '>=createdTime': '2025-02-28T00:00:00+02:00', '<createdTime': '2025-03-01T00:00:00+02:00' } } },
      });
      expect((body.result as { items: Rec[] }).items).toEqual([
        { id: oct, title: '2025-10-31T10:00:00+01:00', createdTime: '2025-10-31T10:00:00+01:00' },
        { id: feb, title: '2025-02-28T22:00:00+01:00', createdTime: '2025-02-28T22:00:00+01:00' },
      ]);

      for (let i = 0; i < 53; i++) fresh.control.addRecord('contact', { NAME: `n${i}`, PHONE: [{ VALUE: `+7${i}`, VALUE_TYPE: 'WORK' }] });
      const first = (await rawCall(fresh, 'crm.item.list', { entityTypeId: 3, order: { id: 'desc' } })).body;
      expect([first.total, first.next, (first.result as { items: Rec[] }).items.length]).toEqual([53, 50, 50]);
      const row = (first.result as { items: Rec[] }).items[0];
      expect(row).toMatchObject({ name: 'n52', phone: '+752', phoneWork: '+752', fm: [{ id: expect.any(Number), valueType: 'WORK', value: '+752', typeId: 'PHONE' }] });
      // start is rounded down to its page (RestManager: page = start / 50 + 1).
      const second = (await rawCall(fresh, 'crm.item.list', { entityTypeId: 3, select: ['id'], start: 60 })).body;
      expect([second.total, second.next, (second.result as { items: Rec[] }).items.length]).toEqual([53, undefined, 3]);
      const uncounted = (await rawCall(fresh, 'crm.item.list', { entityTypeId: 3, select: ['id'], start: -1 })).body;
      expect(uncounted).not.toHaveProperty('total');
      expect((uncounted.result as { items: Rec[] }).items).toHaveLength(50);
      const named = (await rawCall(fresh, 'crm.item.list', { entityTypeId: 3, select: ['id', 'fm', 'phone'] })).body.result as { items: Rec[] };
      expect(Object.keys(named.items[0])).toEqual(['id']);

      await rawCall(fresh, 'crm.contact.userfield.add', { fields: { FIELD_NAME: 'AS_PLATE', USER_TYPE_ID: 'string' } });
      fresh.control.addRecord('contact', { NAME: 'plated', UF_CRM_AS_PLATE: 'A123BC' });
      const byPlate = (await rawCall(fresh, 'crm.item.list', { entityTypeId: 3, useOriginalUfNames: 'Y', select: ['id', 'UF_*'], filter: { UF_CRM_AS_PLATE: 'A123BC' } })).body;
      expect((byPlate.result as { items: Rec[] }).items).toEqual([{ id: expect.any(Number), UF_CRM_AS_PLATE: 'A123BC' }]);
      const camel = (await rawCall(fresh, 'crm.item.list', { entityTypeId: 3, select: ['ufCrmAsPlate'], filter: { '%ufCrmAsPlate': '123' } })).body;
      expect((camel.result as { items: Rec[] }).items).toEqual([{ ufCrmAsPlate: 'A123BC' }]);
    } finally {
      await fresh.close();
    }
  });

  test('filter and order errors name the field (INVALID_ARG_VALUE)', async () => {
    const error = async (params: Rec) => (await items({ entityTypeId: 1, ...params })).error_description;
    expect(await error({ filter: { bogus: 1 } })).toBe("Invalid filter: field 'BOGUS' is not allowed in filter");
    expect(await error({ filter: { '>opportunity': [1, 2] } })).toBe("Invalid filter: field '>OPPORTUNITY' has invalid value");
    expect(await error({ order: { bogus: 'ASC' } })).toBe("Invalid order: field 'BOGUS' is not allowed in order");
    expect(await error({ order: { id: 'up' } })).toBe("Invalid order: allowed sort directions are ASC, DESC. But got 'UP' for field 'ID'");
    // The ORM columns are allowed too (statusId is the lead's stage column); an UPPER name the converter does not know is not.
    expect((await items({ entityTypeId: 1, filter: { statusId: 'NEW' }, select: ['id'] })).error).toBeUndefined();
    expect(await error({ filter: { STATUS_ID: 'NEW' } })).toBe("Invalid filter: field 'S_TA_TU_S_I_D' is not allowed in filter");
  });
});

describe('errors, delete and fields', () => {
  test('parameters, types and items that do not exist', async () => {
    expect((await call('crm.item.get', { id: 1 })).body).toEqual({ error: '100', error_description: 'Could not find value for parameter {entityTypeId}' });
    expect((await call('crm.item.add', { entityTypeId: 2 })).body).toEqual({ error: '100', error_description: 'Could not find value for parameter {fields}' });
    expect((await call('crm.item.get', { entityTypeId: 'deal', id: 1 })).body.error_description).toBe('Invalid value {deal} to match with parameter {entityTypeId}. Should be value of type int.');
    expect((await call('crm.item.get', { entityTypeId: 1, id: 99_999 })).body).toEqual({ error: 'NOT_FOUND', error_description: 'Element not found' });
    expect((await call('crm.item.list', { entityTypeId: 1038 })).body).toEqual({ error: 'NOT_FOUND', error_description: 'Smart process not found' });
    expect((await call('crm.item.list', { entityTypeId: 6 })).body).toEqual({ error: 'ENTITY_TYPE_NOT_SUPPORTED', error_description: 'Entity type Activity is not supported' });
    expect((await call('crm.item.fields', { entityTypeId: 31 })).body.error).toBe('ENTITY_TYPE_NOT_SUPPORTED');
  });

  test('delete answers [] and fires ONCRM*DELETE; the item is gone for both families', async () => {
    const lead = await item('crm.item.add', { entityTypeId: 1, fields: { title: 'short-lived' } });
    const { status, body } = await call('crm.item.delete', { entityTypeId: 1, id: lead.id });
    expect([status, body.result]).toEqual([200, []]);
    expect((await call('crm.item.delete', { entityTypeId: 1, id: lead.id })).body).toEqual({ error: 'NOT_FOUND', error_description: 'Element not found' });
    expect((await call('crm.lead.get', { id: lead.id })).body.error_description).toBe('Not found');
    expect((await delivered()).map((e) => e.event)).toEqual(['ONCRMLEADADD', 'ONCRMLEADDELETE']);
  });

  test('a restricted CRM role: ACCESS_DENIED for add, read refused, lists left empty — in both families', async () => {
    const deal = await item('crm.item.add', { entityTypeId: 2, fields: { title: 'secret' } });
    // Over the control API's HTTP side, as a test of a separate emulator process would do it.
    const restrict = (denied: unknown) =>
      fetch(`${emu.controlUrl}/users/4/crm/deal`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ denied }) });
    const bad = await restrict(['read', 'export']);
    expect([bad.status, await bad.json()]).toEqual([400, { error: 'unknown CRM operation "export": use read, add, update or delete' }]);
    expect((await restrict(['add', 'read'])).status).toBe(200);
    expect(() => emu.control.restrictCrm(1, 'deal', ['read'])).toThrow(/administrator/);
    try {
      const token = emu.control.issueToken(app.clientId, 4).accessToken;
      const as4 = (method: string, params: Rec) => appCall(emu, token, method, params);
      expect((await as4('crm.item.add', { entityTypeId: 2, fields: { title: 'x' } })).body).toEqual({ error: 'ACCESS_DENIED', error_description: 'Access denied' });
      expect((await as4('crm.item.get', { entityTypeId: 2, id: deal.id })).body).toEqual({ error: 'ACCESS_DENIED', error_description: 'You do not have permission to view this item' });
      expect((await as4('crm.item.list', { entityTypeId: 2 })).body).toMatchObject({ result: { items: [] }, total: 0 });
      expect((await as4('crm.deal.add', { fields: { TITLE: 'x' } })).body).toEqual({ error: '', error_description: 'Access denied.' });
      expect((await as4('crm.deal.list', {})).body).toMatchObject({ result: [], total: 0 });
      // Other types stay open.
      expect((await as4('crm.item.add', { entityTypeId: 1, fields: { title: 'allowed' } })).status).toBe(200);
    } finally {
      emu.control.restrictCrm(4, 'deal', []);
    }
  });

  test('required user fields, with the portal\'s check on: every one on add, only the changed ones on update', async () => {
    const strict = await startTestEmulator({ limits: false, clock: () => now, language: 'en', requiredUserFieldCheck: true });
    try {
      const id = strict.control.addRecord('deal', { TITLE: 'made before the field was' });
      await rawCall(strict, 'crm.deal.userfield.add', { fields: { FIELD_NAME: 'AS_VIN', USER_TYPE_ID: 'string', MANDATORY: 'Y', LABEL: 'VIN' } });
      expect((await rawCall(strict, 'crm.item.add', { entityTypeId: 2, fields: { title: 'no vin' } })).body).toEqual({ error: 'CRM_FIELD_ERROR_REQUIRED', error_description: 'The "VIN" field is required' });
      expect((await rawCall(strict, 'crm.item.update', { entityTypeId: 2, id, fields: { title: 'renamed' } })).status).toBe(200);
      expect((await rawCall(strict, 'crm.item.update', { entityTypeId: 2, id, fields: { ufCrmAsVin: '' } })).body.error).toBe('CRM_FIELD_ERROR_REQUIRED');
      expect((await rawCall(strict, 'crm.item.update', { entityTypeId: 2, id, fields: { stageId: 'PREPARATION' } })).body.error).toBe('CRM_FIELD_ERROR_REQUIRED');
    } finally {
      await strict.close();
    }
  });

  test('crm.item.fields: camelCase keys with upperName; leadId writable here while crm.deal.fields marks LEAD_ID read-only', async () => {
    await call('crm.deal.userfield.add', { fields: { FIELD_NAME: 'AS_MILEAGE', USER_TYPE_ID: 'integer', LABEL: 'Mileage' } });
    const { fields } = (await call('crm.item.fields', { entityTypeId: 2 })).body.result as { fields: Record<string, Rec> };
    expect(fields.id).toEqual({ type: 'integer', isRequired: false, isReadOnly: true, isImmutable: false, isMultiple: false, isDynamic: false, title: 'ID', upperName: 'ID' });
    expect(fields.stageId).toMatchObject({ type: 'crm_status', statusType: 'DEAL_STAGE', upperName: 'STAGE_ID' });
    expect(fields.leadId).toMatchObject({ type: 'crm_lead', isReadOnly: false, settings: { parentEntityTypeId: 1 }, upperName: 'LEAD_ID' });
    expect(fields.contactId).toMatchObject({ isDeprecated: true });
    expect(fields.contactIds).toMatchObject({ isMultiple: true });
    expect(fields.begindate.upperName).toBe('BEGINDATE');
    expect(fields.ufCrmAsMileage).toMatchObject({ type: 'integer', isDynamic: true, formLabel: 'Mileage', upperName: 'UF_CRM_AS_MILEAGE' });
    const legacy = (await call('crm.deal.fields', {})).body.result as Record<string, Rec>;
    expect(legacy.LEAD_ID.isReadOnly).toBe(true);
    const original = (await call('crm.item.fields', { entityTypeId: 2, useOriginalUfNames: 'Y' })).body.result as { fields: Record<string, Rec> };
    expect(original.fields).toHaveProperty('UF_CRM_AS_MILEAGE');
  });

  test('inside batch, with form-encoded values', async () => {
    const { body } = await call('batch', {
      halt: 1,
      cmd: {
        add: 'crm.item.add?entityTypeId=1&fields[title]=from batch&fields[fm][0][typeId]=PHONE&fields[fm][0][valueType]=WORK&fields[fm][0][value]=%2B7111',
        get: 'crm.item.get?entityTypeId=1&id=$result[add][item][id]',
      },
    });
    const result = (body.result as { result: Record<string, { item: Rec }> }).result;
    expect(result.get.item).toMatchObject({ id: result.add.item.id, title: 'from batch', phone: '+7111' });
  });
});
