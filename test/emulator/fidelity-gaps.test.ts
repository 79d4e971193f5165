// Five places where the docs and the server code agree and the emulator did not, plus user.admin and profile's
// TIME_ZONE. Docs: bitrix24/b24restdocs; code: yuliai/bitrix-modules (paths relative to /bitrix/modules).
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { InstalledApp, RunningEmulator } from '../../src/emulator/index.js';
import { appCall, rawCall, startTestEmulator } from '../helpers/emulator.js';

let emu: RunningEmulator;
let app: InstalledApp;
beforeAll(async () => {
  emu = await startTestEmulator({ limits: false, clock: () => Date.parse('2027-04-01T09:00:00Z') });
  app = await emu.control.installApp({});
});
afterAll(() => emu.close());

describe('empty dates come back as "" in crm.lead.* and crm.deal.* (crm-lead-get.md example; CRestUtil::ConvertDate/ConvertDateTime, rest/classes/general/rest_util.php, called by CCrmRestProxyBase::externalizeFields)', () => {
  test('DATE_CLOSED of an open lead, an unset date and datetime user field, in get and in list', async () => {
    await rawCall(emu, 'crm.lead.userfield.add', { fields: { FIELD_NAME: 'VISIT_DAY', USER_TYPE_ID: 'date' } });
    await rawCall(emu, 'crm.lead.userfield.add', { fields: { FIELD_NAME: 'VISIT_AT', USER_TYPE_ID: 'datetime' } });
    const id = (await rawCall(emu, 'crm.lead.add', { fields: { TITLE: 'open lead' } })).body.result;
    const lead = (await rawCall(emu, 'crm.lead.get', { id })).body.result as Record<string, unknown>;
    expect(lead).toMatchObject({ DATE_CLOSED: '', BIRTHDATE: '', UF_CRM_VISIT_DAY: '', UF_CRM_VISIT_AT: '' });
    // Text fields stay null, as in the same example ("SECOND_NAME": null).
    expect(lead.SECOND_NAME).toBeNull();
    const [listed] = (await rawCall(emu, 'crm.lead.list', { filter: { ID: id }, select: ['DATE_CLOSED', 'UF_CRM_VISIT_AT'] })).body.result as Record<string, unknown>[];
    expect(listed).toEqual({ ID: String(id), DATE_CLOSED: '', UF_CRM_VISIT_AT: '' });
    // A set value still comes in the portal's zone.
    await rawCall(emu, 'crm.lead.update', { id, fields: { UF_CRM_VISIT_AT: '2027-04-02T10:00:00+03:00' } });
    expect((await rawCall(emu, 'crm.lead.get', { id })).body.result).toMatchObject({ UF_CRM_VISIT_AT: '2027-04-02T10:00:00+03:00', UF_CRM_VISIT_DAY: '' });
  });

  test('a deal: empty date and datetime user fields are "" too', async () => {
    await rawCall(emu, 'crm.deal.userfield.add', { fields: { FIELD_NAME: 'READY_AT', USER_TYPE_ID: 'datetime' } });
    const id = (await rawCall(emu, 'crm.deal.add', { fields: { TITLE: 'open deal' } })).body.result;
    expect((await rawCall(emu, 'crm.deal.get', { id })).body.result).toMatchObject({ UF_CRM_READY_AT: '', CLOSED: 'N' });
    const [listed] = (await rawCall(emu, 'crm.deal.list', { filter: { ID: id }, select: ['UF_*'] })).body.result as Record<string, unknown>[];
    expect(listed.UF_CRM_READY_AT).toBe('');
  });
});

