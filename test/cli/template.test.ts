import { afterEach, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { copyTemplate } from '../helpers/template-copy.js';

let copy: ReturnType<typeof copyTemplate> | undefined;
afterEach(() => copy?.cleanup());

describe('autosalon template validate', () => {
  it('exits 0 with a one-line summary for the shipped template', () => {
    const r = runCli(['template', 'validate', 'templates/autosalon']);
    expect(r.status).toBe(0);
    expect(r.stdout.trim().split('\n')).toHaveLength(1);
    expect(r.stdout).toMatch(/^OK autosalon 1\.0\.0: 5 lead statuses, 3 pipelines with 20 stages, 21 fields/);
  });

  it('exits 1 listing the errors, without a stack trace', () => {
    copy = copyTemplate();
    copy.edit('pipelines/repair.yaml', 'code: WAIT_PARTS', 'code: INSPECTION');
    const r = runCli(['template', 'validate', copy.dir]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/pipelines\/repair\.yaml:\d+:\d+ stages\[2\]\.code: duplicate stage code "INSPECTION"/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});

describe('autosalon template show', () => {
  it('prints only Repair and no automation for tier base, in English', () => {
    const r = runCli(['template', 'show', '--tier', 'base', '--lang', 'en']);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('Pipeline repair — Car repair [base]');
    expect(r.stdout).not.toContain('Pipeline shop');
    expect(r.stdout).toContain('Automation: none in this tier');
  });

  it('prints the rules under their stages for crm_plus', () => {
    const r = runCli(['template', 'show', '--tier', 'crm_plus']);
    expect(r.stdout).toContain('Pipeline wash — Мойка [crm_plus]');
    expect(r.stdout).toMatch(/UC_CALLBACK\s+Уточняющий звонок\s+\[process\]\n\s+task "Обратный звонок" for responsible, due in 2h/);
  });

  it('refuses an unknown tier naming the known ones', () => {
    const r = runCli(['template', 'show', '--tier', 'gold']);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('unknown tier "gold": use base or crm_plus');
  });
});
