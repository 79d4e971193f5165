// The install, verify, uninstall and add-stage commands as a user runs them, against an in-process emulator.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningEmulator } from '../../src/emulator/index.js';
import { startTestEmulator } from '../helpers/emulator.js';
import { runCliAsync } from '../install/cli-run.js';
import { call, categories, duplicates, statuses, tempStateDir } from '../install/portal-checks.js';

let emulator: RunningEmulator;
let env: Record<string, string>;
let secret: string;

beforeAll(async () => {
  emulator = await startTestEmulator();
  secret = new URL(emulator.webhookUrl).pathname.split('/')[3];
  env = { B24_WEBHOOK_URL: emulator.webhookUrl, AUTOSALON_STATE_DIR: tempStateDir() };
});
afterAll(async () => {
  await emulator?.close();
});

const writes = () => Object.keys(emulator.control.stats().calls).filter((m) => /\.(add|update|delete|set)$/.test(m));

describe('autosalon install / verify / uninstall (CLI)', () => {
  it('a mistyped --plan, or --plan and --tier that disagree, stop before any request, naming what to give', async () => {
    emulator.control.resetStats();
    const typo = await runCliAsync(['install', '--plan', 'basc'], env);
    expect(typo.status).toBe(1);
    expect(typo.stderr).toMatch(/unknown plan code "basc": the template knows project, tf, start, .*basic.*pro\*/);
    expect(typo.stderr).not.toMatch(/at .*\.ts:\d+/); // no stack trace
    const both = await runCliAsync(['install', '--plan', 'pro', '--tier', 'base'], env);
    expect(both.status).toBe(1);
    expect(both.stderr).toMatch(/--plan pro means tier crm_plus, but --tier says base/);
    expect(emulator.control.stats().httpRequests).toBe(0);
  });

  it('without a terminal and without --yes, a plan that changes the portal\'s own objects is not applied; the tier comes from the portal\'s plan', async () => {
    emulator.control.resetStats();
    // No --tier: the webhook's app.info gives LICENSE ru_pro, which the template maps to crm_plus.
    const r = await runCliAsync(['install'], env);
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/Tier crm_plus \(the portal's plan ru_pro, from app\.info\)/);
    expect(r.stdout).toMatch(/Plan: \d+ to create/);
    expect(r.stdout).toMatch(/~ status NEW "Новое обращение"/);
    expect(r.stderr).toMatch(/changes 3 objects that were on the portal before Autosalon \(2 to update, 1 to delete\); nothing was changed\. Add --yes/);
    expect(writes()).toEqual([]);
  });

  it('--yes --json applies and prints exactly one JSON object, and no secret anywhere', async () => {
    const r = await runCliAsync(['install', '--tier', 'crm_plus', '--yes', '--json'], env);
    expect(r.status).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    const report = JSON.parse(lines[0]);
    expect(report).toMatchObject({ tier: 'crm_plus', converged: true, failed: [] });
    expect(report.created).toBeGreaterThan(40);
    expect(report.httpRequests).toBeLessThanOrEqual(8);
    expect(typeof report.unchanged).toBe('number');
    expect(report.skipped.map((s: { object: string }) => s.object)).toEqual(expect.arrayContaining([expect.stringMatching(/^robot autosalon_refusal/)]));
    expect(r.stdout + r.stderr).not.toContain(secret);
    expect(r.stderr).toMatch(/Round 1, batch 1\/1/);
  });

  it('verify: exit 0 when the portal matches, 1 with the drift listed', async () => {
    const ok = await runCliAsync(['verify'], env);
    expect(ok.status).toBe(0);
    expect(ok.stdout).toMatch(/OK: the portal matches the template/);
    const [repair] = await categories(emulator);
    const inspection = (await statuses(emulator, `DEAL_STAGE_${repair.id}`)).find((r) => r.STATUS_ID.endsWith(':INSPECTION'))!;
    await call(emulator, 'crm.status.update', { id: inspection.ID, fields: { NAME: 'Осмотр' } });
    const drift = await runCliAsync(['verify'], env);
    expect(drift.status).toBe(1);
    expect(drift.stdout).toMatch(/differs\s+stage INSPECTION "Анализ авто" — name "Осмотр" → "Анализ авто"/);
    await call(emulator, 'crm.status.update', { id: inspection.ID, fields: { NAME: 'Анализ авто' } });
  });

  it('add-stage adds a support stage after the named stage', async () => {
    const r = await runCliAsync(['add-stage', '--pipeline', 'wash', '--name', 'Сушка', '--after', 'Ожидание мойки / мойка'], env);
    expect(r.status).toBe(0);
    const statusId = /\((C\d+:SUSHKA);/.exec(r.stdout)?.[1];
    expect(r.stdout).toMatch(/Added the stage "Сушка" \(C\d+:SUSHKA; in-progress, sort 25\) to wash after "Ожидание мойки \/ мойка"/);
    const wash = (await categories(emulator))[2];
    expect((await statuses(emulator, `DEAL_STAGE_${wash.id}`)).map((s) => s.STATUS_ID)).toContain(statusId);
  });

  it('uninstall --yes removes what Autosalon created', async () => {
    const r = await runCliAsync(['uninstall', '--yes', '--json'], env);
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout).removed).toBeGreaterThan(30);
    expect(await categories(emulator)).toEqual([]);
    expect((await statuses(emulator, 'STATUS')).map((s) => s.STATUS_ID)).toEqual(['NEW', 'IN_PROCESS', 'PROCESSED', 'CONVERTED', 'JUNK']);
  });

  it('an install that cannot put a template field in place exits 1 and says the portal does not match, as verify does', async () => {
    emulator.control.resetLimits();
    // The portal's own lead field with the template's name and another type: Bitrix24 cannot change a field's type.
    const fieldId = await call<number>(emulator, 'crm.lead.userfield.add', { fields: { FIELD_NAME: 'AS_VIN', USER_TYPE_ID: 'integer', EDIT_FORM_LABEL: 'VIN' } });
    try {
      const r = await runCliAsync(['install', '--tier', 'crm_plus', '--yes', '--json'], env);
      expect(r.status).toBe(1);
      const report = JSON.parse(r.stdout);
      expect(report).toMatchObject({ converged: false, failed: [] });
      expect(report.skipped).toEqual(expect.arrayContaining([
        { object: 'lead field UF_CRM_AS_VIN "VIN"', reason: expect.stringMatching(/integer, the template wants string/) },
      ]));
      expect(r.stderr).toMatch(/does not match the template/);
      const verify = await runCliAsync(['verify'], env);
      expect(verify.status).toBe(1);
      expect(verify.stdout).toMatch(/cannot fix\s+lead field UF_CRM_AS_VIN/);
    } finally {
      await call(emulator, 'crm.lead.userfield.delete', { id: fieldId });
    }
  });
});

describe('a killed install', () => {
  it('SIGKILL in the middle of a batch, then a re-run: converges, nothing duplicated', async () => {
    const slow = await startTestEmulator({ latencyMs: 250 });
    try {
      const slowEnv = { B24_WEBHOOK_URL: slow.webhookUrl, AUTOSALON_STATE_DIR: tempStateDir() };
      let killed = false;
      const first = await runCliAsync(['install', '--tier', 'crm_plus', '--yes'], slowEnv, {
        onStderr: (text, child) => {
          if (!killed && /Round 1, batch 1\/1/.test(text)) {
            killed = true;
            setTimeout(() => child.kill('SIGKILL'), 100);
          }
        },
      });
      expect(first.signal).toBe('SIGKILL');
      const again = await runCliAsync(['install', '--tier', 'crm_plus', '--yes', '--json'], slowEnv);
      expect(again.status).toBe(0);
      const report = JSON.parse(again.stdout);
      expect(report).toMatchObject({ resumed: true, converged: true, failed: [] });
      expect(await duplicates(slow)).toEqual([]);
      expect((await categories(slow)).map((c) => c.name)).toEqual(['Ремонт авто', 'Магазин', 'Мойка']);
    } finally {
      await slow.close();
    }
  });
});
