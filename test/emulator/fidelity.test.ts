// The fidelity audit: behaviours where the emulator was more lenient (or stricter) than a Bitrix24 portal, pinned
// from the server code (yuliai/bitrix-modules; paths relative to /bitrix/modules) where the docs leave them open.
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import type { InstalledApp, RunningEmulator } from '../../src/emulator/index.js';
import { appCall, rawCall, startCaptureServer, startTestEmulator } from '../helpers/emulator.js';

let emu: RunningEmulator;
let hooks: Awaited<ReturnType<typeof startCaptureServer>>;
let app: InstalledApp;
beforeAll(async () => {
  hooks = await startCaptureServer();
  emu = await startTestEmulator({ limits: false });
  app = await emu.control.installApp({ handlerUrl: `${hooks.url}/install` });
});
afterAll(async () => {
  await emu.close();
  await hooks.close();
});
beforeEach(() => {
  hooks.requests.length = 0;
});

const call = (method: string, params: Record<string, unknown> = {}) => appCall(emu, app.accessToken, method, params);
const ids = (rows: unknown) => (rows as { ID: string }[]).map((r) => Number(r.ID));

describe('legacy CRM list filters (CCrmRestProxyBase::internalizeFilterFields, crm/classes/general/restservice.php)', () => {
  test('a filter key is a field name as written: a lower-case key names no field and is dropped, so it filters nothing', async () => {
    const lead = (await rawCall(emu, 'crm.lead.add', { fields: { TITLE: 'lower-case filter' } })).body.result as number;
    const other = (await rawCall(emu, 'crm.lead.add', { fields: { TITLE: 'another lead' } })).body.result as number;
    const exact = await rawCall(emu, 'crm.lead.list', { filter: { ID: lead }, select: ['ID'] });
    expect(ids(exact.body.result)).toEqual([lead]);
    const lower = await rawCall(emu, 'crm.lead.list', { filter: { id: lead }, select: ['ID'] });
    expect(ids(lower.body.result)).toEqual(expect.arrayContaining([lead, other]));
    const prefixed = await rawCall(emu, 'crm.lead.list', { filter: { '>=id': lead }, select: ['ID'] });
    expect(prefixed.body.total).toBe(lower.body.total);
  });

  test('LIKE on a dictionary or client link is an equality test (performance rule)', async () => {
    const lead = (await rawCall(emu, 'crm.lead.add', { fields: { TITLE: 'like on status', STATUS_ID: 'IN_PROCESS' } })).body.result as number;
    const like = await rawCall(emu, 'crm.lead.list', { filter: { '%STATUS_ID': 'PROCESS' }, select: ['ID'] });
    expect(ids(like.body.result)).not.toContain(lead);
    const exact = await rawCall(emu, 'crm.lead.list', { filter: { '%STATUS_ID': 'IN_PROCESS' }, select: ['ID'] });
    expect(ids(exact.body.result)).toContain(lead);
    const title = await rawCall(emu, 'crm.lead.list', { filter: { '%TITLE': 'on stat' }, select: ['ID'] });
    expect(ids(title.body.result)).toEqual([lead]);
  });

  test('an integer field filtered by 0 matches the empty ones too (CSqlUtil::PrepareWhere: IS NULL OR = 0)', async () => {
    const lead = (await rawCall(emu, 'crm.lead.add', { fields: { TITLE: 'no company' } })).body.result as number;
    const r = await rawCall(emu, 'crm.lead.list', { filter: { COMPANY_ID: 0 }, select: ['ID'] });
    expect(ids(r.body.result)).toContain(lead);
  });

  // CCrmEntityListBuilder::Prepare (crm_entity_list_builder.php:230) adds ID to any select that lacks it.
  test('the select is what comes back, with ID always', async () => {
    const lead = (await rawCall(emu, 'crm.lead.add', { fields: { TITLE: 'select check', PHONE: [{ VALUE: '+79990000001', VALUE_TYPE: 'WORK' }] } })).body.result as number;
    const titleOnly = ((await rawCall(emu, 'crm.lead.list', { filter: { ID: lead }, select: ['TITLE'] })).body.result as Record<string, unknown>[])[0];
    expect(titleOnly).toEqual({ ID: String(lead), TITLE: 'select check' });
    const withPhone = ((await rawCall(emu, 'crm.lead.list', { filter: { ID: lead }, select: ['TITLE', 'PHONE'] })).body.result as Record<string, unknown>[])[0];
    expect(withPhone).toMatchObject({ ID: String(lead), TITLE: 'select check', PHONE: [expect.objectContaining({ VALUE: '+79990000001' })] });
  });

  test('crm.status.list: a lower-case filter key is dropped as well', async () => {
    const all = await rawCall(emu, 'crm.status.list', {});
    const lower = await rawCall(emu, 'crm.status.list', { filter: { entity_id: 'STATUS' } });
    expect(lower.body.total).toBe(all.body.total);
    const upper = await rawCall(emu, 'crm.status.list', { filter: { ENTITY_ID: 'STATUS' } });
    expect(upper.body.total).toBe(5);
  });
});

