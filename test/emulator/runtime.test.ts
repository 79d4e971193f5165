// Runtime actions: im.notify.*, tasks.task.*, crm.activity.todo.*, crm.activity.list/get, crm.timeline.comment.add,
// crm.automation.trigger.*, and the UI lead conversion of the control API (REST notes §8, §13).
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { InstalledApp, RunningEmulator } from '../../src/emulator/index.js';
import { appCall, rawCall, startTestEmulator } from '../helpers/emulator.js';

let emu: RunningEmulator;
let app: InstalledApp;
let now = Date.parse('2027-01-15T09:00:00+03:00');
beforeAll(async () => {
  emu = await startTestEmulator({ limits: false, clock: () => now });
  app = await emu.control.installApp({ code: 'autosalon' });
});
afterAll(() => emu.close());

const call = (method: string, params: Record<string, unknown> = {}) => appCall(emu, app.accessToken, method, params);
const result = async <T = unknown>(p: Promise<{ body: Record<string, unknown> }>) => (await p).body.result as T;

describe('im.notify', () => {
  test('errors name the missing parameter', async () => {
    expect((await rawCall(emu, 'im.notify.system.add', { MESSAGE: 'x' })).body).toEqual({ error: 'USER_ID_EMPTY', error_description: "User ID can't be empty" });
    expect((await rawCall(emu, 'im.notify.system.add', { USER_ID: 3, MESSAGE: '  ' })).body).toEqual({ error: 'MESSAGE_EMPTY', error_description: "Message can't be empty" });
  });

  test('notifications are kept; an app system notice shows its name; a tag replaces that user\'s older one', async () => {
    const first = await result<number>(call('im.notify.system.add', { USER_ID: 3, MESSAGE: 'Новый лид: A', TAG: 'lead-1' }));
    expect(typeof first).toBe('number');
    await call('im.notify.system.add', { USER_ID: 2, MESSAGE: 'Новый лид: A', TAG: 'lead-1' });
    await call('im.notify.system.add', { USER_ID: 3, MESSAGE: 'Новый лид: A (обновлено)', TAG: 'lead-1' });
    await rawCall(emu, 'im.notify.personal.add', { USER_ID: 3, MESSAGE: 'from the director' });
    const notifications = emu.control.collection('notifications');
    expect(notifications.map((n) => [n.userId, n.kind, n.message])).toEqual([
      [2, 'system', 'Новый лид: A'],
      [3, 'system', 'Новый лид: A (обновлено)'],
      [3, 'personal', 'from the director'],
    ]);
    expect(notifications[1].shownMessage).toBe('autosalon#BR#Новый лид: A (обновлено)');
    expect(notifications[2]).toMatchObject({ fromUserId: 1, tag: '' });
  });
});

