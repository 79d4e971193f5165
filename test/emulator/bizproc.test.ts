// bizproc.robot.*, the robot call to HANDLER, bizproc.event.send, bizproc.workflow.template.* and start
// (server notes §6, §10; REST notes §9, §10).
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { encodeBpt, refusalProcess, robotActivityType, type BptPackage } from '../../src/bpt/index.js';
import type { InstalledApp, RunningEmulator } from '../../src/emulator/index.js';
import { appCall, rawCall, startCaptureServer, startTestEmulator } from '../helpers/emulator.js';

let emu: RunningEmulator;
let hooks: Awaited<ReturnType<typeof startCaptureServer>>;
let app: InstalledApp;
beforeAll(async () => {
  hooks = await startCaptureServer();
  emu = await startTestEmulator({ limits: false });
  app = await emu.control.installApp({});
});
afterAll(async () => {
  await emu.close();
  await hooks.close();
});
beforeEach(() => {
  hooks.requests.length = 0;
});

const call = (method: string, params: Record<string, unknown> = {}, token = app.accessToken) => appCall(emu, token, method, params);
const robot = (overrides: Record<string, unknown> = {}) => ({
  CODE: 'autosalon_refusal',
  HANDLER: `${hooks.url}/robots/refusal`,
  AUTH_USER_ID: 1,
  NAME: { ru: 'Отказ', en: 'Refusal' },
  DOCUMENT_TYPE: ['crm', 'CCrmDocumentDeal', 'DEAL'],
  PROPERTIES: { reason: { Name: { ru: 'Причина' }, Type: 'text', Default: 'не указана' } },
  RETURN_PROPERTIES: { recall_date: { Name: 'Re-call date', Type: 'date' } },
  ...overrides,
});

