// Portal snapshots as data, for the pure planner: a brand-new portal as the reference describes it, and a portal
// that already holds everything the template asks for (built from the template independently of the planner).
import type { CardSection, PortalSnapshot, StatusRow, UserFieldRow } from '../../src/portal/snapshot.js';
import type { Ledger } from '../../src/install/model.js';
import { loadTemplate } from '../../src/template/loader.js';
import type { Lang, Template } from '../../src/template/model.js';
import { filterByTier } from '../../src/template/tiers.js';

export const fullTemplate = loadTemplate();
export const crmPlus = filterByTier(fullTemplate, 'crm_plus');
export const base = filterByTier(fullTemplate, 'base');

let nextId = 100;
export function row(entityId: string, statusId: string, name: string, sort: number, extra: Partial<StatusRow> = {}): StatusRow {
  return { id: nextId++, entityId, statusId, name, sort, color: '#39A8EF', semantics: 'process', system: false, ...extra };
}

/** A new portal: the default lead statuses and deal pipeline, no user fields, cards never configured. */
export function freshSnapshot(): PortalSnapshot {
  return {
    statuses: [
      row('STATUS', 'NEW', 'Не обработан', 10, { system: true }),
      row('STATUS', 'IN_PROCESS', 'В работе', 20),
      row('STATUS', 'PROCESSED', 'Обработан', 30),
      row('STATUS', 'CONVERTED', 'Качественный лид', 40, { system: true, semantics: 'success', color: '#7BD500' }),
      row('STATUS', 'JUNK', 'Некачественный лид', 50, { system: true, semantics: 'failure', color: '#FF5752' }),
      row('DEAL_STAGE', 'NEW', 'Новая', 10, { system: true }),
      row('DEAL_STAGE', 'WON', 'Сделка успешна', 60, { system: true, semantics: 'success' }),
      row('DEAL_STAGE', 'LOSE', 'Сделка провалена', 70, { system: true, semantics: 'failure' }),
      row('SOURCE', 'CALL', 'Звонок', 10, { system: true }),
    ],
    categories: [{ id: 0, name: 'Общая', sort: 0, isDefault: true }],
    fields: { lead: [], deal: [], contact: [], company: [] },
    cards: { lead: null, contact: null, company: null },
    cardErrors: {},
    counts: { leads: { PROCESSED: 0 }, deals: {}, dealsByCategory: {} },
  };
}

/** The eight stages the portal gives a new deal pipeline. */
export function defaultStages(categoryId: number): StatusRow[] {
  const p = `C${categoryId}:`;
  const e = `DEAL_STAGE_${categoryId}`;
  return [
    row(e, `${p}NEW`, 'Новая', 10, { system: true }),
    row(e, `${p}PREPARATION`, 'Подготовка документов', 20),
    row(e, `${p}PREPAYMENT_INVOICE`.slice(0, 21), 'Счёт на предоплату', 30),
    row(e, `${p}EXECUTING`, 'В работе', 40),
    row(e, `${p}FINAL_INVOICE`, 'Финальный счёт', 50),
    row(e, `${p}WON`, 'Сделка успешна', 60, { system: true, semantics: 'success', color: '#7BD500' }),
    row(e, `${p}LOSE`, 'Сделка провалена', 70, { system: true, semantics: 'failure', color: '#FF5752' }),
    row(e, `${p}APOLOGY`, 'Анализ причины провала', 80, { semantics: 'failure', color: '#FF5752' }),
  ];
}

export function emptyLedger(): Ledger {
  return { version: 1, portal: { key: 'portal.test', origin: 'https://portal.test', mode: 'webhook' }, objects: {}, localAdditions: [] };
}

const section = (s: { name: string; title: Record<Lang, string>; fields: string[] }, lang: Lang): CardSection =>
  ({ name: s.name, title: s.title[lang], type: 'section', elements: s.fields.map((name) => ({ name, optionFlags: '1' })) });

/**
 * A portal that already holds `template` in `lang`, as the portal would show it after an install: pipelines with ids
 * 1, 2, 3…, stages at SORT 10, 20…, the fields with both labels, cards with the standard and the Autosalon sections.
 * The ledger records what Autosalon created.
 */
export function settledPortal(template: Template, lang: Lang = 'ru'): { snapshot: PortalSnapshot; ledger: Ledger } {
  const snapshot = freshSnapshot();
  const ledger = emptyLedger();
  snapshot.statuses = snapshot.statuses.filter((r) => r.entityId !== 'STATUS');
  template.leads.statuses.forEach((s, i) => {
    snapshot.statuses.push(row('STATUS', s.code, s.name[lang], (i + 1) * 10, {
      semantics: s.semantics, color: s.color, system: ['NEW', 'CONVERTED', 'JUNK'].includes(s.code),
    }));
  });
  ledger.objects['status:UC_CALLBACK'] = { created: true };
  template.pipelines.forEach((p, n) => {
    const id = n + 1;
    snapshot.categories.push({ id, name: p.name[lang], sort: p.sort, isDefault: false });
    ledger.objects[`category:${p.code}`] = { created: true, id };
    p.stages.forEach((s, i) => {
      snapshot.statuses.push(row(`DEAL_STAGE_${id}`, `C${id}:${s.code}`, s.name[lang], (i + 1) * 10, {
        semantics: s.semantics, color: s.color.toLowerCase(), system: ['NEW', 'WON', 'LOSE'].includes(s.code),
      }));
    });
    const card = template.cards.find((c) => c.entity === 'deal' && c.pipeline === p.code);
    snapshot.cards[`deal:${id}`] = [
      ...(template.baseSections.deal ?? []).map((s) => section(s, lang)),
      ...(card?.sections ?? []).map((s) => section(s, lang)),
    ];
  });
  for (const entity of ['lead', 'deal', 'contact', 'company'] as const) {
    snapshot.fields[entity] = template.fields.filter((f) => f.entities.includes(entity)).map((f): UserFieldRow => ({
      id: nextId++, entity, fieldName: f.code, userTypeId: f.type, multiple: f.multiple, mandatory: false, sort: f.sort ?? 100,
      settings: f.type === 'string' ? { ROWS: f.multiline ? 4 : 1, DEFAULT_VALUE: '' } : {},
      labels: { editForm: { ...f.label }, listColumn: { ...f.label }, listFilter: { ...f.label } },
      list: (f.items ?? []).map((item, i) => ({ id: nextId++, value: item.value[lang], xmlId: item.xmlId, sort: (i + 1) * 10, def: false })),
    }));
    if (entity !== 'deal') {
      const card = template.cards.find((c) => c.entity === entity);
      snapshot.cards[entity] = [
        ...(template.baseSections[entity] ?? []).map((s) => section(s, lang)),
        ...(card?.sections ?? []).map((s) => section(s, lang)),
      ];
    }
  }
  snapshot.counts.leads = {};
  return { snapshot, ledger };
}
