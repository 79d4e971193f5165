import { describe, expect, it } from 'vitest';
import { placeAfter } from '../../src/install/add-stage.js';
import { chooseTier, packBatches, tierFromPortal } from '../../src/install/apply.js';
import { InstallError, type Step } from '../../src/install/model.js';
import { renderPlan, reportJson } from '../../src/install/render.js';
import { planInstall } from '../../src/install/plan.js';
import { emptyLedger, freshSnapshot, fullTemplate, crmPlus, row } from './fixtures.js';

describe('which tier', () => {
  it('--tier, or --plan through the template\'s plan map; both only when they agree; else the portal\'s plan decides', () => {
    expect(chooseTier(fullTemplate, { tier: 'base' })).toEqual({ tier: 'base', source: '--tier' });
    expect(chooseTier(fullTemplate, { plan: 'ru_basic' })).toEqual({ tier: 'base', source: '--plan ru_basic' });
    expect(chooseTier(fullTemplate, { plan: 'ent250' })?.tier).toBe('crm_plus');
    expect(chooseTier(fullTemplate, { plan: 'pro', tier: 'crm_plus' })?.tier).toBe('crm_plus');
    expect(() => chooseTier(fullTemplate, { tier: 'gold' })).toThrow(/unknown tier "gold": use base or crm_plus/);
    // Nothing given: the portal's plan (app.info, read with the portal) decides.
    expect(chooseTier(fullTemplate, {})).toBeUndefined();
  });

  it('a mistyped plan code is an error listing the known codes, not the paid tier', () => {
    expect(() => chooseTier(fullTemplate, { plan: 'basc' })).toThrow(InstallError);
    expect(() => chooseTier(fullTemplate, { plan: 'basc' })).toThrow(/unknown plan code "basc": the template knows project, tf, start.*basic.*pro\*, ent\*/);
  });

  it('--plan and --tier that disagree are refused, naming both', () => {
    expect(() => chooseTier(fullTemplate, { plan: 'pro', tier: 'base' })).toThrow(/--plan pro means tier crm_plus, but --tier says base/);
  });

  it('without --tier or --plan the portal\'s LICENSE from app.info decides (what a webhook gets); no plan at all is an error naming both options', () => {
    expect(tierFromPortal(fullTemplate, { id: '', code: '', licenseType: '', licenseFamily: '', license: 'ru_basic', languageId: '' }))
      .toEqual({ tier: 'base', source: 'the portal\'s plan ru_basic, from app.info' });
    expect(tierFromPortal(fullTemplate, { id: '', code: '', licenseType: '', licenseFamily: '', license: 'by_pro100', languageId: '' }).tier).toBe('crm_plus');
    expect(() => tierFromPortal(fullTemplate, undefined)).toThrow(/--tier base\|crm_plus.*--plan CODE/);
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
    expect(() => placeAfter(rows, rows[3], 'process')).toThrow(/"Успех" is a final stage: a stage after it can only be a failure stage\. Add --semantics failure/);
    expect(() => placeAfter(rows, rows[1], 'failure')).toThrow(/after the success stage/);
    const tight = [row('S', 'A', 'A', 20), row('S', 'B', 'B', 21)];
    expect(() => placeAfter(tight, tight[0], 'process')).toThrow(/no free place between "A" \(sort 20\) and "B" \(sort 21\)/);
  });
});

describe('the plan as text', () => {
  const plan = planInstall({ template: crmPlus, tier: 'crm_plus', lang: 'ru', snapshot: freshSnapshot(), ledger: emptyLedger(), portal: 'https://p', mode: 'webhook' });
  const text = renderPlan(plan, fullTemplate, { target: 'https://p (incoming webhook)', tierSource: '--tier' });
  const lines = text.split('\n');

  it('has a legend, groups by pipeline with the pipeline\'s own line first, and ends with the counts', () => {
    expect(lines[2]).toBe('Legend: + create  ~ change  - delete  = unchanged  ! skipped');
    expect(lines.at(-1)).toMatch(/^Plan: \d+ to create, \d+ to update, \d+ to delete, \d+ unchanged, 9 skipped; 0 of the portal's own elements kept$/);
    const groups = lines.filter((l) => /^[A-Z]/.test(l) && !/^(Plan|Legend|Tier|Автосалон)/.test(l));
    expect(groups).toEqual(['Lead statuses', 'Pipeline "Ремонт авто" (repair)', 'Pipeline "Магазин" (shop)', 'Pipeline "Мойка" (wash)', 'Fields', 'Cards', 'Application objects (robots, trigger, events, business process)']);
    const repair = lines.indexOf('Pipeline "Ремонт авто" (repair)');
    expect(lines[repair + 1]).toBe('  + pipeline "Ремонт авто" — sort 100');
    expect(text).toContain('  - status PROCESSED "Обработан" — a standard status the template does not use, with no leads');
  });

  it('says once per pipeline that its stages wait for the pipeline, and folds a repeated reason into one line', () => {
    expect(text).not.toContain('once the pipeline exists');
    expect(lines.filter((l) => l === '  once Bitrix24 has created the pipeline:')).toHaveLength(3);
    expect(text).toContain('    + stage INSPECTION "Анализ авто" — in-progress, sort 20');
    // The five unused default stages of a new pipeline: one line, one reason.
    expect(lines.filter((l) => l.includes('a standard stage Bitrix24 gives every new pipeline'))).toHaveLength(3);
    expect(text).toContain('    - stage PREPARATION, stage PREPAYMENT_INVOICE, stage EXECUTING, stage FINAL_INVOICE, stage APOLOGY — a standard stage Bitrix24 gives every new pipeline, which the template does not use');
    // The nine application objects a webhook cannot set up: the reason said once, then the objects one per line.
    const skipped = lines.filter((l) => l.startsWith('  ! '));
    expect(skipped).toEqual(['  ! only the installed Autosalon application can set this up: Bitrix24 refuses it to an incoming webhook:']);
    const at = lines.indexOf(skipped[0]);
    expect(lines.slice(at + 1, at + 10)).toEqual([
      '      robot autosalon_refusal "Автосалон: отказ и повторный звонок"', '      robot autosalon_stage_actions "Автосалон: действия стадии"',
      '      trigger autosalon_inbound "Автосалон: входящее обращение (звонок, форма)"', '      event ONCRMLEADADD → the automation service',
      '      event ONCRMLEADUPDATE → the automation service', '      event ONCRMDEALADD → the automation service',
      '      event ONCRMDEALUPDATE → the automation service', '      event ONCRMDEALMOVETOCATEGORY → the automation service',
      '      business process "Автосалон: отказ клиента"',
    ]);
  });

  it('--json leaves the REST payloads out', () => {
    const json = JSON.stringify(reportJson({ plan } as never));
    expect(json).not.toContain('crm.status.add');
    expect(JSON.parse(json).plan.steps[0]).toEqual(expect.objectContaining({ action: expect.any(String), object: expect.any(String), title: expect.any(String) }));
  });
});
