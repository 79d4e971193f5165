import { afterEach, describe, expect, it } from 'vitest';
import { formatIssue, loadTemplate, TemplateError, type TemplateIssue } from '../../src/template/index.js';
import { copyTemplate } from '../helpers/template-copy.js';

let copy: ReturnType<typeof copyTemplate> | undefined;
afterEach(() => copy?.cleanup());

function issuesAfter(edit: (c: ReturnType<typeof copyTemplate>) => void): TemplateIssue[] {
  copy = copyTemplate();
  edit(copy);
  try {
    loadTemplate(copy.dir);
  } catch (error) {
    expect(error).toBeInstanceOf(TemplateError);
    return (error as TemplateError).issues;
  }
  throw new Error('the broken template was accepted');
}

describe('loadTemplate on the shipped template', () => {
  it('loads without issues', () => {
    const t = loadTemplate();
    expect(t.code).toBe('autosalon');
    expect(t.tiers).toEqual(['base', 'crm_plus']);
  });
});

describe('loadTemplate on broken templates names the file, the path and the mistake', () => {
  it('a duplicate stage code', () => {
    const issues = issuesAfter((c) => c.edit('pipelines/repair.yaml', 'code: WAIT_PARTS', 'code: INSPECTION'));
    expect(issues.map(formatIssue)).toContainEqual(expect.stringMatching(
      /^pipelines\/repair\.yaml:\d+:\d+ stages\[2\]\.code: duplicate stage code "INSPECTION" \(first at stages\[1\]\)$/,
    ));
  });

  it('a rule pointing at a missing field', () => {
    const issues = issuesAfter((c) => c.edit('automation.yaml', 'requireFields: [UF_CRM_AS_MASTER]', 'requireFields: [UF_CRM_AS_MASTR]'));
    expect(issues).toContainEqual(expect.objectContaining({
      file: 'automation.yaml', message: 'unknown field "UF_CRM_AS_MASTR" for deals',
    }));
    const issue = issues.find((i) => i.message.includes('UF_CRM_AS_MASTR'))!;
    expect(formatIssue(issue)).toMatch(/^automation\.yaml:\d+:\d+ rules\[\d+\]\.do\[0\]\.requireFields\[0\]: /);
  });

  it('a field code over 20 characters', () => {
    const issues = issuesAfter((c) => {
      c.edit('fields.yaml', 'code: UF_CRM_AS_PARTS_NOTE', 'code: UF_CRM_AS_PARTS_NOTE_X');
      c.edit('cards.yaml', 'UF_CRM_AS_PARTS_NOTE,', 'UF_CRM_AS_PARTS_NOTE_X,');
      c.edit('automation.yaml', 'requireFields: [UF_CRM_AS_PARTS_NOTE]', 'requireFields: [UF_CRM_AS_PARTS_NOTE_X]');
    });
    expect(issues.map((i) => i.message)).toEqual(['field code "UF_CRM_AS_PARTS_NOTE_X" is 22 characters; at most 20 are allowed']);
    expect(issues[0]).toMatchObject({ file: 'fields.yaml', path: ['fields', 12, 'code'] });
  });

  it('an unknown tier', () => {
    const issues = issuesAfter((c) => c.edit('pipelines/shop.yaml', 'tier: crm_plus', 'tier: gold'));
    expect(issues).toContainEqual(expect.objectContaining({
      file: 'pipelines/shop.yaml', path: ['tier'], message: 'unknown tier "gold" (declared: base, crm_plus)',
    }));
  });

  it('a YAML syntax error, with its line', () => {
    const issues = issuesAfter((c) => c.edit('leads.yaml', 'semantics: success', 'semantics: [success'));
    expect(issues[0].file).toBe('leads.yaml');
    expect(issues[0].line).toBeGreaterThan(1);
    expect(issues[0].message).toMatch(/^YAML: /);
  });

  it('an unknown key', () => {
    const issues = issuesAfter((c) => c.edit('pipelines/wash.yaml', 'sort: 300', 'sort: 300\ncolour: blue'));
    expect(issues).toEqual([expect.objectContaining({ file: 'pipelines/wash.yaml', path: ['colour'], message: 'unknown key "colour"' })]);
  });

  it('a missing file', () => {
    const issues = issuesAfter((c) => c.remove('cards.yaml'));
    expect(issues).toEqual([{ file: 'cards.yaml', path: [], message: 'file is missing' }]);
  });

  it('an enumeration without items', () => {
    const issues = issuesAfter((c) => c.edit('fields.yaml', / {4}items:\n {6}- \{ xmlId: express[^\n]*\n[^\n]*\n[^\n]*\n/, ''));
    expect(issues).toContainEqual(expect.objectContaining({ path: ['fields', 17, 'items'], message: 'an enumeration field needs items' }));
  });

  it('a placeholder that is not a field', () => {
    const issues = issuesAfter((c) => c.edit('automation.yaml', 'ru: "Новый лид: {TITLE}"', 'ru: "Новый лид: {TITEL}"'));
    expect(issues).toContainEqual(expect.objectContaining({ message: 'placeholder {TITEL} is not a lead field' }));
  });

  it('stages in the wrong order of semantics', () => {
    const issues = issuesAfter((c) => c.edit('pipelines/wash.yaml', /( {2}- code: WASHING\n[^\n]*\n {4}semantics: )process/, '$1failure'));
    expect(issues.map((i) => i.message)).toContain('a success stage cannot follow a failure stage (process, then success, then failure)');
  });

  it('two success stages', () => {
    const issues = issuesAfter((c) => c.edit('pipelines/shop.yaml', /( {2}- code: PAYMENT\n[^\n]*\n {4}semantics: )process/, '$1success'));
    expect(issues.map((i) => i.message)).toContain('exactly one success stage is needed (found 2)');
  });

  it('an unknown role', () => {
    const issues = issuesAfter((c) => c.edit('automation.yaml', 'to: [washer]', 'to: [cleaner]'));
    expect(issues.map((i) => i.message)).toContain('unknown role "cleaner" (known: responsible, supervisor, master, washer, lead_managers)');
  });

  it('a card showing a field its entity does not have', () => {
    const issues = issuesAfter((c) => c.edit('cards.yaml', 'fields: [UF_CRM_AS_FLEET]', 'fields: [UF_CRM_AS_FLEET, UF_CRM_AS_VIN]'));
    expect(issues).toContainEqual(expect.objectContaining({ file: 'cards.yaml', message: 'field "UF_CRM_AS_VIN" is not on companys' }));
  });

  it('a bad colour', () => {
    const issues = issuesAfter((c) => c.edit('leads.yaml', 'color: "#7BD500"', 'color: green'));
    expect(issues).toEqual([expect.objectContaining({ file: 'leads.yaml', path: ['statuses', 3, 'color'], message: 'a colour must look like #RRGGBB' })]);
  });

  it('a first pipeline stage that is not the system stage NEW', () => {
    const issues = issuesAfter((c) => c.edit('pipelines/wash.yaml', 'code: NEW', 'code: START'));
    expect(issues.map((i) => i.message)).toContain('the first stage must be the system stage NEW');
  });

  it('reports every mistake at once', () => {
    const issues = issuesAfter((c) => {
      c.edit('pipelines/wash.yaml', 'sort: 300', 'sort: 300\ncolour: blue');
      c.edit('leads.yaml', 'color: "#7BD500"', 'color: green');
    });
    expect(issues.map((i) => i.file).sort()).toEqual(['leads.yaml', 'pipelines/wash.yaml']);
  });
});
