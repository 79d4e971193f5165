import { describe, expect, it } from 'vitest';
import { placeAfter } from '../../src/install/add-stage.js';
import { chooseTier, packBatches } from '../../src/install/apply.js';
import { InstallError, type Step } from '../../src/install/model.js';
import { renderPlan, reportJson } from '../../src/install/render.js';
import { planInstall } from '../../src/install/plan.js';
import { emptyLedger, freshSnapshot, fullTemplate, crmPlus, row } from './fixtures.js';

describe('which tier', () => {
  it('--tier wins, then --plan through the template\'s plan map; a webhook without either is told both options', () => {
    expect(chooseTier(fullTemplate, { tier: 'base', plan: 'pro' }, 'webhook')).toEqual({ tier: 'base', source: '--tier' });
    expect(chooseTier(fullTemplate, { plan: 'ru_basic' }, 'webhook')).toEqual({ tier: 'base', source: '--plan ru_basic' });
    expect(chooseTier(fullTemplate, { plan: 'ent250' }, 'webhook')?.tier).toBe('crm_plus');
    expect(() => chooseTier(fullTemplate, {}, 'webhook')).toThrow(InstallError);
    expect(() => chooseTier(fullTemplate, {}, 'webhook')).toThrow(/--tier base\|crm_plus.*--plan CODE/);
    expect(() => chooseTier(fullTemplate, { tier: 'gold' }, 'webhook')).toThrow(/unknown tier "gold": use base or crm_plus/);
    // App mode reads app.info later.
    expect(chooseTier(fullTemplate, {}, 'app')).toBeUndefined();
  });
});

describe('batches', () => {
  const step = (id: string, dependsOn?: string): Step => ({ id, action: 'create', kind: 'field', key: id, group: 'fields', title: id, template: true, phase: 0, dependsOn });

  it('hold at most 50 commands and never split a step from the steps that use its result', () => {
    const steps = [...Array.from({ length: 49 }, (_, i) => step(`a${i}`)), step('cat'), step('card', 'cat'), step('z')];
    const batches = packBatches(steps);
    expect(batches.map((b) => b.length)).toEqual([49, 3]);
    expect(batches[1].map((s) => s.id)).toEqual(['cat', 'card', 'z']);
    expect(packBatches(steps, 10).every((b) => b.length <= 10)).toBe(true);
  });
});

describe('support stage placement', () => {
  const rows = [
    row('DEAL_STAGE_1', 'C1:NEW', 'Новая', 10), row('DEAL_STAGE_1', 'C1:INSPECTION', 'Анализ авто', 20), row('DEAL_STAGE_1', 'C1:WAIT_PARTS', 'Ожидание', 30),
    row('DEAL_STAGE_1', 'C1:WON', 'Успех', 60, { semantics: 'success' }), row('DEAL_STAGE_1', 'C1:LOSE', 'Провал', 70, { semantics: 'failure' }),
  ];
  it('goes halfway to the next stage, after the last one at +10, and respects process < success < failure', () => {
    expect(placeAfter(rows, rows[1], 'process')).toBe(25);
    expect(placeAfter(rows, rows[3], 'failure')).toBe(65);
    expect(placeAfter(rows, rows[4], 'failure')).toBe(80);
    expect(() => placeAfter(rows, rows[3], 'process')).toThrow(/process stage cannot go after "Успех"/);
    expect(() => placeAfter(rows, rows[1], 'failure')).toThrow(/after the success stage/);
    const tight = [row('S', 'A', 'A', 20), row('S', 'B', 'B', 21)];
    expect(() => placeAfter(tight, tight[0], 'process')).toThrow(/no free place between "A" \(sort 20\) and "B" \(sort 21\)/);
  });
});

describe('the plan as text', () => {
  it('counts first, then one line per change, grouped by pipeline; --json leaves the REST payloads out', () => {
    const plan = planInstall({ template: crmPlus, tier: 'crm_plus', lang: 'ru', snapshot: freshSnapshot(), ledger: emptyLedger(), portal: 'https://p', mode: 'webhook' });
    const text = renderPlan(plan, fullTemplate, { target: 'https://p (incoming webhook)', tierSource: '--tier' });
    const lines = text.split('\n');
    expect(lines[2]).toMatch(/^Plan: \d+ to create, \d+ to update, \d+ to delete, \d+ unchanged, 9 skipped; 0 of the portal's own elements kept$/);
    const groups = lines.filter((l) => /^[A-Z]/.test(l) && !l.startsWith('Plan') && !l.startsWith('Автосалон'));
    expect(groups).toEqual(['Lead statuses', 'Pipeline repair — Ремонт авто', 'Pipeline shop — Магазин', 'Pipeline wash — Мойка', 'Fields', 'Cards', 'Application objects (robots, triggers, events, business process)']);
    expect(text).toContain('  + create stage INSPECTION "Анализ авто" — process, sort 20 (once the pipeline exists)');
    expect(text).toContain('  - delete status PROCESSED "Обработан" — a default status the template does not use, with no leads');
    const json = JSON.stringify(reportJson({ plan } as never));
    expect(json).not.toContain('crm.status.add');
    expect(JSON.parse(json).plan.steps[0]).toEqual(expect.objectContaining({ action: expect.any(String), object: expect.any(String), title: expect.any(String) }));
  });
});
