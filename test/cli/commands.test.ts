// The integrator's commands end to end through the CLI: saved plans (install --out, apply), exit codes for scripts
// (--detailed-exitcode), verify's advice, Russian, Ctrl-C, the application's tokens on standard input.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningEmulator } from '../../src/emulator/index.js';
import { startTestEmulator } from '../helpers/emulator.js';
import { runCliAsync } from '../install/cli-run.js';
import { call, categories, statuses, tempStateDir } from '../install/portal-checks.js';

let emulator: RunningEmulator;
let env: Record<string, string>;
let dir: string;

beforeAll(async () => {
  emulator = await startTestEmulator();
  dir = tempStateDir();
  env = { B24_WEBHOOK_URL: emulator.webhookUrl, AUTOSALON_STATE_DIR: dir };
});
afterAll(async () => {
  await emulator?.close();
});

const writes = () => Object.keys(emulator.control.stats().calls).filter((m) => /\.(add|update|delete|set)$/.test(m));

async function renameRepairStage(suffix: string, name: string): Promise<void> {
  const [repair] = await categories(emulator);
  const row = (await statuses(emulator, `DEAL_STAGE_${repair.id}`)).find((r) => r.STATUS_ID.endsWith(suffix))!;
  await call(emulator, 'crm.status.update', { id: row.ID, fields: { NAME: name } });
}

describe('saved plans and exit codes', () => {
  it('install --out writes the plan and changes nothing (exit 2: changes to make); apply applies exactly it', async () => {
    const file = join(dir, 'plan.json');
    emulator.control.resetStats();
    const planned = await runCliAsync(['install', '--tier', 'base', '--out', file, '--detailed-exitcode'], env);
    expect(planned.status).toBe(2);
    expect(planned.stdout).toMatch(/Plan: 37 to create, 9 to update, 6 to delete/);
    expect(planned.stdout).toContain(`The plan is saved to ${file}; nothing was changed. Apply exactly it with: autosalon apply ${file}`);
    expect(writes()).toEqual([]);
    const saved = JSON.parse(readFileSync(file, 'utf8'));
    expect(saved).toMatchObject({ format: 'autosalon-plan', tier: 'base', portal: { origin: emulator.origin } });
    expect(JSON.stringify(saved)).not.toContain(new URL(emulator.webhookUrl).pathname.split('/')[3]);

    const applied = await runCliAsync(['apply', file], env);
    expect(applied.status).toBe(0);
    expect(applied.stdout).toMatch(/^Applying the plan of .* to https:\/\/127\.0\.0\.1:\d+: 37 to create, 9 to update, 6 to delete\.$/m);
    expect(applied.stdout).toMatch(/The portal now matches the template\./);
  });

  it('--detailed-exitcode: 0 when there is nothing to do, for install --dry-run and for verify', async () => {
    const dry = await runCliAsync(['install', '--dry-run', '--detailed-exitcode'], env);
    expect(dry.status).toBe(0);
    const verify = await runCliAsync(['verify', '--detailed-exitcode'], env);
    expect(verify.status).toBe(0);
  });

  it('verify: 2 for drift with --detailed-exitcode, with advice that is a command that works (the tier from the ledger)', async () => {
    await renameRepairStage(':INSPECTION', 'Осмотр');
    const drift = await runCliAsync(['verify', '--detailed-exitcode'], env);
    expect(drift.status).toBe(2);
    const advice = /^To fix what can be fixed: (autosalon install .*)$/m.exec(drift.stdout)?.[1];
    expect(advice).toBe('autosalon install --tier base');
    // The person's rename is asked about: with --yes the advised command puts the template's name back.
    const fixed = await runCliAsync([...advice!.split(' ').slice(1), '--yes'], env);
    expect(fixed.status).toBe(0);
    expect((await runCliAsync(['verify'], env)).status).toBe(0);
  });

  it('apply refuses a plan the portal no longer matches: exit 1, what differs, nothing changed', async () => {
    const file = join(dir, 'plan2.json');
    await renameRepairStage(':PAYMENT', 'Касса');
    expect((await runCliAsync(['install', '--out', file, '--detailed-exitcode', '--keep-edits'], env)).status).toBe(0);
    await renameRepairStage(':IN_REPAIR', 'На подъёмнике');
    emulator.control.resetStats();
    const refused = await runCliAsync(['apply', file], env);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toMatch(/the portal changed since the plan was made \(1 difference\); nothing was changed\. Make a new plan with autosalon install --out FILE/);
    // The plan was made with --keep-edits: the new edit would be kept too, but it is not what was reviewed.
    expect(refused.stderr).toMatch(/stage IN_REPAIR "Авто в ремонте": planned "unchanged", now "skipped" — changed by a person after Autosalon set it; kept as it is \(--keep-edits\) instead of: name "На подъёмнике" → "Авто в ремонте"/);
    expect(writes()).toEqual([]);
  });

  it('verify of a portal it cannot reach: exit 1 even with --detailed-exitcode', async () => {
    const r = await runCliAsync(['verify', '--detailed-exitcode', '--webhook', 'https://127.0.0.1:9/rest/1/abcdef12/'], env);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/cannot reach the portal/);
  });
});