describe('paging of the CDBResult lists (CDBResult::NavQuery, main/classes/general/dbresult.php)', () => {
  let deals: number[];
  beforeAll(async () => {
    const commands = Object.fromEntries(Array.from({ length: 49 }, (_, i) => [`d${i}`, `crm.deal.add?fields[TITLE]=paging ${i}&fields[ORIGIN_ID]=paging`]));
    await rawCall(emu, 'batch', { cmd: commands });
    const list = await rawCall(emu, 'crm.deal.list', { filter: { ORIGIN_ID: 'paging' }, select: ['ID'], order: { ID: 'ASC' } });
    deals = ids(list.body.result);
    const last = (await rawCall(emu, 'crm.deal.add', { fields: { TITLE: 'paging 50', ORIGIN_ID: 'paging' } })).body.result as number;
    const extra = (await rawCall(emu, 'crm.deal.add', { fields: { TITLE: 'paging 51', ORIGIN_ID: 'paging' } })).body.result as number;
    deals.push(last, extra);
  });
  const page = (start: number) => rawCall(emu, 'crm.deal.list', { filter: { ORIGIN_ID: 'paging' }, select: ['ID'], order: { ID: 'ASC' }, start });

  test('start is rounded down to its page of 50', async () => {
    expect(deals).toHaveLength(51);
    const r = await page(10);
    expect(ids(r.body.result)).toEqual(deals.slice(0, 50));
    expect(r.body.next).toBe(50);
    expect(r.body.total).toBe(51);
    const second = await page(70);
    expect(ids(second.body.result)).toEqual(deals.slice(50));
    expect(second.body).not.toHaveProperty('next');
  });

  test('a start past the last page gives the first page again (the page number falls back to 1)', async () => {
    const r = await page(100);
    expect(ids(r.body.result)).toEqual(deals.slice(0, 50));
    expect(r.body.next).toBe(50);
  });
});

describe('user fields (CUserTypeEntity::GetList, main/classes/general/usertype.php)', () => {
  test('labels come only with filter LANG; other filter keys than the table columns are ignored', async () => {
    const id = (await rawCall(emu, 'crm.deal.userfield.add', { fields: { FIELD_NAME: 'AUDIT_LABELS', USER_TYPE_ID: 'string', LABEL: 'Метка' } })).body.result;
    const plain = ((await rawCall(emu, 'crm.deal.userfield.list', { filter: { FIELD_NAME: 'UF_CRM_AUDIT_LABELS' } })).body.result as Record<string, unknown>[])[0];
    expect(plain.ID).toBe(String(id));
    for (const key of ['EDIT_FORM_LABEL', 'LIST_COLUMN_LABEL', 'LIST_FILTER_LABEL', 'ERROR_MESSAGE', 'HELP_MESSAGE']) expect(plain).not.toHaveProperty(key);
    const ru = ((await rawCall(emu, 'crm.deal.userfield.list', { filter: { FIELD_NAME: 'UF_CRM_AUDIT_LABELS', LANG: 'ru' } })).body.result as Record<string, unknown>[])[0];
    expect(ru.EDIT_FORM_LABEL).toBe('Метка');
    const byLabel = await rawCall(emu, 'crm.deal.userfield.list', { filter: { FIELD_NAME: 'UF_CRM_AUDIT_LABELS', EDIT_FORM_LABEL: 'something else' } });
    expect(byLabel.body.result).toHaveLength(1);
  });
});

