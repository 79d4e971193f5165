// What the template asks the portal to hold, in the shapes of the REST calls that write it. Pure.
import { createHash } from 'node:crypto';
import { encodeBpt, refusalProcess } from '../bpt/index.js';
import type { CardSection } from '../portal/snapshot.js';
import { tr } from '../i18n/index.js';
import type { CardSectionDef, CrmEntity, FieldDef, Lang, Template } from '../template/model.js';

type AppRobot = Template['app']['robots'][number];
type AppProcess = Template['app']['businessProcesses'][number];

/** Template positions become SORT 10, 20, 30…: Bitrix24's own spacing, which leaves room for support stages. */
export const SORT_STEP = 10;

/** The SORT of the template's `index`-th stage, status or list option (0-based). */
export function sortAt(index: number): number {
  return (index + 1) * SORT_STEP;
}

export const DOCUMENT_TYPES: Record<'lead' | 'deal', [string, string, string]> = {
  lead: ['crm', 'CCrmDocumentLead', 'LEAD'],
  deal: ['crm', 'CCrmDocumentDeal', 'DEAL'],
};

export function fingerprint(value: unknown): string {
  return createHash('sha256').update(JSON.stringify(value)).digest('hex').slice(0, 16);
}

/**
 * What Autosalon last wrote to an object, as the ledger keeps it (a fingerprint of the fields it manages): when the
 * portal still shows that state, a difference from the template is the template's own change; when it shows
 * something else, a person edited the object after Autosalon set it, and changing it back needs their consent.
 */