describe('an unknown currency is refused (crm-deal-add.md, crm-deal-update.md; crm-item-add.md, crm-item-update.md; Field\\CurrencyId, crm/lib/Field/CurrencyId.php)', () => {
  const legacyRefusal = { status: 400, body: { error: '', error_description: 'Invalid value for the "Currency" field' } };

  test('crm.lead.add / crm.deal.add and their updates: the documented error, nothing created or changed', async () => {
    const before = emu.control.collection('crm');
    expect(await rawCall(emu, 'crm.lead.add', { fields: { TITLE: 'zorkmids', CURRENCY_ID: 'XYZ' } })).toEqual(legacyRefusal);
    expect(await rawCall(emu, 'crm.deal.add', { fields: { TITLE: 'zorkmids', CURRENCY_ID: 'ZMD' } })).toEqual(legacyRefusal);
    const after = emu.control.collection('crm');
    expect([after.lead.length, after.deal.length]).toEqual([before.lead.length, before.deal.length]);

    const deal = (await rawCall(emu, 'crm.deal.add', { fields: { TITLE: 'in dollars', CURRENCY_ID: 'USD', OPPORTUNITY: 100 } })).body.result;
    expect(await rawCall(emu, 'crm.deal.update', { id: deal, fields: { CURRENCY_ID: 'GBP' } })).toEqual(legacyRefusal);
    expect((await rawCall(emu, 'crm.deal.get', { id: deal })).body.result).toMatchObject({ CURRENCY_ID: 'USD' });
    const lead = (await rawCall(emu, 'crm.lead.add', { fields: { TITLE: 'roubles' } })).body.result;
    expect(await rawCall(emu, 'crm.lead.update', { id: lead, fields: { CURRENCY_ID: 'XXX' } })).toEqual(legacyRefusal);
    expect((await rawCall(emu, 'crm.lead.update', { id: lead, fields: { CURRENCY_ID: 'EUR' } })).body.result).toBe(true);
  });

  test('crm.item.add / update: CRM_FIELD_ERROR_VALUE_NOT_VALID naming the field', async () => {
    const refusal = { status: 400, body: { error: 'CRM_FIELD_ERROR_VALUE_NOT_VALID', error_description: 'Invalid value for field "Currency"' } };
    expect(await rawCall(emu, 'crm.item.add', { entityTypeId: 2, fields: { title: 'x', currencyId: 'XYZ' } })).toEqual(refusal);
    expect(await rawCall(emu, 'crm.item.add', { entityTypeId: 1, fields: { title: 'x', currencyId: 'XYZ' } })).toEqual(refusal);
    const item = ((await rawCall(emu, 'crm.item.add', { entityTypeId: 2, fields: { title: 'ok', currencyId: 'BYN' } })).body.result as { item: { id: number; currencyId: string } }).item;
    expect(item.currencyId).toBe('BYN');
    expect(await rawCall(emu, 'crm.item.update', { entityTypeId: 2, id: item.id, fields: { currencyId: 'XYZ' } })).toEqual(refusal);
  });

  test('the currencies a portal has follow its language (CurrencyManager::getInstalledCurrencies, currency/lib/currencymanager.php)', async () => {
    const en = await startTestEmulator({ limits: false, language: 'en' });
    try {
      expect((await rawCall(en, 'crm.deal.add', { fields: { CURRENCY_ID: 'INR' } })).status).toBe(200);
      expect(await rawCall(en, 'crm.deal.add', { fields: { CURRENCY_ID: 'RUB' } })).toEqual(legacyRefusal);
    } finally {
      await en.close();
    }
  });
});

describe('user.get FILTER.NAME_SEARCH is the quick search (user-get.md "quick search by personal data"; rest/lib/api/user.php userGet → UserUtils::getUserSearchFilter, main/lib/userutils.php; index content UserTable::generateSearchUserContent)', () => {
  const search = async (value: unknown, extra: Record<string, unknown> = {}) =>
    ((await rawCall(emu, 'user.get', { FILTER: { NAME_SEARCH: value, ...extra } })).body.result as { ID: string }[]).map((u) => Number(u.ID));

  test('a first name alone, a last name, their beginnings, both together', async () => {
    expect(await search('Ольга')).toEqual([2]);
    expect(await search('Смирнова')).toEqual([2]);
    expect(await search('смирн')).toEqual([2]);
    expect(await search('Ольга Смирнова')).toEqual([2]);
    // Every word must match: a first name with another user's last name finds no one.
    expect(await search('Ольга Петров')).toEqual([]);
  });

  test('the position is indexed too; a number finds the user with that ID', async () => {
    expect(await search('Менеджер')).toEqual([3, 6]);
    expect(await search('2')).toEqual([2]);
  });

  test('the e-mail is not in the index, so it finds no one; text shorter than a token filters nothing', async () => {
    expect(await search('sales.head@autosalon.test')).toEqual([]);
    expect(await search('Ол')).toEqual([1, 2, 3, 4, 5, 6]);
  });

  test('combines with the other filter fields; any prefix on the key is ignored; also at the top level', async () => {
    expect(await search('Менеджер', { '>ID': 4 })).toEqual([6]);
    expect(((await rawCall(emu, 'user.get', { FILTER: { '%NAME_SEARCH': 'Ольга' } })).body.result as { ID: string }[]).map((u) => u.ID)).toEqual(['2']);
    expect(((await rawCall(emu, 'user.get', { NAME_SEARCH: 'Мария' })).body.result as { ID: string }[]).map((u) => u.ID)).toEqual(['6']);
  });
});

describe('an OAuth token is taken from auth, access_token or an Authorization: Bearer header (Auth::getAuthKey, rest/lib/oauth/auth.php)', () => {
  test('access_token works like auth; an unknown one is NO_AUTH_FOUND', async () => {
    const viaParam = await fetch(`${emu.origin}/rest/profile.json?access_token=${app.accessToken}`);
    expect(viaParam.status).toBe(200);
    expect(((await viaParam.json()) as { result: unknown }).result).toMatchObject({ ID: '1' });
    const posted = await fetch(`${emu.origin}/rest/crm.lead.add.json`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ access_token: app.accessToken, fields: { TITLE: 'by access_token' } }) });
    expect(posted.status).toBe(200);
    const unknown = await fetch(`${emu.origin}/rest/profile.json?access_token=nope`);
    expect([unknown.status, await unknown.json()]).toEqual([401, { error: 'NO_AUTH_FOUND', error_description: 'Wrong authorization data' }]);
  });

  test('a Bearer header works too', async () => {
    const r = await fetch(`${emu.origin}/rest/app.info.json`, { headers: { authorization: `Bearer ${app.accessToken}` } });
    expect(r.status).toBe(200);
    expect(((await r.json()) as { result: unknown }).result).toMatchObject({ INSTALLED: true });
  });
});