describe('user fields (Bitrix\\Rest\\UserFieldProxy::add)', () => {
  test('types outside the settings switch (money, url, address, file) are never in the filter', async () => {
    await rawCall(emu, 'crm.deal.userfield.add', { fields: { FIELD_NAME: 'AUDIT_PRICE', USER_TYPE_ID: 'money', SHOW_FILTER: 'Y' } });
    await rawCall(emu, 'crm.deal.userfield.add', { fields: { FIELD_NAME: 'AUDIT_NOTE', USER_TYPE_ID: 'string', SHOW_FILTER: 'Y' } });
    const rows = (await rawCall(emu, 'crm.deal.userfield.list', { filter: { SHOW_FILTER: 'N' } })).body.result as { FIELD_NAME: string }[];
    expect(rows.map((r) => r.FIELD_NAME)).toContain('UF_CRM_AUDIT_PRICE');
    expect(rows.map((r) => r.FIELD_NAME)).not.toContain('UF_CRM_AUDIT_NOTE');
  });

  test('update clamps a string field\'s ROWS to 50', async () => {
    const id = (await rawCall(emu, 'crm.deal.userfield.add', { fields: { FIELD_NAME: 'AUDIT_TEXT', USER_TYPE_ID: 'string', SETTINGS: { ROWS: 3 } } })).body.result;
    await rawCall(emu, 'crm.deal.userfield.update', { id, fields: { SETTINGS: { ROWS: 80 } } });
    expect(((await rawCall(emu, 'crm.deal.userfield.get', { id })).body.result as { SETTINGS: { ROWS: number } }).SETTINGS.ROWS).toBe(50);
  });
});

describe('webhooks and app-only methods', () => {
  test('event.* answer a webhook with WRONG_AUTH_TYPE (AuthTypeException, rest/lib/api/event.php)', async () => {
    for (const method of ['event.bind', 'event.unbind', 'event.get']) {
      const r = await rawCall(emu, method, { event: 'ONCRMLEADADD', handler: 'https://example.com/h' });
      expect({ method, ...r }).toEqual({ method, status: 403, body: { error: 'WRONG_AUTH_TYPE', error_description: 'Current authorization type is denied for this method' } });
    }
  });

  test('app.info answers a webhook with its scopes and the licence (CRestProvider::appInfo, rest/classes/general/rest_provider.php)', async () => {
    const r = await rawCall(emu, 'app.info');
    expect(r.status).toBe(200);
    expect(r.body.result).toEqual({ SCOPE: expect.arrayContaining(['crm', 'bizproc', 'user']), LICENSE: 'ru_pro' });
  });

  test('insufficient_scope is an OAuthException: HTTP 401; inside a batch its description is empty', async () => {
    const crmOnly = await emu.control.installApp({ scope: ['crm'] });
    expect(await appCall(emu, crmOnly.accessToken, 'user.get')).toEqual({
      status: 401,
      body: { error: 'insufficient_scope', error_description: 'The request requires higher privileges than provided by the access token' },
    });
    const batch = await appCall(emu, crmOnly.accessToken, 'batch', { cmd: { users: 'user.get', leads: 'crm.lead.list?select[]=ID' } });
    expect((batch.body.result as { result_error: unknown }).result_error).toEqual({ users: { error: 'insufficient_scope', error_description: '' } });
  });
});

