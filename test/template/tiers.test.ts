import { describe, expect, it } from 'vitest';
import { loadTemplate, tierForAppInfo, tierForPlan } from '../../src/template/index.js';

const template = loadTemplate();

describe('plan code → tier (spec section 2 table)', () => {
  const base = ['project', 'tf', 'start', 'start_2019', 'retail', 'tasks', 'basic', 'self', 'edu'];
  const plus = ['crm', 'team', 'company', 'company2', 'company3', 'std', 'pro', 'pro100', 'ent', 'ent250', 'ent10000',
    'entholding1000', 'corporation', 'demo', 'nfr'];

  it.each(base)('%s → base', (code) => expect(tierForPlan(template, code).tier).toBe('base'));
  it.each(plus)('%s → crm_plus', (code) => expect(tierForPlan(template, code).tier).toBe('crm_plus'));

  it('reads the LICENSE form with its region prefix and any case', () => {
    expect(tierForPlan(template, 'ru_project')).toMatchObject({ tier: 'base', plan: 'project' });
    expect(tierForPlan(template, 'de_ent10000')).toMatchObject({ tier: 'crm_plus', plan: 'ent10000', matchedBy: 'ent*' });
    expect(tierForPlan(template, 'RU_START_2019')).toMatchObject({ tier: 'base', plan: 'start_2019' });
  });

  it('matches "project" exactly before the pro* prefix', () => {
    expect(tierForPlan(template, 'project').matchedBy).toBe('project');
  });

  it('sends an unknown code to the tier the template names for unknown plans', () => {
    expect(tierForPlan(template, 'galaxy42')).toEqual({ tier: 'crm_plus', plan: 'galaxy42', matchedBy: 'unknown' });
  });
});

describe('app.info → tier (the installer and the service alike)', () => {
  it('takes LICENSE_TYPE when the mapping knows it', () => {
    expect(tierForAppInfo(template, { licenseType: 'basic', licenseFamily: 'ent', license: 'ru_basic' })).toMatchObject({ tier: 'base', plan: 'basic' });
  });

  it('falls back to LICENSE_FAMILY for a plan name the mapping does not know', () => {
    expect(tierForAppInfo(template, { licenseType: 'start_2031', licenseFamily: 'start', license: 'ru_start_2031' })).toMatchObject({ tier: 'base', plan: 'start' });
  });

  it('then to LICENSE, and to the unknown-plan tier when nothing is known', () => {
    expect(tierForAppInfo(template, { license: 'ru_project' })).toMatchObject({ tier: 'base', plan: 'project' });
    expect(tierForAppInfo(template, { licenseType: 'galaxy42' })).toMatchObject({ tier: 'crm_plus', plan: 'galaxy42', matchedBy: 'unknown' });
    expect(tierForAppInfo(template, {})).toMatchObject({ tier: 'crm_plus', matchedBy: 'unknown' });
  });
});
