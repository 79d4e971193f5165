// System and user methods, and what an incoming webhook may not call (docs api-reference/common/*, user/*,
// departments/*; REST notes §0.13 and §12).
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { RunningEmulator } from '../../src/emulator/index.js';
import { rawCall, startTestEmulator } from '../helpers/emulator.js';

let emu: RunningEmulator;
beforeAll(async () => {
  emu = await startTestEmulator({ limits: false });
});
afterAll(() => emu.close());

describe('system methods', () => {
  test('app-only methods are refused to a webhook', async () => {
    for (const method of ['bizproc.robot.add', 'bizproc.robot.list', 'crm.automation.trigger.add', 'crm.automation.trigger.execute', 'bizproc.workflow.template.add']) {
      const r = await rawCall(emu, method, {});
      expect({ method, ...r }).toEqual({ method, status: 403, body: { error: 'ACCESS_DENIED', error_description: 'Access denied! Application context required' } });
    }
  });

  test('scope lists the webhook scopes; profile shows the admin', async () => {
    expect((await rawCall(emu, 'scope')).body.result).toEqual(expect.arrayContaining(['crm', 'user', 'department', 'im', 'task', 'bizproc']));
    expect((await rawCall(emu, 'profile')).body.result).toMatchObject({ ID: '1', ADMIN: true, NAME: 'Иван', LAST_NAME: 'Петров' });
  });

  test('feature.get needs CODE', async () => {
    expect((await rawCall(emu, 'feature.get', {})).body).toEqual({ error: 'CODE_EMPTY', error_description: "CODE can't be empty" });
    expect((await rawCall(emu, 'feature.get', { CODE: 'rest_offline_extended' })).body.result).toEqual({ value: 'Y' });
  });
});

describe('users and departments', () => {
  test('users sit in departments whose heads are users', async () => {
    const users = (await rawCall(emu, 'user.get')).body.result as { ID: string; UF_DEPARTMENT: number[]; ACTIVE: boolean }[];
    expect(users.length).toBeGreaterThanOrEqual(5);
    expect(users.every((u) => u.ACTIVE === true && u.UF_DEPARTMENT.length > 0)).toBe(true);
    const departments = (await rawCall(emu, 'department.get')).body.result as { ID: string; UF_HEAD?: string; PARENT?: string }[];
    const ids = new Set(users.map((u) => u.ID));
    expect(departments.every((d) => d.UF_HEAD && ids.has(d.UF_HEAD))).toBe(true);
    expect(departments.filter((d) => !d.PARENT)).toHaveLength(1);
  });

  test('user.get filters (FILTER or top level, with prefixes) and department.get filters by ID', async () => {
    const manager = (await rawCall(emu, 'user.get', { FILTER: { ID: 3 } })).body.result as { ID: string; UF_DEPARTMENT: number[] }[];
    expect(manager).toHaveLength(1);
    const byDepartment = (await rawCall(emu, 'user.get', { UF_DEPARTMENT: manager[0].UF_DEPARTMENT[0] })).body.result as { ID: string }[];
    expect(byDepartment.map((u) => u.ID)).toContain('3');
    const department = (await rawCall(emu, 'department.get', { ID: manager[0].UF_DEPARTMENT[0] })).body;
    expect(department.total).toBe(1);
    expect((department.result as { UF_HEAD: string }[])[0].UF_HEAD).not.toBe('3');
    expect(((await rawCall(emu, 'user.get', { FILTER: { '>ID': 4 } })).body.result as unknown[]).length).toBe(2);
    expect((await rawCall(emu, 'user.current')).body.result).toMatchObject({ ID: '1', UF_DEPARTMENT: [1] });
  });
});