describe('events (rest/lib/event/buffer.php, sender.php)', () => {
  test('the same event of the same object is sent once per request: a batch updating a deal twice fires one ONCRMDEALUPDATE', async () => {
    await call('event.bind', { event: 'ONCRMDEALUPDATE', handler: `${hooks.url}/events` });
    const deal = (await call('crm.deal.add', { fields: { TITLE: 'twice in one batch' } })).body.result as number;
    await call('batch', { cmd: { a: `crm.deal.update?id=${deal}&fields[TITLE]=one`, b: `crm.deal.update?id=${deal}&fields[COMMENTS]=two` } });
    await emu.control.waitForDeliveries();
    expect(hooks.requests.filter((r) => r.path === '/events')).toHaveLength(1);
    hooks.requests.length = 0;
    await call('crm.deal.update', { id: deal, fields: { TITLE: 'three' } });
    await call('crm.deal.update', { id: deal, fields: { TITLE: 'four' } });
    await emu.control.waitForDeliveries();
    expect(hooks.requests.filter((r) => r.path === '/events')).toHaveLength(2);
  });

  test('ONAPPINSTALL goes through an event handler row, so it carries event_handler_id (rest_util.php InstallApp)', async () => {
    const again = await emu.control.installApp({ handlerUrl: `${hooks.url}/install-again` });
    expect(again.installDelivery?.status).toBe('delivered');
    const [request] = hooks.requests.filter((r) => r.path === '/install-again');
    expect(request.form.event_handler_id).toMatch(/^\d+$/);
  });
});

describe('department.get (CIntranetRestService::departmentGet)', () => {
  test('filter fields are taken as written: ID filters, id does not', async () => {
    const all = await rawCall(emu, 'department.get');
    const one = await rawCall(emu, 'department.get', { ID: 1 });
    expect(one.body.result).toHaveLength(1);
    expect(one.body.result).toEqual([expect.objectContaining({ ID: '1', SORT: expect.any(Number) })]);
    expect((await rawCall(emu, 'department.get', { id: 1 })).body.total).toBe(all.body.total);
    expect((await rawCall(emu, 'department.get', { FILTER: { ID: 1 } })).body.total).toBe(1);
  });
});

describe('crm.status.entity.items (CCrmStatusRestProxy::getEntityItems)', () => {
  test('entityId is upper-cased; an unknown dictionary is an empty list', async () => {
    const items = (await rawCall(emu, 'crm.status.entity.items', { entityId: 'status' })).body.result as { STATUS_ID: string }[];
    expect(items.map((i) => i.STATUS_ID)).toEqual(['NEW', 'IN_PROCESS', 'PROCESSED', 'CONVERTED', 'JUNK']);
    expect(await rawCall(emu, 'crm.status.entity.items', { entityId: 'NO_SUCH_DICTIONARY' })).toMatchObject({ status: 200, body: { result: [] } });
  });
});

describe('crm.item.details.configuration (CCrmItemRestProxy)', () => {
  test('the type is read from entityTypeId or ENTITY_TYPE_ID only', async () => {
    const r = await rawCall(emu, 'crm.item.details.configuration.get', { entityTypeID: 2, scope: 'C' });
    expect(r).toEqual({ status: 400, body: { error: '', error_description: "Parameter 'entityTypeID' is not defined" } });
    expect((await rawCall(emu, 'crm.item.details.configuration.get', { ENTITY_TYPE_ID: 2, scope: 'C' })).status).toBe(200);
  });
});

describe('tasks.task.list (Bitrix\\Tasks\\Rest\\Controllers\\Task::listAction)', () => {
  test('TITLE without a prefix is a substring search; start is rounded down to its page (a D7 Page)', async () => {
    const a = ((await rawCall(emu, 'tasks.task.add', { fields: { TITLE: 'Позвонить клиенту по сделке', RESPONSIBLE_ID: 1 } })).body.result as { task: { id: string } }).task.id;
    const r = await rawCall(emu, 'tasks.task.list', { filter: { TITLE: 'клиенту' }, select: ['ID', 'TITLE'] });
    expect((r.body.result as { tasks: { id: string }[] }).tasks.map((t) => t.id)).toEqual([a]);
    const paged = await rawCall(emu, 'tasks.task.list', { filter: { TITLE: 'клиенту' }, select: ['ID'], start: 1 });
    expect((paged.body.result as { tasks: { id: string }[] }).tasks.map((t) => t.id)).toEqual([a]);
  });
});
