// The installer's safer choices against the emulator: a person's edit is asked about (or kept), the plan's counts and
// the result's agree or say why, a saved plan is applied exactly or refused, Ctrl-C stops between batches, and a
// portal that stops answering is given up after --timeout-ms.
import { createServer, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { RunningEmulator } from '../../src/emulator/index.js';
import { PlanChangedError, runInstall, type InstallOptions } from '../../src/install/apply.js';
import type { Plan } from '../../src/install/model.js';
import { consentSteps } from '../../src/install/plan.js';
import { renderSummary } from '../../src/install/render.js';
import { savedSteps } from '../../src/install/saved-plan.js';
import { renderVerify, verifyPortal } from '../../src/install/verify.js';
import { PortalClient, TimeoutError } from '../../src/portal/client.js';
import { loadTemplate } from '../../src/template/loader.js';
import { startTestEmulator } from '../helpers/emulator.js';
import { call, categories, statuses, tempStateDir } from '../install/portal-checks.js';

const template = loadTemplate();
const running: RunningEmulator[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((e) => e.close()));
});

async function portal(options: Parameters<typeof startTestEmulator>[0] = {}) {
  const emulator = await startTestEmulator(options);
  running.push(emulator);
  const stateDir = tempStateDir();
  const client = () => PortalClient.fromWebhook(emulator.webhookUrl);
  const install = (o: InstallOptions = {}) => runInstall(client(), { tier: 'base', stateDir, template, ...o });
  return { emulator, stateDir, client, install };
}

async function renameStage(emulator: RunningEmulator, suffix: string, name: string): Promise<void> {
  const [repair] = await categories(emulator);
  const row = (await statuses(emulator, `DEAL_STAGE_${repair.id}`)).find((r) => r.STATUS_ID.endsWith(suffix))!;
  await call(emulator, 'crm.status.update', { id: row.ID, fields: { NAME: name } });
}

describe('a person\'s edit of an object Autosalon set', () => {
  it('is not reverted without asking: the question lists it old → new; declined, nothing changes', async () => {
    const { emulator, install } = await portal();
    await install();
    await renameStage(emulator, ':INSPECTION', 'Осмотр');
    let asked: Plan | undefined;
    const report = await install({ confirm: (plan) => { asked = plan; return false; } });
    expect(report.cancelled).toBe(true);
    const { edited, foreign } = consentSteps(asked!);
    expect(foreign).toEqual([]);
    expect(edited.map((s) => `${s.title} — ${s.detail}`)).toEqual(['stage INSPECTION "Анализ авто" — name "Осмотр" → "Анализ авто"']);
    await renameStage(emulator, ':INSPECTION', 'Осмотр'); // still the person's name
    const [repair] = await categories(emulator);
    expect((await statuses(emulator, `DEAL_STAGE_${repair.id}`)).find((r) => r.STATUS_ID.endsWith(':INSPECTION'))!.NAME).toBe('Осмотр');
  });

  it('with --keep-edits is left as it is and listed, and the install still counts as done', async () => {
    const { emulator, install } = await portal();
    await install();
    await renameStage(emulator, ':INSPECTION', 'Осмотр');
    const report = await install({ keepEdits: true, confirm: () => { throw new Error('nothing needs asking'); } });
    expect(report.converged).toBe(true);
    expect(report.updated).toBe(0);
    expect(report.skipped).toEqual([{ object: 'stage INSPECTION "Анализ авто"', reason: expect.stringMatching(/changed by a person after Autosalon set it; kept as it is \(--keep-edits\) instead of: name "Осмотр" → "Анализ авто"/) }]);
    // The summary does not claim a full match: verify would list the kept edit.
    expect(renderSummary(report)).toContain('The portal now matches the template, except 1 edit by people kept at your request (--keep-edits; verify lists them).');
  });

  it('is told from a change of the template: names in another language are the template\'s change, asked about by no one', async () => {
    const { install } = await portal();
    await install();
    const confirmations: Plan[] = [];
    const report = await install({ lang: 'en', confirm: (plan) => { confirmations.push(plan); return true; } });
    expect(report.updated).toBeGreaterThan(10);
    // Only the portal's own objects (the default lead statuses Autosalon renamed and took over) would need consent.
    expect(confirmations.flatMap((p) => consentSteps(p).edited)).toEqual([]);
    expect(report.converged).toBe(true);
  });
});

describe('the plan\'s counts and the result\'s', () => {
  it('agree, or the summary says which planned change was not needed and why', async () => {
    const { install } = await portal();
    const report = await install({ tier: 'crm_plus' });
    const planned = report.plan.steps.filter((s) => s.action === 'update').length;
    const notNeeded = report.differences.filter((d) => d.why === 'not-needed' && d.action === 'update');
    // The repair pipeline's success stage already has the template's name and place when Bitrix24 creates it.
    expect(notNeeded.map((d) => d.title)).toEqual(['stage WON "Сделка успешна"']);
    expect(report.updated).toBe(planned - notNeeded.length);
    expect(report.created).toBe(report.plan.steps.filter((s) => s.action === 'create').length);
    const summary = renderSummary(report);
    expect(summary).toMatch(/The plan said \d+ to create, 17 to update, 16 to delete; done: \d+ created, 16 updated, 16 deleted\. Why:/);
    expect(summary).toMatch(/1 planned change was not needed when the portal was read again .*: stage WON "Сделка успешна"/);
    // Skipped objects are listed once, in the plan: the summary only counts them.
    expect(summary).toMatch(/^9 objects were skipped \(listed with the reason in the plan above\)\.$/m);
    expect(summary).not.toMatch(/robot autosalon_refusal/);
  });
});