describe('bizproc.robot.*', () => {
  test('validation: codes, handler host, names, properties, document type', async () => {
    const add = async (data: Record<string, unknown>) => (await call('bizproc.robot.add', data)).body;
    const failure = (text: string) => ({ error: 'ERROR_ACTIVITY_VALIDATION_FAILURE', error_description: text });
    expect(await add(robot({ CODE: '' }))).toEqual(failure('Empty activity code!'));
    expect(await add(robot({ CODE: 'bad code!' }))).toEqual(failure('Wrong activity code!'));
    expect(await add(robot({ HANDLER: 'https://localhost/robot' }))).toEqual({ error: 'ERROR_WRONG_HANDLER_URL', error_description: 'Wrong handler URL' });
    expect(await add(robot({ NAME: '' }))).toEqual(failure('Empty activity NAME!'));
    expect(await add(robot({ PROPERTIES: { '1bad': { Name: 'x' } } }))).toEqual(failure('Wrong property key (1bad)!'));
    expect(await add(robot({ PROPERTIES: { good: { Type: 'string' } } }))).toEqual(failure('Empty property NAME (good)!'));
    expect(await add(robot({ DOCUMENT_TYPE: ['crm', 'CCrmDocumentDeal', 'NOPE'] }))).toEqual(failure('Wrong activity DOCUMENT_TYPE!'));
    expect((await rawCall(emu, 'bizproc.robot.add', robot())).body).toEqual({ error: 'ACCESS_DENIED', error_description: 'Access denied! Application context required' });
  });

  test('add (127.0.0.1 handlers are fine), a second add is ERROR_ACTIVITY_ALREADY_INSTALLED, list, update, delete', async () => {
    expect((await call('bizproc.robot.add', robot())).body.result).toBe(true);
    expect((await call('bizproc.robot.add', robot())).body).toEqual({ error: 'ERROR_ACTIVITY_ALREADY_INSTALLED', error_description: 'Activity or Robot already installed!' });
    await call('bizproc.robot.add', robot({ CODE: 'temp_robot' }));
    expect((await call('bizproc.robot.list')).body.result).toEqual(['autosalon_refusal', 'temp_robot']);
    expect((await call('bizproc.robot.update', { CODE: 'temp_robot', FIELDS: {} })).body.error_description).toBe('No fields to update');
    expect((await call('bizproc.robot.update', { CODE: 'temp_robot', FIELDS: { NAME: 'Renamed' } })).body.result).toBe(true);
    expect((await call('bizproc.robot.delete', { CODE: 'temp_robot' })).body.result).toBe(true);
    expect((await call('bizproc.robot.delete', { CODE: 'temp_robot' })).body).toEqual({ error: 'ERROR_ACTIVITY_NOT_FOUND', error_description: 'Activity or Robot not found!' });
    const manager = emu.control.issueToken(app.clientId, 3);
    expect((await call('bizproc.robot.list', {}, manager.accessToken)).body).toEqual({ error: 'ACCESS_DENIED', error_description: 'Access denied!' });
  });

  test('running the robot POSTs the documented payload; bizproc.event.send answers it', async () => {
    const deal = (await rawCall(emu, 'crm.deal.add', { fields: { TITLE: 'refused' } })).body.result as number;
    const run = emu.control.runRobot({ code: 'autosalon_refusal', documentId: `DEAL_${deal}`, timeoutDuration: 3600 });
    await emu.control.waitForDeliveries();
    const [request] = hooks.requests;
    expect(request.path).toBe('/robots/refusal');
    expect(request.contentType).toBe('application/x-www-form-urlencoded');
    expect(request.raw).toContain('document_id%5B0%5D=crm');
    expect(request.form).toEqual({
      workflow_id: run.workflowId,
      code: 'autosalon_refusal',
      document_id: ['crm', 'CCrmDocumentDeal', `DEAL_${deal}`],
      document_type: ['crm', 'CCrmDocumentDeal', 'DEAL'],
      event_token: run.eventToken,
      properties: { reason: 'не указана' },
      use_subscription: 'Y',
      timeout_duration: '3600',
      ts: expect.stringMatching(/^\d+$/),
      auth: {
        access_token: expect.any(String),
        expires: expect.any(String),
        expires_in: '3600',
        refresh_token: expect.any(String),
        user_id: '1',
        scope: app.scope,
        domain: new URL(emu.origin).host,
        server_endpoint: `${emu.oauthUrl}/rest/`,
        status: 'L',
        client_endpoint: `${emu.origin}/rest/`,
        member_id: emu.memberId,
        application_token: app.applicationToken,
      },
    });
    expect(run.workflowId).toMatch(/^[0-9a-f]{14}\.\d{8}$/);
    expect(run.eventToken.startsWith(`${run.workflowId}|${run.activityName}|`)).toBe(true);

    // Any user may answer (a webhook too); only RETURN_PROPERTIES keys are kept, case-insensitively.
    const answer = await rawCall(emu, 'bizproc.event.send', { event_token: run.eventToken, return_values: { RECALL_DATE: '2027-02-01', other: 'x' }, log_message: 'scheduled' });
    expect(answer.body.result).toBe(true);
    expect(emu.control.robotRun(run.workflowId)?.completed).toMatchObject({ returnValues: { recall_date: '2027-02-01' }, logMessage: 'scheduled' });
    expect(emu.control.robotRun(run.workflowId)?.delivery).toBe('delivered');
    const forged = `${run.eventToken.slice(0, -4)}beef`;
    expect(await rawCall(emu, 'bizproc.event.send', { EVENT_TOKEN: forged })).toEqual({ status: 403, body: { error: 'ACCESS_DENIED', error_description: 'Access denied!' } });
  });
});