describe('tasks.task', () => {
  test('add answers a camelCase task; UF_CRM_TASK comes back only when selected; list filters by it', async () => {
    const added = await result<{ task: Record<string, unknown> }>(
      call('tasks.task.add', { fields: { TITLE: 'Обратный звонок', RESPONSIBLE_ID: 3, DEADLINE: '2027-01-15T11:00:00+03:00', UF_CRM_TASK: ['L_7'] } }),
    );
    expect(added.task).toMatchObject({ title: 'Обратный звонок', responsibleId: '3', createdBy: '1', status: '2', deadline: '2027-01-15T11:00:00+03:00' });
    expect(added.task).not.toHaveProperty('ufCrmTask');
    // The control API shows the task's fields as they were sent.
    expect(emu.control.collection('tasks').at(-1)?.fields).toMatchObject({ TITLE: 'Обратный звонок', DEADLINE: '2027-01-15T11:00:00+03:00', UF_CRM_TASK: ['L_7'] });
    const got = await result<{ task: Record<string, unknown> }>(call('tasks.task.get', { taskId: added.task.id, select: ['ID', 'TITLE', 'UF_CRM_TASK'] }));
    expect(got.task).toEqual({ id: added.task.id, title: 'Обратный звонок', ufCrmTask: ['L_7'] });
    await call('tasks.task.add', { fields: { TITLE: 'other', RESPONSIBLE_ID: 4, UF_CRM_TASK: ['D_1'] } });
    const listed = await call('tasks.task.list', { filter: { UF_CRM_TASK: 'L_7' }, select: ['ID', 'TITLE'] });
    expect((listed.body.result as { tasks: { id: string }[] }).tasks.map((t) => t.id)).toEqual([added.task.id]);
    expect(listed.body.total).toBe(1);
  });

  test('the documented errors', async () => {
    expect((await call('tasks.task.add', {})).body).toEqual({ error: '100', error_description: 'Could not find value for parameter {fields}' });
    expect((await call('tasks.task.add', { fields: { RESPONSIBLE_ID: 3 } })).body).toEqual({ error: 'ERROR_CORE', error_description: 'Task title not specified' });
    expect((await call('tasks.task.add', { fields: { TITLE: 'x' } })).body.error_description).toBe('Responsible person not specified');
    expect((await call('tasks.task.add', { fields: { TITLE: 'x', RESPONSIBLE_ID: 999 } })).body.error_description).toBe('User specified in the "Responsible" field not found');
    expect((await call('tasks.task.add', { fields: { TITLE: 'x' } })).status).toBe(400);
  });
});

