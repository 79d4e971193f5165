// crm.{lead|deal|contact|company}.* (REST notes §13; docs api-reference/crm/{leads,deals,contacts,companies}/*).
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { RunningEmulator } from '../../src/emulator/index.js';
import { rawCall, startTestEmulator } from '../helpers/emulator.js';

let emu: RunningEmulator;
let now = Date.parse('2027-01-15T09:00:00+03:00');
beforeAll(async () => {
  emu = await startTestEmulator({ limits: false, clock: () => now });
});
afterAll(() => emu.close());

type Rec = Record<string, unknown>;
const get = async (entity: string, id: unknown) => (await rawCall(emu, `crm.${entity}.get`, { id })).body.result as Rec;
const listIds = async (entity: string, params: Rec) => ((await rawCall(emu, `crm.${entity}.list`, { select: ['ID'], ...params })).body.result as Rec[]).map((r) => Number(r.ID));

describe('leads', () => {
  test('add fills the documented defaults; get returns strings, datetimes with the zone, multifields', async () => {
    const id = (await rawCall(emu, 'crm.lead.add', {
      fields: { NAME: 'Пётр', SOURCE_ID: 'WEB', PHONE: [{ VALUE: '+79001234567', VALUE_TYPE: 'MOBILE' }], OPPORTUNITY: 1500 },
    })).body.result;
    const lead = await get('lead', id);
    expect(lead).toMatchObject({
      ID: String(id),
      TITLE: `Лид #${id}`,
      STATUS_ID: 'NEW',
      STATUS_SEMANTIC_ID: 'P',
      SOURCE_ID: 'WEB',
      OPPORTUNITY: '1500.00',
      ASSIGNED_BY_ID: '1',
      CREATED_BY_ID: '1',
      HAS_PHONE: 'Y',
      HAS_EMAIL: 'N',
      DATE_CREATE: '2027-01-15T09:00:00+03:00',
      MOVED_TIME: '2027-01-15T09:00:00+03:00',
      PHONE: [{ ID: expect.any(String), VALUE_TYPE: 'MOBILE', VALUE: '+79001234567', TYPE_ID: 'PHONE' }],
    });
    expect(lead).not.toHaveProperty('EMAIL');
  });

  test('update: a status change moves MOVED_TIME and DATE_MODIFY; an unknown status is ignored; read-only fields too', async () => {
    const id = (await rawCall(emu, 'crm.lead.add', { fields: { TITLE: 'moving' } })).body.result;
    now += 3600_000;
    await rawCall(emu, 'crm.lead.update', { id, fields: { STATUS_ID: 'IN_PROCESS', DATE_CREATE: '2000-01-01T00:00:00+03:00', CREATED_BY_ID: 5 } });
    let lead = await get('lead', id);
    expect(lead).toMatchObject({ STATUS_ID: 'IN_PROCESS', MOVED_TIME: '2027-01-15T10:00:00+03:00', DATE_MODIFY: '2027-01-15T10:00:00+03:00', CREATED_BY_ID: '1' });
    expect(lead.DATE_CREATE).toBe('2027-01-15T09:00:00+03:00');
    now += 60_000;
    await rawCall(emu, 'crm.lead.update', { id, fields: { STATUS_ID: 'NO_SUCH', COMMENTS: 'note' } });
    lead = await get('lead', id);
    expect(lead).toMatchObject({ STATUS_ID: 'IN_PROCESS', COMMENTS: 'note', MOVED_TIME: '2027-01-15T10:00:00+03:00', DATE_MODIFY: '2027-01-15T10:01:00+03:00' });
    await rawCall(emu, 'crm.lead.update', { id, fields: { STATUS_ID: 'CONVERTED' } });
    expect(await get('lead', id)).toMatchObject({ STATUS_SEMANTIC_ID: 'S', DATE_CLOSED: '2027-01-15T10:01:00+03:00' });
  });

  test('field names are matched as written: lower-case keys are dropped', async () => {
    const id = (await rawCall(emu, 'crm.lead.add', { fields: { title: 'lower', TITLE: 'UPPER', comments: 'dropped' } })).body.result;
    expect(await get('lead', id)).toMatchObject({ TITLE: 'UPPER', COMMENTS: null });
  });

  test('errors: bad id, missing record', async () => {
    expect((await rawCall(emu, 'crm.lead.get', { id: 'abc' })).body).toEqual({ error: '', error_description: 'ID is not defined or invalid.' });
    expect((await rawCall(emu, 'crm.lead.get', { id: 999_999 })).body).toEqual({ error: '', error_description: 'Not found' });
    expect((await rawCall(emu, 'crm.lead.update', { id: 999_999, fields: {} })).body.error_description).toBe('Not found');
    expect((await rawCall(emu, 'crm.lead.add', { fields: 'x' })).body.error_description).toBe("Parameter 'fields' must be array.");
  });
});