describe('in Russian', () => {
  it('speaks Russian with --lang ru or a Russian locale: messages, errors and help', async () => {
    const verify = await runCliAsync(['verify', '--lang', 'ru'], env);
    expect(verify.stdout).toMatch(/^Отличия от шаблона \(2\):$/m);
    expect(verify.stdout).toMatch(/^Чтобы исправить то, что можно: autosalon install --tier base --lang ru$/m);
    const error = await runCliAsync(['install', '--plan', 'basc'], { ...env, LANG: 'ru_RU.UTF-8' });
    expect(error.stderr).toMatch(/^ошибка: неизвестный код тарифа «basc»: шаблон знает project, tf/m);
    const help = await runCliAsync(['install', '--help'], { LANG: 'ru_RU.UTF-8' });
    expect(help.stdout).toMatch(/^Использование: autosalon install \[options\]/m);
    const text = help.stdout.replace(/\s+/g, ' ');
    expect(text).toMatch(/--detailed-exitcode с --dry-run или --out: код 0 — менять нечего, 2 — есть что менять, 1 — ошибка/);
    expect(text).toMatch(/Коды выхода: 0 — после установки портал соответствует шаблону/);
  });
});

describe('Ctrl-C', () => {
  it('stops after the batch in flight, says what was done and how to finish, exit 130; the same command finishes', async () => {
    const slow = await startTestEmulator({ latencyMs: 300 });
    try {
      const slowEnv = { B24_WEBHOOK_URL: slow.webhookUrl, AUTOSALON_STATE_DIR: tempStateDir() };
      let sent = false;
      const r = await runCliAsync(['install', '--tier', 'base', '--yes'], slowEnv, {
        onStderr: (text, child) => {
          if (!sent && /Round 1, batch 1\/1/.test(text)) {
            sent = true;
            child.kill('SIGINT');
          }
        },
      });
      expect(r.status).toBe(130);
      expect(r.stderr).toMatch(/Stopping after the batch in flight, so nothing is half-done/);
      expect(r.stdout).toMatch(/^Interrupted \(Ctrl-C\): \d+ changes were made and recorded\. Nothing is lost: run the same command again to finish\.$/m);
      const again = await runCliAsync(['install', '--tier', 'base', '--yes', '--json'], slowEnv);
      expect(again.status).toBe(0);
      expect(JSON.parse(again.stdout)).toMatchObject({ converged: true, failed: [] });
    } finally {
      await slow.close();
    }
  });
});

describe('the application\'s tokens', () => {
  it('are taken from standard input, so they never show on the command line or in the output', async () => {
    const app = await emulator.control.installApp();
    const tokens = JSON.stringify({ access_token: app.accessToken, refresh_token: app.refreshToken, domain: new URL(app.clientEndpoint).host, member_id: app.memberId });
    const r = await runCliAsync(['verify', '--tokens-stdin', '--tier', 'base', '--state-dir', tempStateDir(), '--json'], { B24_WEBHOOK_URL: '', B24_APP_CLIENT_ID: app.clientId, B24_APP_CLIENT_SECRET: app.clientSecret }, { stdin: tokens });
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toMatchObject({ portal: emulator.origin, tier: 'base' });
    expect(r.stdout + r.stderr).not.toContain(app.accessToken);
    expect(existsSync(dir)).toBe(true);
  });
});