describe('a saved plan', () => {
  it('is applied exactly when the portal is as it was, and refused (nothing changed) when it changed since', async () => {
    const { emulator, install, client, stateDir } = await portal();
    const saved = savedSteps((await install({ dryRun: true })).plan);
    await call(emulator, 'crm.status.update', { id: (await statuses(emulator, 'STATUS')).find((r) => r.STATUS_ID === 'NEW')!.ID, fields: { NAME: 'Входящие' } });
    emulator.control.resetStats();
    const refused = install({ expectedPlan: saved });
    await expect(refused).rejects.toThrow(PlanChangedError);
    await expect(refused).rejects.toThrow(/the portal changed since the plan was made \(1 difference\); nothing was changed[\s\S]*status NEW "Новое обращение": planned "change", now "change" — name "Входящие" → "Новое обращение"/);
    expect(Object.keys(emulator.control.stats().calls).filter((m) => /\.(add|update|delete|set)$/.test(m))).toEqual([]);

    const fresh = savedSteps((await install({ dryRun: true })).plan);
    const applied = await install({ expectedPlan: fresh });
    expect(applied.converged).toBe(true);
    expect((await verifyPortal(client(), { stateDir, template })).ok).toBe(true);
  });
});

describe('Ctrl-C during an install', () => {
  it('stops before the next batch, says what was done, and a second run finishes it', async () => {
    const { install, client, stateDir } = await portal();
    const controller = new AbortController();
    const report = await install({ maxBatch: 10, signal: controller.signal, onBatchSent: () => controller.abort() });
    expect(report.interrupted).toBe(true);
    expect(report.converged).toBe(false);
    expect(report.created + report.updated + report.deleted).toBe(10);
    expect(renderSummary(report)).toMatch(/^Interrupted \(Ctrl-C\): 10 changes were made and recorded\. Nothing is lost: run the same command again to finish\./);
    expect(report.differences.every((d) => d.why === 'interrupted')).toBe(true);
    const again = await install();
    expect(again.converged).toBe(true);
    expect((await verifyPortal(client(), { stateDir, template })).ok).toBe(true);
  });
});

describe('a portal that accepts the connection and never answers', () => {
  it('is given up after --timeout-ms with one attempt, not retried for minutes', async () => {
    const sockets: Socket[] = [];
    const silent = createServer((socket) => sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as { port: number };
    try {
      const client = PortalClient.fromWebhook(`https://127.0.0.1:${port}/rest/1/secret1234/`, { timeoutMs: 200 });
      const error = await client.call('crm.status.list').catch((e: unknown) => e);
      expect(error).toBeInstanceOf(TimeoutError);
      expect((error as Error).message).toMatch(new RegExp(`the portal at https://127\\.0\\.0\\.1:${port} accepted the request but did not answer within 200 ms \\(--timeout-ms\\)`));
      // A read is repeated after a lost answer, but not after a timeout: one connection only.
      expect(sockets).toHaveLength(1);
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });
});

describe('what Autosalon created that the template or tier no longer has', () => {
  it('is said to be Autosalon\'s, left as it is — not the portal\'s own', async () => {
    const { emulator, install } = await portal();
    await install({ tier: 'crm_plus' });
    await call(emulator, 'crm.category.add', { entityTypeId: 2, fields: { name: 'Своя воронка' } });
    const report = await install({ tier: 'base', dryRun: true });
    const kept = Object.fromEntries(report.plan.steps.filter((s) => s.kind === 'category' && !s.template).map((s) => [s.title, s.detail]));
    expect(Object.values(kept).filter((d) => d === 'created by Autosalon, no longer in this template or tier: left as it is (uninstall removes it)')).toHaveLength(2);
    expect(Object.entries(kept).find(([title]) => title.includes('Своя воронка'))?.[1]).toBe('not in the template: the portal\'s own, left as it is');
  });
});

describe('verify on a portal Autosalon was never installed on', () => {
  it('says no install is recorded, and lists a missing pipeline before its stages', async () => {
    const { client, stateDir } = await portal();
    const report = await verifyPortal(client(), { stateDir, template, tier: 'base' });
    expect(report.neverInstalled).toBe(true);
    expect(report.drift[0]).toMatchObject({ action: 'create', object: 'category:repair' });
    expect(renderVerify(report, 'autosalon install')).toContain(`(no install of Autosalon is recorded for this portal in ${report.stateDir}: below is what an install would do`);
  });
});