describe('a .json or .xml suffix on the method name picks the answer format (settings/how-to-call-rest-api/general-principles.md; CRestServer::output / outputXml, rest/classes/general/rest.php)', () => {
  test('.json and no suffix give the same JSON', async () => {
    const plain = await fetch(`${emu.webhookUrl}server.time`);
    const json = await fetch(`${emu.webhookUrl}server.time.json`);
    expect(plain.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(((await plain.json()) as { result: unknown }).result).toBe(((await json.json()) as { result: unknown }).result);
  });

  test('.xml gives text/xml: the same data under <response>, list items as <item>, booleans as PHP prints them', async () => {
    const r = await fetch(`${emu.webhookUrl}server.time.xml`);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('text/xml; charset=utf-8');
    expect(await r.text()).toMatch(/^<response><result>2027-04-01T12:00:00\+03:00<\/result><time><start>[\d.]+<\/start>.*<date_start>2027-04-01T12:00:00\+03:00<\/date_start>.*<\/time><\/response>$/);
    const users = await (await fetch(`${emu.webhookUrl}user.get.xml?FILTER[ID]=2`)).text();
    expect(users).toContain('<response><result><item><ID>2</ID><ACTIVE>1</ACTIVE><NAME>Ольга</NAME>');
    expect(users).toContain('<UF_DEPARTMENT><item>2</item></UF_DEPARTMENT>');
    expect(users).toContain('<total>1</total>');
    const admin = await (await fetch(`${emu.webhookUrl}user.admin.xml`)).text();
    expect(admin).toMatch(/^<response><result>1<\/result>/);
  });

  test('errors come in XML too, with the same status; special characters are escaped', async () => {
    const missing = await fetch(`${emu.webhookUrl}no.such.method.xml`);
    expect(missing.status).toBe(404);
    expect(await missing.text()).toBe('<response><error>ERROR_METHOD_NOT_FOUND</error><error_description>Method not found!</error_description></response>');
    const id = (await rawCall(emu, 'crm.lead.add', { fields: { TITLE: 'Tom & "Jerry" <co>' } })).body.result;
    expect(await (await fetch(`${emu.webhookUrl}crm.lead.get.xml?id=${id}`)).text()).toContain('<TITLE>Tom &amp; &quot;Jerry&quot; &lt;co&gt;</TITLE>');
  });
});

describe('user.admin (api-reference/common/users/user-admin.md; CRestUtil::isAdmin, rest/classes/general/rest_util.php)', () => {
  test('true for an administrator, false for another user, the same as profile ADMIN; no scope needed', async () => {
    expect((await rawCall(emu, 'user.admin')).body.result).toBe(true);
    const manager = emu.control.issueToken(app.clientId, 3);
    expect((await appCall(emu, manager.accessToken, 'user.admin')).body.result).toBe(false);
    expect((await appCall(emu, manager.accessToken, 'profile')).body.result).toMatchObject({ ADMIN: false });
    const noScope = await emu.control.installApp({ scope: ['crm'] });
    expect((await appCall(emu, noScope.accessToken, 'user.admin')).body.result).toBe(true);
  });
});

describe("profile TIME_ZONE is the user's own time zone, \"\" when not set (api-reference/common/users/profile.md; CRestProvider::getProfile, rest/classes/general/rest_provider.php)", () => {
  test('"" by default, as the docs\' example; the zone the user chose once set; user.get shows the same', async () => {
    expect((await rawCall(emu, 'profile')).body.result).toMatchObject({ ID: '1', TIME_ZONE: '' });
    emu.control.setUserTimeZone(1, 'Asia/Yekaterinburg');
    expect((await rawCall(emu, 'profile')).body.result).toMatchObject({ TIME_ZONE: 'Asia/Yekaterinburg' });
    expect(((await rawCall(emu, 'user.get', { FILTER: { ID: 1 } })).body.result as { TIME_ZONE: string }[])[0].TIME_ZONE).toBe('Asia/Yekaterinburg');
    // The portal's own zone is what server.time answers in; a user's zone does not change it.
    expect((await rawCall(emu, 'server.time')).body.result).toBe('2027-04-01T12:00:00+03:00');
    const r = await fetch(`${emu.controlUrl}/users/1/time-zone`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ timeZone: 'Mars/Base' }) });
    expect([r.status, await r.json()]).toEqual([400, { error: 'timeZone takes an IANA time zone name such as Europe/Moscow or Asia/Vladivostok (got "Mars/Base")' }]);
    emu.control.setUserTimeZone(1, '');
    expect((await rawCall(emu, 'profile')).body.result).toMatchObject({ TIME_ZONE: '' });
  });
});