describe('list filters, select and order', () => {
  test('operators on ids, statuses, dates, text and user fields', async () => {
    const fresh = await startTestEmulator({ limits: false, clock: () => now });
    try {
      await rawCall(fresh, 'crm.lead.userfield.add', { fields: { FIELD_NAME: 'AS_MILEAGE', USER_TYPE_ID: 'integer' } });
      const base = now;
      const ids: number[] = [];
      const specs = [
        { TITLE: 'Audi A4', STATUS_ID: 'NEW', SOURCE_ID: 'CALL', ASSIGNED_BY_ID: 3, UF_CRM_AS_MILEAGE: 120000 },
        { TITLE: 'BMW X5', STATUS_ID: 'IN_PROCESS', SOURCE_ID: 'WEB', ASSIGNED_BY_ID: 3, UF_CRM_AS_MILEAGE: 5000 },
        { TITLE: 'audi q7', STATUS_ID: 'JUNK', SOURCE_ID: 'WEB', ASSIGNED_BY_ID: 6, UF_CRM_AS_MILEAGE: 80000 },
      ];
      for (const [i, fields] of specs.entries()) {
        now = base + i * 60_000;
        ids.push((await rawCall(fresh, 'crm.lead.add', { fields })).body.result as number);
      }
      const q = async (filter: Rec, order: Rec = { ID: 'ASC' }) =>
        ((await rawCall(fresh, 'crm.lead.list', { filter, order, select: ['ID'] })).body.result as Rec[]).map((r) => Number(r.ID));
      expect(await q({ '>ID': ids[0] })).toEqual([ids[1], ids[2]]);
      expect(await q({ '@STATUS_ID': ['NEW', 'JUNK'] })).toEqual([ids[0], ids[2]]);
      expect(await q({ STATUS_ID: ['NEW', 'JUNK'] })).toEqual([ids[0], ids[2]]);
      expect(await q({ '!STATUS_ID': 'JUNK' })).toEqual([ids[0], ids[1]]);
      expect(await q({ '%TITLE': 'AUDI' })).toEqual([ids[0], ids[2]]);
      expect(await q({ '=%TITLE': 'BMW%' })).toEqual([ids[1]]);
      expect(await q({ SOURCE_ID: 'WEB', ASSIGNED_BY_ID: 3 })).toEqual([ids[1]]);
      expect(await q({ '>=DATE_CREATE': new Date(base + 60_000).toISOString() })).toEqual([ids[1], ids[2]]);
      expect(await q({ '<DATE_MODIFY': new Date(base + 30_000).toISOString(), '>=DATE_MODIFY': '2027-01-15' })).toEqual([ids[0]]);
      expect(await q({ '>UF_CRM_AS_MILEAGE': 10000 })).toEqual([ids[0], ids[2]]);
      expect(await q({}, { UF_CRM_AS_MILEAGE: 'DESC' })).toEqual([ids[0], ids[2], ids[1]]);
      expect(await q({ UNKNOWN_FIELD: 'x' })).toEqual(ids);

      const star = (await rawCall(fresh, 'crm.lead.list', { filter: { ID: ids[0] } })).body.result as Rec[];
      expect(star[0]).toHaveProperty('TITLE', 'Audi A4');
      expect(star[0]).not.toHaveProperty('UF_CRM_AS_MILEAGE');
      expect(star[0]).not.toHaveProperty('PHONE');
      const withUf = (await rawCall(fresh, 'crm.lead.list', { filter: { ID: ids[0] }, select: ['*', 'UF_*', 'PHONE'] })).body.result as Rec[];
      expect(withUf[0]).toMatchObject({ UF_CRM_AS_MILEAGE: '120000', PHONE: [] });
    } finally {
      await fresh.close();
    }
  });
});

