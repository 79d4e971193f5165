// The second fidelity audit: what the portal sends to handlers and what the runtime methods (OAuth, activities,
// timeline comments, tasks, notifications, users) answer, pinned from the docs (/tmp/b24restdocs paths) and, where they
// are silent or wrong, the server code (yuliai/bitrix-modules; paths relative to /bitrix/modules).
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import type { InstalledApp, RunningEmulator } from '../../src/emulator/index.js';
import { appCall, startCaptureServer, startTestEmulator } from '../helpers/emulator.js';

let emu: RunningEmulator;
let hooks: Awaited<ReturnType<typeof startCaptureServer>>;
let app: InstalledApp;
let manager: string;
let deal: number;
beforeAll(async () => {
  hooks = await startCaptureServer();
  emu = await startTestEmulator({ limits: false });
  app = await emu.control.installApp({ handlerUrl: `${hooks.url}/install`, code: 'autosalon' });
  manager = emu.control.issueToken(app.clientId, 3).accessToken;
  deal = emu.control.addRecord('deal', { TITLE: 'audit deal' });
});
afterAll(async () => {
  await emu.close();
  await hooks.close();
});
beforeEach(() => {
  hooks.requests.length = 0;
});

const call = (method: string, params: Record<string, unknown> = {}) => appCall(emu, app.accessToken, method, params);
const asManager = (method: string, params: Record<string, unknown> = {}) => appCall(emu, manager, method, params);
const DEADLINE = '2027-01-15T11:00:00+03:00';

describe('deliveries without a user', () => {
  // api-reference/common/events/on-app-uninstall.md and the tokenless example of api-reference/events/index.md: the
  // portal's identity and the application token, nothing else — the same for a change made by automation.
  test('an event caused by automation carries only domain, endpoints, member_id and application_token', async () => {
    await call('event.bind', { event: 'ONCRMLEADADD', handler: `${hooks.url}/events` });
    emu.control.addRecord('lead', { TITLE: 'by a robot' }, { userId: null });
    await emu.control.waitForDeliveries();
    const [request] = hooks.requests.filter((r) => r.path === '/events');
    expect(request.form.auth).toEqual({
      domain: new URL(emu.origin).host,
      server_endpoint: `${emu.oauthUrl}/rest/`,
      client_endpoint: `${emu.origin}/rest/`,
      member_id: emu.memberId,
      application_token: app.applicationToken,
    });
  });
});

describe('the OAuth server (settings/oauth/error-codes.md)', () => {
  const token = async (params: Record<string, string>) => {
    const response = await fetch(`${emu.oauthUrl}/oauth/token/?${new URLSearchParams(params).toString()}`);
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };

  test('an application deleted from the portal is invalid_client; an authorization code never issued is invalid_grant', async () => {
    const gone = await emu.control.installApp({});
    await emu.control.uninstallApp(gone.clientId);
    expect(await token({ grant_type: 'refresh_token', client_id: gone.clientId, client_secret: gone.clientSecret, refresh_token: gone.refreshToken }))
      .toMatchObject({ status: 401, body: { error: 'invalid_client' } });
    expect(await token({ grant_type: 'authorization_code', client_id: app.clientId, client_secret: app.clientSecret, code: 'avmocpghblyi01m3h42bljvqtyd19sw1' }))
      .toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
  });
});

describe('bizproc.event.send (bizproc/lib/restservice.php sendEvent; bizproc/classes/general/restactivity.php)', () => {
  test('a robot registered with USE_SUBSCRIPTION N and no AUTH_USER_ID: no tokens, and the reply succeeds but is dropped', async () => {
    await call('bizproc.robot.add', { CODE: 'fire_and_forget', HANDLER: `${hooks.url}/robot`, NAME: 'No reply', USE_SUBSCRIPTION: 'N', RETURN_PROPERTIES: { done: { NAME: 'Done', TYPE: 'string' } } });
    const run = emu.control.runRobot({ code: 'fire_and_forget', documentId: `DEAL_${deal}` });
    await emu.control.waitForDeliveries();
    const request = hooks.requests.find((r) => r.path === '/robot');
    expect(request?.form.use_subscription).toBe('N');
    // Registered without AUTH_USER_ID: the robot runs as nobody, so its call carries no tokens (restactivity.php:181-191).
    expect(request?.form.auth).not.toHaveProperty('access_token');
    expect(request?.form.auth).toMatchObject({ member_id: emu.memberId, application_token: app.applicationToken });
    expect((await call('bizproc.event.send', { EVENT_TOKEN: run.eventToken, RETURN_VALUES: { done: 'Y' } })).body.result).toBe(true);
    expect(emu.control.robotRun(run.workflowId)?.completed).toBeNull();
  });
});