describe('bizproc.workflow.template.*', () => {
  const bpt = (pkg: BptPackage) => encodeBpt(pkg).toString('base64');
  const refusal = () => refusalProcess({ clientId: app.clientId, robotCode: 'autosalon_refusal', reasonField: 'UF_CRM_AS_REFUSAL', lang: 'ru' });
  const dealType = ['crm', 'CCrmDocumentDeal', 'DEAL'];

  test('the refusal process calling the registered robot is accepted, as [name, base64] or bare base64', async () => {
    const pair = await call('bizproc.workflow.template.add', { DOCUMENT_TYPE: dealType, NAME: 'Отказ клиента', TEMPLATE_DATA: ['refusal.bpt', bpt(refusal())], AUTO_EXECUTE: '0' });
    expect(typeof pair.body.result).toBe('number');
    const bare = await call('bizproc.workflow.template.add', { DOCUMENT_TYPE: dealType, NAME: 'Отказ 2', TEMPLATE_DATA: bpt(refusal()) });
    expect(typeof bare.body.result).toBe('number');
    const list = await call('bizproc.workflow.template.list', { SELECT: ['ID', 'NAME', 'SYSTEM_CODE', 'AUTO_EXECUTE', 'DOCUMENT_TYPE'], FILTER: { SYSTEM_CODE: `rest_app_${emu.portal.state.apps[0].id}` } });
    expect(list.body.total).toBe(2);
    expect((list.body.result as Record<string, unknown>[])[0]).toEqual({ ID: String(pair.body.result), NAME: 'Отказ клиента', SYSTEM_CODE: `rest_app_${emu.portal.state.apps[0].id}`, AUTO_EXECUTE: '0', DOCUMENT_TYPE: 'DEAL' });
  });

  test('list FILTER (RestService::getFilter): only the operators "", !, <, <=, >, >= and field names as written; others filter nothing', async () => {
    const total = (filter: Record<string, unknown>) => call('bizproc.workflow.template.list', { FILTER: filter }).then((r) => r.body.total);
    const all = await total({});
    expect(await total({ NAME: 'Отказ клиента' })).toBe(1);
    expect(await total({ '!NAME': 'Отказ клиента' })).toBe((all as number) - 1);
    expect(await total({ '=NAME': 'Отказ клиента' })).toBe(all);
    expect(await total({ '!=NAME': 'Отказ клиента' })).toBe(all);
    expect(await total({ name: 'Отказ клиента' })).toBe(all);
  });

  test('what the server rejects', async () => {
    const add = async (params: Record<string, unknown>) => (await call('bizproc.workflow.template.add', { DOCUMENT_TYPE: dealType, NAME: 'x', TEMPLATE_DATA: bpt(refusal()), ...params })).body;
    const failure = (text: string) => ({ error: 'ERROR_TEMPLATE_VALIDATION_FAILURE', error_description: text });
    expect(await add({ AUTO_EXECUTE: 1 })).toEqual(failure('Incorrect field AUTO_EXECUTE!'));
    expect(await add({ AUTO_EXECUTE: '8' })).toEqual(failure('Incorrect field AUTO_EXECUTE!'));
    expect(await add({ DOCUMENT_TYPE: ['lists', 'BizprocDocument', 'iblock_1'] })).toEqual(failure('Incorrect field DOCUMENT_TYPE!'));
    expect(await add({ NAME: '' })).toEqual(failure('Empty template name!'));
    expect(await add({ TEMPLATE_DATA: '' })).toEqual(failure('Incorrect field TEMPLATE_DATA!'));
    expect(await add({ TEMPLATE_DATA: Buffer.from('not a template').toString('base64') })).toEqual({ error: '', error_description: 'Incorrect workflow template' });
    const foreignRobot = refusalProcess({ clientId: 'local.other.1', robotCode: 'autosalon_refusal', reasonField: 'UF_CRM_AS_REFUSAL', lang: 'ru' });
    expect(await add({ TEMPLATE_DATA: bpt(foreignRobot) })).toEqual({ error: '', error_description: `Activity "${robotActivityType('local.other.1', 'autosalon_refusal')}" was not found. ` });
    expect((await rawCall(emu, 'bizproc.workflow.template.add', { DOCUMENT_TYPE: dealType, NAME: 'x', TEMPLATE_DATA: bpt(refusal()) })).body.error).toBe('ACCESS_DENIED');
  });

  test('only the owner app updates or deletes; the document fields it brings are created', async () => {
    const withField = { ...refusal(), DOCUMENT_FIELDS: { UF_CRM_AS_BP_NOTE: { Name: 'Заметка процесса', Type: 'string', Multiple: '0', Required: '0' } } };
    const id = (await call('bizproc.workflow.template.add', { DOCUMENT_TYPE: dealType, NAME: 'owned', TEMPLATE_DATA: bpt(withField) })).body.result;
    const fields = (await rawCall(emu, 'crm.deal.userfield.list', { filter: { FIELD_NAME: 'UF_CRM_AS_BP_NOTE' } })).body.result as unknown[];
    expect(fields).toHaveLength(1);
    const other = await emu.control.installApp({});
    expect((await call('bizproc.workflow.template.update', { ID: id, FIELDS: { NAME: 'stolen' } }, other.accessToken)).body).toEqual({
      error: 'ERROR_TEMPLATE_NOT_OWNER',
      error_description: 'You can update ONLY templates created by current application',
    });
    expect((await call('bizproc.workflow.template.delete', { ID: id }, other.accessToken)).body.error_description).toBe('You can delete ONLY templates created by current application');
    expect((await call('bizproc.workflow.template.update', { ID: id, FIELDS: { NAME: 'renamed', AUTO_EXECUTE: '2' } })).body.result).toBe(id);
    expect((await call('bizproc.workflow.template.delete', { ID: id })).body.result).toBeNull();
    expect((await call('bizproc.workflow.template.delete', { ID: id })).body.error).toBe('ERROR_TEMPLATE_NOT_FOUND');
  });

  test('bizproc.workflow.start answers a workflow id; wrong documents are refused', async () => {
    const template = (await call('bizproc.workflow.template.add', { DOCUMENT_TYPE: dealType, NAME: 'start me', TEMPLATE_DATA: bpt(refusal()) })).body.result;
    const deal = (await rawCall(emu, 'crm.deal.add', { fields: { TITLE: 'bp' } })).body.result;
    const started = await rawCall(emu, 'bizproc.workflow.start', { TEMPLATE_ID: template, DOCUMENT_ID: ['crm', 'CCrmDocumentDeal', `DEAL_${deal}`] });
    expect(started.body.result).toMatch(/^[0-9a-f]{14}\.\d{8}$/);
    expect((await rawCall(emu, 'bizproc.workflow.start', { TEMPLATE_ID: template, DOCUMENT_ID: ['crm', 'CCrmDocumentDeal', 'DEAL_999999'] })).body).toEqual({ error: '', error_description: 'Wrong DOCUMENT_ID!' });
    const lead = (await rawCall(emu, 'crm.lead.add', { fields: {} })).body.result;
    expect((await rawCall(emu, 'bizproc.workflow.start', { TEMPLATE_ID: template, DOCUMENT_ID: ['crm', 'CCrmDocumentLead', `LEAD_${lead}`] })).body.error_description).toBe('Template type and DOCUMENT_ID mismatch!');
    // CBPHelper::parseDocumentId: a bare code is no document id.
    expect((await rawCall(emu, 'bizproc.workflow.start', { TEMPLATE_ID: template, DOCUMENT_ID: `DEAL_${deal}` })).body).toEqual({ error: '', error_description: 'Wrong DOCUMENT_ID!' });
    expect((await rawCall(emu, 'bizproc.workflow.start', { TEMPLATE_ID: 0 })).body).toEqual({ error: 'ERROR_WRONG_WORKFLOW_ID', error_description: 'Empty TEMPLATE_ID' });
  });

  test('bizproc.workflow.instances (and .instance.list) list the running workflows (docs bizproc-workflow-instances.md)', async () => {
    const template = (await call('bizproc.workflow.template.add', { DOCUMENT_TYPE: dealType, NAME: 'instances', TEMPLATE_DATA: bpt(refusal()) })).body.result as number;
    const deal = (await rawCall(emu, 'crm.deal.add', { fields: { TITLE: 'running' } })).body.result;
    const workflow = (await rawCall(emu, 'bizproc.workflow.start', { TEMPLATE_ID: template, DOCUMENT_ID: ['crm', 'CCrmDocumentDeal', `DEAL_${deal}`] })).body.result;
    const listed = await rawCall(emu, 'bizproc.workflow.instances', {
      select: ['ID', 'MODULE_ID', 'ENTITY', 'DOCUMENT_ID', 'TEMPLATE_ID', 'STARTED_BY', 'STARTED', 'OWNED_UNTIL'],
      filter: { TEMPLATE_ID: template, DOCUMENT_ID: `DEAL_${deal}` },
    });
    expect(listed.body.total).toBe(1);
    expect(listed.body.result).toEqual([{
      ID: workflow, MODULE_ID: 'crm', ENTITY: 'CCrmDocumentDeal', DOCUMENT_ID: `DEAL_${deal}`, TEMPLATE_ID: String(template), STARTED_BY: '1',
      STARTED: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}[+-]\d{2}:\d{2}$/), OWNED_UNTIL: null,
    }]);
    // The default select; the alias; an operator the server does not take filters nothing.
    const alias = await rawCall(emu, 'bizproc.workflow.instance.list', { filter: { '=DOCUMENT_ID': 'DEAL_0' } });
    expect(Object.keys((alias.body.result as object[])[0])).toEqual(['ID', 'MODIFIED', 'OWNED_UNTIL']);
    expect(alias.body.total).toBe(emu.control.collection('workflows').length);
    const other = await emu.control.installApp({});
    const user = emu.control.issueToken(other.clientId, 3);
    expect((await appCall(emu, user.accessToken, 'bizproc.workflow.instances')).status).toBe(403);
  });

  test('without the business-process feature (Basic plan) the template methods do not exist', async () => {
    const basic = await startTestEmulator({ limits: false, plan: 'basic' });
    try {
      const basicApp = await basic.control.installApp({});
      expect((await appCall(basic, basicApp.accessToken, 'bizproc.workflow.template.add', {})).body).toEqual({ error: 'ERROR_METHOD_NOT_FOUND', error_description: 'Method not found!' });
      // Robots stay available with automation rules.
      expect((await appCall(basic, basicApp.accessToken, 'bizproc.robot.list')).body.result).toEqual([]);
    } finally {
      await basic.close();
    }
  });
});