describe('deals, contacts, companies', () => {
  test('a deal lands in its pipeline; an unknown pipeline means the default one; a foreign stage means the first', async () => {
    const cat = ((await rawCall(emu, 'crm.category.add', { entityTypeId: 2, fields: { name: 'Мойка' } })).body.result as { category: { id: number } }).category.id;
    const inCat = (await rawCall(emu, 'crm.deal.add', { fields: { CATEGORY_ID: cat, STAGE_ID: `C${cat}:EXECUTING` } })).body.result;
    expect(await get('deal', inCat)).toMatchObject({ CATEGORY_ID: String(cat), STAGE_ID: `C${cat}:EXECUTING`, STAGE_SEMANTIC_ID: 'P', CLOSED: 'N', TITLE: `Сделка #${inCat}` });
    const foreign = (await rawCall(emu, 'crm.deal.add', { fields: { CATEGORY_ID: cat, STAGE_ID: 'WON' } })).body.result;
    expect(await get('deal', foreign)).toMatchObject({ STAGE_ID: `C${cat}:NEW`, IS_NEW: 'Y' });
    const unknown = (await rawCall(emu, 'crm.deal.add', { fields: { CATEGORY_ID: 4242 } })).body.result;
    expect(await get('deal', unknown)).toMatchObject({ CATEGORY_ID: '0', STAGE_ID: 'NEW' });
    // CATEGORY_ID is immutable through crm.deal.update; a stage of another pipeline is ignored.
    await rawCall(emu, 'crm.deal.update', { id: inCat, fields: { CATEGORY_ID: 0, STAGE_ID: 'LOSE' } });
    expect(await get('deal', inCat)).toMatchObject({ CATEGORY_ID: String(cat), STAGE_ID: `C${cat}:EXECUTING` });
    await rawCall(emu, 'crm.deal.update', { id: inCat, fields: { STAGE_ID: `C${cat}:LOSE` } });
    expect(await get('deal', inCat)).toMatchObject({ STAGE_SEMANTIC_ID: 'F', CLOSED: 'Y' });
    expect(await listIds('deal', { filter: { CATEGORY_ID: cat, '!STAGE_ID': `C${cat}:LOSE` } })).toEqual([foreign]);
  });

  test('date fields come back through ConvertDate (local midnight plus the offset)', async () => {
    const id = (await rawCall(emu, 'crm.deal.add', { fields: { BEGINDATE: '2027-03-01', CLOSEDATE: '2027-03-10T12:00:00+03:00' } })).body.result;
    expect(await get('deal', id)).toMatchObject({ BEGINDATE: '2027-03-01T03:00:00+03:00', CLOSEDATE: '2027-03-10T03:00:00+03:00' });
  });

  test('contacts and companies keep LEAD_ID out of reach of clients (read-only) and take multifields', async () => {
    const contact = (await rawCall(emu, 'crm.contact.add', { fields: { NAME: 'Ирина', LEAD_ID: 5, EMAIL: [{ VALUE: 'i@example.com', VALUE_TYPE: 'WORK' }] } })).body.result;
    expect(await get('contact', contact)).toMatchObject({ NAME: 'Ирина', LEAD_ID: null, HAS_EMAIL: 'Y', EMAIL: [{ VALUE: 'i@example.com' }] });
    const company = (await rawCall(emu, 'crm.company.add', { fields: {} })).body.result;
    expect((await get('company', company)).TITLE).toBe(`Компания #${company}`);
    const phoneId = ((await get('contact', contact)).EMAIL as Rec[])[0].ID;
    await rawCall(emu, 'crm.contact.update', { id: contact, fields: { EMAIL: [{ ID: phoneId, DELETE: 'Y' }, { VALUE: 'new@example.com' }] } });
    expect((await get('contact', contact)).EMAIL).toEqual([{ ID: expect.any(String), VALUE_TYPE: 'WORK', VALUE: 'new@example.com', TYPE_ID: 'EMAIL' }]);
  });

  test('fields lists standard fields and user fields', async () => {
    await rawCall(emu, 'crm.deal.userfield.add', { fields: { FIELD_NAME: 'AS_MASTER', USER_TYPE_ID: 'employee', LABEL: 'Мастер' } });
    const fields = (await rawCall(emu, 'crm.deal.fields')).body.result as Record<string, Rec>;
    expect(fields.STAGE_ID).toMatchObject({ type: 'crm_status', statusType: 'DEAL_STAGE', isReadOnly: false });
    expect(fields.CATEGORY_ID).toMatchObject({ isImmutable: true });
    expect(fields.UF_CRM_AS_MASTER).toMatchObject({ type: 'employee', isDynamic: true, formLabel: 'Мастер' });
  });

  test('a mandatory user field is required only with the portal setting "Check for required custom fields" on', async () => {
    const fields = { FIELD_NAME: 'AS_FLEET', USER_TYPE_ID: 'integer', MANDATORY: 'Y', LABEL: 'Автомобилей в парке' };
    // Off by default (rest_enable_req_uf_check): the proxy passes DISABLE_REQUIRED_USER_FIELD_CHECK.
    await rawCall(emu, 'crm.company.userfield.add', { fields });
    expect((await rawCall(emu, 'crm.company.add', { fields: { TITLE: 'Fleet' } })).status).toBe(200);
    const strict = await startTestEmulator({ limits: false, clock: () => now, requiredUserFieldCheck: true });
    try {
      await rawCall(strict, 'crm.company.userfield.add', { fields });
      expect((await rawCall(strict, 'crm.company.add', { fields: { TITLE: 'Fleet' } })).body).toEqual({ error: '', error_description: 'Field "Автомобилей в парке" is required.' });
      expect((await rawCall(strict, 'crm.company.add', { fields: { TITLE: 'Fleet', UF_CRM_AS_FLEET: 12 } })).status).toBe(200);
    } finally {
      await strict.close();
    }
  });
});