describe('crm.activity.* (CCrmActivityRestProxy, crm/classes/general/restservice.php; crm/lib/controller/activity/todo.php)', () => {
  const todo = async (title: string, deadline: string) =>
    ((await call('crm.activity.todo.add', { ownerTypeId: 2, ownerId: deal, deadline, title, description: 'text' })).body.result as { id: number }).id;

  test('list: the select with ID (and PROVIDER_ID/PROVIDER_TYPE_ID with DESCRIPTION); no order is START_TIME ASC', async () => {
    const late = await todo('later', '2027-03-01T10:00:00+03:00');
    const early = await todo('earlier', '2027-02-01T10:00:00+03:00');
    const filter = { OWNER_TYPE_ID: 2, OWNER_ID: deal };
    const subjects = (await call('crm.activity.list', { filter, select: ['SUBJECT'] })).body.result as Record<string, unknown>[];
    expect(subjects.slice(-2)).toEqual([{ ID: String(early), SUBJECT: 'earlier' }, { ID: String(late), SUBJECT: 'later' }]);
    const described = (await call('crm.activity.list', { filter: { ID: early }, select: ['DESCRIPTION'] })).body.result as Record<string, unknown>[];
    expect(described).toEqual([{ ID: String(early), DESCRIPTION: 'text', PROVIDER_ID: 'CRM_TODO', PROVIDER_TYPE_ID: 'TODO' }]);
    // api-reference/crm/timeline/activities/activity-base/crm-activity-get.md shows SETTINGS [] for an activity
    // without settings; ping offsets are kept apart (crm_activity.php:584), the colour in SETTINGS.
    const coloured = ((await call('crm.activity.todo.add', { ownerTypeId: 2, ownerId: deal, deadline: DEADLINE, pingOffsets: [0, 15], colorId: '3' })).body.result as { id: number }).id;
    expect(((await call('crm.activity.get', { id: early })).body.result as { SETTINGS: unknown }).SETTINGS).toEqual([]);
    expect(((await call('crm.activity.get', { id: coloured })).body.result as { SETTINGS: unknown }).SETTINGS).toEqual({ COLOR: '3' });
  });

  test('the owner\'s rights: a to-do needs the update right; an unreadable activity is left out and get answers an empty error', async () => {
    const id = await todo('guarded', DEADLINE);
    emu.control.restrictCrm(3, 'deal', ['read', 'update', 'delete']);
    try {
      expect((await asManager('crm.activity.todo.add', { ownerTypeId: 2, ownerId: deal, deadline: DEADLINE, title: 'x' })).body)
        .toEqual({ error: 'ACCESS_DENIED', error_description: 'Access denied' });
      expect((await asManager('crm.activity.todo.updateDescription', { ownerTypeId: 2, ownerId: deal, id, value: 'y' })).body)
        .toEqual({ error: 'ACCESS_DENIED', error_description: 'Access denied' });
      expect((await asManager('crm.activity.list', { filter: { ID: id } })).body.result).toEqual([]);
      expect(await asManager('crm.activity.get', { id })).toEqual({ status: 400, body: { error: '', error_description: '' } });
      expect((await asManager('crm.activity.delete', { id })).body).toEqual({ error: '', error_description: 'Access denied.' });
    } finally {
      emu.control.restrictCrm(3, 'deal', []);
    }
    expect((await call('crm.activity.todo.add', { ownerTypeId: 2, ownerId: 0, deadline: DEADLINE })).body).toMatchObject({ error: 'NOT_FOUND' });
    expect((await call('crm.activity.get', { id: 987654 })).body).toEqual({ error: '', error_description: '' });
    expect((await call('crm.activity.delete', { id: 987654 })).body).toEqual({ error: '', error_description: 'Activity is not found.' });
  });
});

describe('crm.timeline.comment.add (Crm\\Controller\\Timeline\\Comment::addAction)', () => {
  test('the owner by ENTITY_TYPE_ID or by ENTITY_TYPE name/abbreviation in any case; the comment trimmed', async () => {
    const byAbbreviation = await call('crm.timeline.comment.add', { fields: { ENTITY_TYPE: 'd', ENTITY_ID: deal, COMMENT: '  called back  ' } });
    expect(byAbbreviation.body.result).toEqual(expect.any(Number));
    const byTypeId = await call('crm.timeline.comment.add', { fields: { ENTITY_TYPE_ID: 2, ENTITY_ID: deal, COMMENT: 'second' } });
    expect(byTypeId.body.result).toEqual(expect.any(Number));
    const comments = emu.control.collection('timelineComments').filter((c) => c.ENTITY_ID === deal);
    expect(comments.map((c) => [c.ENTITY_TYPE, c.COMMENT])).toEqual([['deal', 'called back'], ['deal', 'second']]);
  });

  test('errors: the controller\'s `fields` only, an empty comment, no update right', async () => {
    expect((await call('crm.timeline.comment.add', { FIELDS: { ENTITY_TYPE: 'deal', ENTITY_ID: deal, COMMENT: 'x' } })).body)
      .toEqual({ error: '100', error_description: 'Could not find value for parameter {fields}' });
    expect((await call('crm.timeline.comment.add', { fields: { ENTITY_TYPE: 'deal', ENTITY_ID: deal, COMMENT: '   ' } })).body)
      .toEqual({ error: 'INVALID_ARG_VALUE', error_description: 'Empty comment message' });
    emu.control.restrictCrm(3, 'deal', ['update']);
    try {
      expect((await asManager('crm.timeline.comment.add', { fields: { ENTITY_TYPE: 'deal', ENTITY_ID: deal, COMMENT: 'x' } })).body)
        .toEqual({ error: 'ACCESS_DENIED', error_description: 'Access denied' });
    } finally {
      emu.control.restrictCrm(3, 'deal', []);
    }
  });
});