describe('to-dos and the timeline', () => {
  test('todo add/update*/list/get, and what a completed or missing owner gets', async () => {
    const deal = await result<number>(rawCall(emu, 'crm.deal.add', { fields: { TITLE: 'recall' } }));
    const { id } = await result<{ id: number }>(
      call('crm.activity.todo.add', { ownerTypeId: 2, ownerId: deal, deadline: '2027-02-01T10:00:00+03:00', title: 'Повторный звонок', description: 'Причина: дорого', responsibleId: 3, pingOffsets: [0, 15] }),
    );
    await call('crm.activity.todo.updateDescription', { ownerTypeId: 2, ownerId: deal, id, value: 'Причина: нашли дешевле' });
    await call('crm.activity.todo.updateDeadline', { ownerTypeId: 2, ownerId: deal, id, value: '2027-02-15T10:00:00+03:00' });
    const activity = await result<Record<string, unknown>>(rawCall(emu, 'crm.activity.get', { id }));
    expect(activity).toMatchObject({
      OWNER_TYPE_ID: '2',
      OWNER_ID: String(deal),
      TYPE_ID: '6',
      PROVIDER_ID: 'CRM_TODO',
      SUBJECT: 'Повторный звонок',
      DESCRIPTION: 'Причина: нашли дешевле',
      DEADLINE: '2027-02-15T10:00:00+03:00',
      RESPONSIBLE_ID: '3',
      COMPLETED: 'N',
    });
    const listed = await rawCall(emu, 'crm.activity.list', { filter: { OWNER_TYPE_ID: 2, OWNER_ID: deal, PROVIDER_ID: 'CRM_TODO' } });
    expect((listed.body.result as { ID: string }[]).map((a) => a.ID)).toEqual([String(id)]);
    // todo.update sets what it is given: a missing title becomes empty.
    await call('crm.activity.todo.update', { ownerTypeId: 2, ownerId: deal, id, deadline: '2027-02-15T10:00:00+03:00', description: 'only this' });
    expect(await result(rawCall(emu, 'crm.activity.get', { id }))).toMatchObject({ SUBJECT: '', DESCRIPTION: 'only this' });
    expect((await call('crm.activity.todo.add', { ownerTypeId: 2, ownerId: 999_999, deadline: '2027-02-01T10:00:00+03:00' })).body).toEqual({ error: 'OWNER_NOT_FOUND', error_description: 'Owner was not found' });
    expect((await call('crm.activity.todo.add', { ownerTypeId: 2, ownerId: deal, deadline: 'someday' })).body.error).toBe('WRONG_DATETIME_FORMAT');
    expect((await call('crm.activity.todo.add', { ownerTypeId: 2, ownerId: deal })).body).toEqual({ error: '100', error_description: 'Could not find value for parameter {deadline}' });
    expect((await call('crm.activity.todo.updateDescription', { ownerTypeId: 2, ownerId: deal, id: 999_999, value: 'x' })).body).toEqual({ error: 'NOT_FOUND', error_description: 'Element not found' });
  });

  test('crm.activity.update marks a to-do done (COMPLETED → STATUS), fires the event; the documented errors', async () => {
    const deal = (await rawCall(emu, 'crm.deal.add', { fields: { TITLE: 'to be done' } })).body.result as number;
    const id = ((await rawCall(emu, 'crm.activity.todo.add', { ownerTypeId: 2, ownerId: deal, deadline: '2030-01-01T10:00:00+03:00', title: 'Заполните поля' })).body.result as { id: number }).id;
    expect((await rawCall(emu, 'crm.activity.update', { id, fields: { COMPLETED: 'Y' } })).body.result).toBe(true);
    expect((await rawCall(emu, 'crm.activity.get', { id })).body.result).toMatchObject({ COMPLETED: 'Y', STATUS: '2', SUBJECT: 'Заполните поля' });
    expect((await rawCall(emu, 'crm.activity.todo.updateDescription', { id, ownerTypeId: 2, ownerId: deal, value: 'x' })).body.error).toBe('CAN_NOT_UPDATE_COMPLETED_TODO');
    expect((await rawCall(emu, 'crm.activity.update', { id, fields: { COMPLETED: 'N' } })).body.result).toBe(true);
    expect((await rawCall(emu, 'crm.activity.get', { id })).body.result).toMatchObject({ COMPLETED: 'N', STATUS: '1' });
    expect((await rawCall(emu, 'crm.activity.update', { id: 999999, fields: { COMPLETED: 'Y' } })).body).toEqual({ error: '', error_description: 'Activity is not found.' });
    expect((await rawCall(emu, 'crm.activity.update', { id: 0, fields: {} })).body).toEqual({ error: '', error_description: 'ID is not defined or invalid.' });
    expect((await rawCall(emu, 'crm.activity.update', { id, fields: 'Y' })).body).toEqual({ error: '', error_description: "Parameter 'fields' must be array." });
  });

  test('a timeline comment on a deal', async () => {
    const deal = await result<number>(rawCall(emu, 'crm.deal.add', { fields: {} }));
    const id = await result<number>(call('crm.timeline.comment.add', { fields: { ENTITY_ID: deal, ENTITY_TYPE: 'deal', COMMENT: 'Клиент перезвонит' } }));
    expect(emu.control.collection('timelineComments').find((c) => c.ID === id)).toMatchObject({ ENTITY_TYPE: 'deal', ENTITY_ID: deal, COMMENT: 'Клиент перезвонит' });
    expect((await call('crm.timeline.comment.add', { fields: { ENTITY_ID: deal, ENTITY_TYPE: 'deal', COMMENT: ' ' } })).body.error).toBe('INVALID_ARG_VALUE');
  });
});