export const writtenState = {
  status: (s: { name: string; sort: number; color: string }) => fingerprint(['status', s.name, s.sort, s.color.trim().replace(/^#?/, '#').toUpperCase()]),
  category: (c: { name: string; sort: number }) => fingerprint(['category', c.name, c.sort]),
  field: (f: { labels: unknown; sort: number; rows?: number; items: { xmlId: string; value: string; sort: number }[] }) =>
    fingerprint(['field', f.labels, f.sort, f.rows ?? null, [...f.items].sort((a, b) => a.xmlId.localeCompare(b.xmlId))]),
  card: (sections: CardSection[]) => fingerprint(['card', sections.filter((s) => s.name.startsWith(SECTION_PREFIX)).map((s) => [s.name, s.title, s.elements.map((e) => e.name)])]),
};

/** Names are compared the way a person reads them: case, spacing and ё/е do not matter. */
export function sameName(a: string, b: string): boolean {
  const norm = (s: string) => s.trim().toLowerCase().replace(/ё/g, 'е').replace(/\s+/g, ' ');
  return norm(a) === norm(b);
}

export function sameColor(a: string, b: string): boolean {
  return a.trim().replace(/^#?/, '#').toUpperCase() === b.trim().replace(/^#?/, '#').toUpperCase();
}

// ---- user fields -------------------------------------------------------------------------------

/** Multi-line strings get a text area of this many rows; single-line ones Bitrix24's default of 1. */
export const MULTILINE_ROWS = 4;

export function fieldSort(field: FieldDef): number {
  return field.sort ?? 100;
}

export function fieldRows(field: FieldDef): number | undefined {
  return field.type === 'string' ? (field.multiline ? MULTILINE_ROWS : 1) : undefined;
}

export function enumItems(field: FieldDef, lang: Lang): { VALUE: string; XML_ID: string; SORT: number }[] {
  return (field.items ?? []).map((item, i) => ({ VALUE: item.value[lang], XML_ID: item.xmlId, SORT: sortAt(i) }));
}

export function fieldLabels(field: FieldDef): Record<'EDIT_FORM_LABEL' | 'LIST_COLUMN_LABEL' | 'LIST_FILTER_LABEL', { ru: string; en: string }> {
  const map = { ru: field.label.ru, en: field.label.en };
  return { EDIT_FORM_LABEL: map, LIST_COLUMN_LABEL: map, LIST_FILTER_LABEL: map };
}

export function fieldAddParams(field: FieldDef, lang: Lang): Record<string, unknown> {
  const fields: Record<string, unknown> = {
    FIELD_NAME: field.code,
    USER_TYPE_ID: field.type,
    XML_ID: field.code,
    // The default for languages the template has no label for.
    LABEL: field.label[lang],
    ...fieldLabels(field),
    SORT: fieldSort(field),
    MULTIPLE: field.multiple ? 'Y' : 'N',
    MANDATORY: 'N',
    SHOW_FILTER: 'Y',
  };
  const rows = fieldRows(field);
  if (rows && rows > 1) fields.SETTINGS = { ROWS: rows };
  if (field.type === 'enumeration') fields.LIST = enumItems(field, lang).map((i) => ({ ...i, DEF: 'N' }));
  return { fields };
}

export function userfieldMethod(entity: CrmEntity, verb: 'add' | 'update' | 'delete' | 'list'): string {
  return `crm.${entity}.userfield.${verb}`;
}

// ---- cards ---------------------------------------------------------------------------------------

export function cardSection(def: CardSectionDef, lang: Lang, alwaysShow: boolean): CardSection {
  return {
    name: def.name,
    title: def.title[lang],
    type: 'section',
    // The car and the job are what the staff fill in: the template's fields are shown even while empty.
    elements: def.fields.map((name) => (alwaysShow ? { name, optionFlags: 1 } : { name })),
  };
}

/** The product's sections are named as_*: that prefix is how a card's own sections are told from the portal's. */
export const SECTION_PREFIX = 'as_';

export function sameSection(a: CardSection, b: CardSection): boolean {
  return a.title === b.title && a.elements.length === b.elements.length && a.elements.every((e, i) => e.name === b.elements[i].name);
}

/**
 * A whole card to write (set() replaces everything): the portal's own sections kept as they are, the template's
 * sections added or refreshed, sections of ours the template no longer has removed. A card never configured
 * starts from the template's standard sections.
 */
export function mergeCard(
  current: CardSection[] | null,
  wanted: CardSection[],
  base: CardSection[],
): { data: CardSection[]; changes: string[] } {
  const t = tr();
  if (current === null) {
    return { data: [...base, ...wanted], changes: [t.detail.cardNeverConfigured(wanted.map((s) => t.quote(s.title)).join(', '))] };
  }
  const changes: string[] = [];
  const data: CardSection[] = [];
  for (const section of current) {
    if (!section.name.startsWith(SECTION_PREFIX)) {
      data.push(section);
      continue;
    }
    const w = wanted.find((s) => s.name === section.name);
    if (!w) {
      changes.push(t.detail.cardRemovesSection(section.title));
      continue;
    }
    if (!sameSection(section, w)) changes.push(t.detail.cardRefreshesSection(w.title));
    data.push(w);
  }
  for (const w of wanted) {
    if (!current.some((s) => s.name === w.name)) {
      changes.push(t.detail.cardAddsSection(w.title));
      data.push(w);
    }
  }
  return { data, changes };
}

// ---- application objects -----------------------------------------------------------------------

function robotProperties(props: AppRobot['properties']): Record<string, unknown> {
  return Object.fromEntries(Object.entries(props).map(([key, p]) => [
    key,
    { Name: { ru: p.name.ru, en: p.name.en }, Type: p.type, Required: p.required ? 'Y' : 'N', Multiple: 'N' },
  ]));
}

export function robotFields(robot: AppRobot, publicUrl: string): Record<string, unknown> {
  const fields: Record<string, unknown> = {
    HANDLER: `${publicUrl}${robot.handlerPath}`,
    NAME: { ru: robot.name.ru, en: robot.name.en },
    DESCRIPTION: { ru: robot.description.ru, en: robot.description.en },
    // A robot that returns values makes the workflow wait for bizproc.event.send.
    USE_SUBSCRIPTION: Object.keys(robot.returnProperties).length ? 'Y' : 'N',
    DOCUMENT_TYPE: DOCUMENT_TYPES[robot.documentTypes[0]],
    FILTER: { INCLUDE: robot.documentTypes.map((t) => DOCUMENT_TYPES[t].slice(0, 2)) },
  };
  if (Object.keys(robot.properties).length) fields.PROPERTIES = robotProperties(robot.properties);
  if (Object.keys(robot.returnProperties).length) fields.RETURN_PROPERTIES = robotProperties(robot.returnProperties);
  return fields;
}

/** The refusal reason field of the template's refusal rule. */
function refusalReasonField(template: Template): string {
  for (const rule of template.rules) {
    for (const action of rule.do) if ('refusal' in action) return action.refusal.reasonField;
  }
  return 'UF_CRM_AS_REFUSAL';
}

/** The .bpt of a business process of the template, base64, or why it cannot be built. */
export function businessProcessData(
  template: Template,
  bp: AppProcess,
  clientId: string,
  lang: Lang,
): { data: string } | { reason: string } {
  if (bp.code !== 'refusal') return { reason: tr().detail.bpNoGenerator(bp.code) };
  const pkg = refusalProcess({ clientId, robotCode: bp.robot, reasonField: refusalReasonField(template), lang });
  return { data: encodeBpt(pkg).toString('base64') };
}