describe('tasks.task.* (Bitrix\\Tasks\\Rest\\Controllers\\Task: parameters and field names as written)', () => {
  test('`fields` and `taskId`/`id` as the docs spell them; lower-case field names are not task fields', async () => {
    expect((await call('tasks.task.add', { FIELDS: { TITLE: 'x', RESPONSIBLE_ID: 1 } })).body)
      .toEqual({ error: '100', error_description: 'Could not find value for parameter {fields}' });
    expect((await call('tasks.task.add', { fields: { title: 'x', responsible_id: 1 } })).body)
      .toEqual({ error: 'ERROR_CORE', error_description: 'Task title not specified' });
    const id = ((await call('tasks.task.add', { fields: { TITLE: 'Перезвонить', RESPONSIBLE_ID: 1 } })).body.result as { task: { id: string } }).task.id;
    expect((await call('tasks.task.get', { id })).body.result).toMatchObject({ task: { id, title: 'Перезвонить' } });
    expect((await call('tasks.task.get', { TASKID: id })).body).toMatchObject({ error: '100' });
  });
});

describe('task events (CTaskRestService::onEventFilter, tasks/classes/general/restservice.php; api-reference/tasks/events-tasks/*)', () => {
  test('add, update (also by complete) and delete each send FIELDS_BEFORE/AFTER and IS_ACCESSIBLE_BEFORE/AFTER', async () => {
    for (const event of ['ONTASKADD', 'ONTASKUPDATE', 'ONTASKDELETE']) await call('event.bind', { event, handler: `${hooks.url}/tasks` });
    const id = ((await call('tasks.task.add', { fields: { TITLE: 'events', RESPONSIBLE_ID: 1 } })).body.result as { task: { id: string } }).task.id;
    await call('tasks.task.complete', { taskId: id });
    await call('tasks.task.delete', { taskId: id });
    await emu.control.waitForDeliveries();
    const sent = hooks.requests.filter((r) => r.path === '/tasks').map((r) => [r.form.event, r.form.data]);
    expect(sent).toEqual([
      ['ONTASKADD', { FIELDS_BEFORE: 'undefined', FIELDS_AFTER: { ID: id }, IS_ACCESSIBLE_BEFORE: 'N', IS_ACCESSIBLE_AFTER: 'undefined' }],
      ['ONTASKUPDATE', { FIELDS_BEFORE: { ID: id }, FIELDS_AFTER: { ID: id }, IS_ACCESSIBLE_BEFORE: 'undefined', IS_ACCESSIBLE_AFTER: 'undefined' }],
      ['ONTASKDELETE', { FIELDS_BEFORE: { ID: id }, FIELDS_AFTER: 'undefined', IS_ACCESSIBLE_BEFORE: 'undefined', IS_ACCESSIBLE_AFTER: 'N' }],
    ]);
  });
});

describe('im.notify.system.add (CIMRestService::notifyAdd, im/classes/general/im_rest.php)', () => {
  test('an app\'s system notice prefixes MESSAGE_OUT with the app\'s name too; an attach that is no array is ATTACH_ERROR', async () => {
    const sent = await call('im.notify.system.add', { USER_ID: 3, MESSAGE: 'Новый лид', MESSAGE_OUT: 'Новый лид (e-mail)' });
    const stored = emu.control.collection('notifications').find((n) => n.id === sent.body.result);
    expect(stored).toMatchObject({ shownMessage: 'autosalon#BR#Новый лид', messageOut: 'autosalon#BR#Новый лид (e-mail)' });
    expect((await call('im.notify.system.add', { USER_ID: 3, MESSAGE: 'x', ATTACH: 'not an attach' })).body)
      .toEqual({ error: 'ATTACH_ERROR', error_description: 'Incorrect attach params' });
  });
});

describe('user.get (Bitrix\\Rest\\Api\\User::userGet, rest/lib/api/user.php)', () => {
  test('FILTER replaces the top-level filter; SELECT picks the columns; SORT needs ORDER; no match is a bare []', async () => {
    const filtered = await call('user.get', { FILTER: { ID: 3 }, ID: 1 });
    expect((filtered.body.result as { ID: string }[]).map((u) => u.ID)).toEqual(['3']);
    expect((await call('user.get', { ID: 2, select: ['NAME'] })).body.result).toEqual([{ NAME: expect.any(String) }]);
    const ids = async (params: Record<string, unknown>) => ((await call('user.get', params)).body.result as { ID: string }[]).map((u) => Number(u.ID));
    const natural = await ids({});
    expect(await ids({ sort: 'ID' })).toEqual(natural);
    expect(await ids({ sort: 'ID', order: 'DESC' })).toEqual([...natural].reverse());
    const none = await call('user.get', { FILTER: { ID: 99999 } });
    expect(none.body.result).toEqual([]);
    expect(none.body).not.toHaveProperty('total');
  });
});