describe('app triggers', () => {
  test('add (again = rename), list, execute (recorded), delete', async () => {
    expect(await result(call('crm.automation.trigger.add', { CODE: 'autosalon_inbound', NAME: 'Входящее' }))).toBe(true);
    await call('crm.automation.trigger.add', { CODE: 'autosalon_inbound', NAME: 'Входящее обращение' });
    expect(await result(call('crm.automation.trigger.list'))).toEqual([{ NAME: 'Входящее обращение', CODE: 'autosalon_inbound' }]);
    expect((await call('crm.automation.trigger.add', { CODE: 'bad code', NAME: 'x' })).body).toEqual({ error: '', error_description: 'Wrong trigger code!' });
    const lead = await result<number>(rawCall(emu, 'crm.lead.add', { fields: {} }));
    expect(await result(call('crm.automation.trigger.execute', { CODE: 'autosalon_inbound', OWNER_TYPE_ID: 1, OWNER_ID: lead }))).toBe(true);
    expect(emu.control.collection('triggersFired')).toMatchObject([{ code: 'autosalon_inbound', ownerTypeId: 1, ownerId: lead }]);
    expect((await call('crm.automation.trigger.execute', { CODE: 'unknown', OWNER_TYPE_ID: 1, OWNER_ID: lead })).body.error_description).toBe('Trigger with code unknown is not registered.');
    expect((await call('crm.automation.trigger.execute', { CODE: 'autosalon_inbound', OWNER_TYPE_ID: 99, OWNER_ID: lead })).body.error_description).toBe('Incorrect parameter OWNER_TYPE_ID.');
    expect(await result(call('crm.automation.trigger.delete', { CODE: 'autosalon_inbound' }))).toBe(true);
    // The UI's incoming-webhook trigger is callable with a webhook.
    expect(await result(rawCall(emu, 'crm.automation.trigger', { target: `LEAD_${lead}`, code: 'nwly5' }))).toBe(true);
    expect((await rawCall(emu, 'crm.automation.trigger', { target: 'LEAD' })).body.error_description).toBe('Incorrect target format.');
    expect((await rawCall(emu, 'crm.automation.trigger', {})).body.error_description).toBe('Target is not set.');
    expect((await call('crm.automation.trigger.delete', { CODE: 'autosalon_inbound' })).body.error_description).toBe('Trigger not found');
  });
});

describe('lead conversion in the UI (control API)', () => {
  test('creates contact, company and deal linked with LEAD_ID, carries same-named user fields, moves the lead', async () => {
    await rawCall(emu, 'crm.lead.userfield.add', { fields: { FIELD_NAME: 'AS_CAR_MAKE', USER_TYPE_ID: 'string' } });
    await rawCall(emu, 'crm.deal.userfield.add', { fields: { FIELD_NAME: 'AS_CAR_MAKE', USER_TYPE_ID: 'string' } });
    const category = (await result<{ category: { id: number } }>(rawCall(emu, 'crm.category.add', { entityTypeId: 2, fields: { name: 'Мойка' } }))).category.id;
    const lead = await result<number>(
      rawCall(emu, 'crm.lead.add', { fields: { TITLE: 'Мойка Kia', NAME: 'Пётр', COMPANY_TITLE: 'ООО Таксопарк', UF_CRM_AS_CAR_MAKE: 'Kia', PHONE: [{ VALUE: '+79001112233', VALUE_TYPE: 'WORK' }] } }),
    );
    now += 60_000;
    const converted = emu.control.convertLead(lead, { categoryId: category, userId: 3 });
    const deal = await result<Record<string, unknown>>(rawCall(emu, 'crm.deal.get', { id: converted.dealId }));
    expect(deal).toMatchObject({ LEAD_ID: String(lead), CATEGORY_ID: String(category), STAGE_ID: `C${category}:NEW`, CONTACT_ID: String(converted.contactId), COMPANY_ID: String(converted.companyId), UF_CRM_AS_CAR_MAKE: 'Kia', CREATED_BY_ID: '3' });
    expect(await result(rawCall(emu, 'crm.contact.list', { filter: { LEAD_ID: lead }, select: ['ID', 'NAME', 'PHONE'] }))).toMatchObject([{ ID: String(converted.contactId), NAME: 'Пётр', PHONE: [{ VALUE: '+79001112233' }] }]);
    expect(await result(rawCall(emu, 'crm.company.list', { filter: { LEAD_ID: lead } }))).toMatchObject([{ TITLE: 'ООО Таксопарк' }]);
    expect(await result(rawCall(emu, 'crm.lead.get', { id: lead }))).toMatchObject({ STATUS_ID: 'CONVERTED', STATUS_SEMANTIC_ID: 'S', MOVED_BY_ID: '3', CONTACT_ID: String(converted.contactId) });
    expect(() => emu.control.convertLead(lead)).toThrow(/already converted/);
  });
});
