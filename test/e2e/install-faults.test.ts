// The installer against REST fault storms injected by the emulator (PUT /_control/faults, seeded so each run sees the
// same pattern): runs of 503 QUERY_LIMIT_EXCEEDED, and answers lost after the portal did the work. It must end with
// exactly one clean install: every object once, a create whose answer was lost found again and never sent twice.
import { afterEach, describe, expect, it } from 'vitest';
import type { RunningEmulator } from '../../src/emulator/index.js';
import { runInstall } from '../../src/install/apply.js';
import { verifyPortal } from '../../src/install/verify.js';
import { PortalClient } from '../../src/portal/client.js';
import { loadTemplate } from '../../src/template/loader.js';
import { startTestEmulator } from '../helpers/emulator.js';
import { categories, duplicates, fieldNames, tempStateDir } from '../install/portal-checks.js';

const template = loadTemplate();
const running: RunningEmulator[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((e) => e.close()));
});

async function portal() {
  const emulator = await startTestEmulator({ limits: false });
  running.push(emulator);
  const stateDir = tempStateDir();
  const client = () => PortalClient.fromWebhook(emulator.webhookUrl, { retry: { minDelayMs: 5, maxDelayMs: 40 } });
  return { emulator, stateDir, client };
}

/** The creates the installer sent, per method: each must have run once per object it made. */
function creates(emulator: RunningEmulator): Record<string, number> {
  return Object.fromEntries(Object.entries(emulator.control.stats().calls).filter(([method]) => /\.add$/.test(method)));
}

/** What is on the portal after a clean install, with faults off (the checks call the portal directly). */
async function cleanInstall(emulator: RunningEmulator) {
  emulator.control.setFaults({});
  expect(await duplicates(emulator)).toEqual([]);
  expect((await categories(emulator)).map((c) => c.name)).toEqual(['Ремонт авто', 'Магазин', 'Мойка']);
  const fields = await Promise.all((['lead', 'deal', 'contact', 'company'] as const).map((e) => fieldNames(emulator, e)));
  return { fields: fields.flat().filter((f) => f.startsWith('UF_CRM_AS_')).length };
}

describe('installing through a storm of injected REST faults', () => {
  it('with 30% of requests refused with 503 it still converges to exactly one clean install', async () => {
    const { emulator, stateDir, client } = await portal();
    emulator.control.setFaults({ rest503Rate: 0.3, seed: 11 });
    const report = await runInstall(client(), { tier: 'crm_plus', stateDir, template, maxBatch: 10 });
    const stats = emulator.control.stats();
    expect(stats.injected503).toBeGreaterThan(0);
    expect(stats.rejected503).toBe(0);
    expect(report.failed).toEqual([]);
    expect(report.converged).toBe(true);
    const made = creates(emulator);
    const { fields } = await cleanInstall(emulator);
    // A refused request ran nothing, so every create ran once: three pipelines, one call per field.
    expect(made['crm.category.add']).toBe(3);
    expect(Object.entries(made).filter(([m]) => m.endsWith('.userfield.add')).reduce((n, [, c]) => n + c, 0)).toBe(fields);
    expect((await verifyPortal(client(), { stateDir, template })).drift).toEqual([]);
  });

  it('a read refused inside a batch by the method\'s operating-time limit (429) is asked again after a wait, not a failed run', async () => {
    const { emulator, stateDir, client } = await portal();
    emulator.control.setFaults({ rest429Next: 2 });
    const report = await runInstall(client(), { tier: 'crm_plus', stateDir, template });
    expect(emulator.control.stats().injected429).toBe(2);
    expect(report.failed).toEqual([]);
    expect(report.converged).toBe(true);
    emulator.control.setFaults({ rest429Next: 1 });
    expect((await verifyPortal(client(), { stateDir, template })).drift).toEqual([]);
    expect(emulator.control.stats().injected429).toBe(3);
  });

  it('with answers lost after the work was done, the creates are found again and never sent twice', async () => {
    const { emulator, stateDir, client } = await portal();
    emulator.control.setFaults({ lostAnswerRate: 0.25, seed: 3 });
    const found: number[] = [];
    const report = await runInstall(client(), {
      tier: 'crm_plus', stateDir, template, maxBatch: 10, maxRounds: 12,
      onProgress: (e) => { if (e.type === 'resume') found.push(e.found); },
    });
    const stats = emulator.control.stats();
    expect(stats.lostAnswers).toBeGreaterThan(0);
    // The lost batches were this run's own: nothing of an earlier run was resumed.
    expect(report.resumed).toBe(false);
    // At least one lost batch had created objects: the next round found them on the portal.
    expect(found.some((n) => n > 0)).toBe(true);
    // What this run created counts as created, whether its answer came back or it was found afterwards.
    expect(report.created).toBe(report.plan.steps.filter((step) => step.action === 'create').length);
    expect(report.failed).toEqual([]);
    expect(report.converged).toBe(true);
    const made = creates(emulator);
    const { fields } = await cleanInstall(emulator);
    expect(made['crm.category.add']).toBe(3);
    expect(Object.entries(made).filter(([m]) => m.endsWith('.userfield.add')).reduce((n, [, c]) => n + c, 0)).toBe(fields);
    expect((await verifyPortal(client(), { stateDir, template })).drift).toEqual([]);
  });
});
