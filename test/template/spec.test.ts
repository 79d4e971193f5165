// The shipped template against ../shared/spec/autosalon.md: the expectations below are copied from the spec.
import { describe, expect, it } from 'vitest';
import { filterByTier, loadTemplate } from '../../src/template/index.js';

const template = loadTemplate();

describe('lead statuses (spec section 3)', () => {
  it('are the five statuses in order, with semantics and both labels', () => {
    expect(template.leads.statuses.map((s) => [s.code, s.name.ru, s.name.en, s.semantics])).toEqual([
      ['NEW', 'Новое обращение', 'New inquiry', 'process'],
      ['IN_PROCESS', 'Обработка лида', 'Processing', 'process'],
      ['UC_CALLBACK', 'Уточняющий звонок', 'Clarifying call', 'process'],
      ['CONVERTED', 'Качественный лид', 'Qualified lead', 'success'],
      ['JUNK', 'Некачественный лид', 'Junk lead', 'failure'],
    ]);
    expect(template.leads.remove).toEqual(['PROCESSED']);
    expect(template.leads.tier).toBe('base');
  });
});

describe('deal pipelines (spec section 4)', () => {
  const stages = (code: string) => {
    const p = template.pipelines.find((x) => x.code === code)!;
    return { tier: p.tier, name: p.name, stages: p.stages.map((s) => [s.name.ru, s.name.en, s.semantics]) };
  };

  it('Repair is base, with its eight stages in order', () => {
    expect(stages('repair')).toEqual({
      tier: 'base',
      name: { ru: 'Ремонт авто', en: 'Car repair' },
      stages: [
        ['Получение полной информации', 'Full information', 'process'],
        ['Анализ авто', 'Car inspection', 'process'],
        ['Ожидание запасных частей', 'Waiting for parts', 'process'],
        ['Авто в ремонте', 'Car in repair', 'process'],
        ['Расчет', 'Payment', 'process'],
        ['Сделка успешна', 'Deal won', 'success'],
        ['Клиент передумал', 'Customer changed mind', 'failure'],
        ['Другое', 'Other', 'failure'],
      ],
    });
  });

  it('Shop is crm_plus, with its seven stages in order', () => {
    expect(stages('shop')).toEqual({
      tier: 'crm_plus',
      name: { ru: 'Магазин', en: 'Parts shop' },
      stages: [
        ['Получение полной информации', 'Full information', 'process'],
        ['Сборка заказа', 'Order assembly', 'process'],
        ['Расчет', 'Payment', 'process'],
        ['Сделка успешна', 'Deal won', 'success'],
        ['Долго ждать заказ деталей', 'Parts take too long', 'failure'],
        ['Клиент пропал', 'Customer vanished', 'failure'],
        ['Другое', 'Other', 'failure'],
      ],
    });
  });

  it('Wash is crm_plus, with its five stages in order', () => {
    expect(stages('wash')).toEqual({
      tier: 'crm_plus',
      name: { ru: 'Мойка', en: 'Car wash' },
      stages: [
        ['Получение полной информации', 'Full information', 'process'],
        ['Ожидание мойки / мойка', 'Waiting for wash / washing', 'process'],
        ['Сделка успешна', 'Deal won', 'success'],
        ['Клиент не приехал', 'Customer did not come', 'failure'],
        ['Другое', 'Other', 'failure'],
      ],
    });
  });
});

describe('fields (spec sections 3 and 4)', () => {
  const spec: [string, string, string[]][] = [
    ['UF_CRM_AS_DIRECTION', 'enumeration', ['lead']],
    ['UF_CRM_AS_CAR_MAKE', 'string', ['lead', 'deal', 'contact']],
    ['UF_CRM_AS_CAR_MODEL', 'string', ['lead', 'deal', 'contact']],
    ['UF_CRM_AS_CAR_YEAR', 'integer', ['lead', 'deal']],
    ['UF_CRM_AS_VIN', 'string', ['lead', 'deal']],
    ['UF_CRM_AS_PLATE', 'string', ['lead', 'deal', 'contact']],
    ['UF_CRM_AS_MILEAGE', 'integer', ['lead', 'deal']],
    ['UF_CRM_AS_NEED', 'string', ['lead']],
    ['UF_CRM_AS_VISIT_AT', 'datetime', ['lead']],
    ['UF_CRM_AS_WORK_START', 'date', ['deal']],
    ['UF_CRM_AS_WORK_END', 'date', ['deal']],
    ['UF_CRM_AS_MASTER', 'employee', ['deal']],
    ['UF_CRM_AS_PARTS_NOTE', 'string', ['deal']],
    ['UF_CRM_AS_ORDER', 'string', ['deal']],
    ['UF_CRM_AS_PARTS_ETA', 'date', ['deal']],
    ['UF_CRM_AS_WASH_AT', 'datetime', ['deal']],
    ['UF_CRM_AS_WASHER', 'employee', ['deal']],
    ['UF_CRM_AS_WASH_TYPE', 'enumeration', ['deal']],
    ['UF_CRM_AS_REFUSAL', 'string', ['deal']],
    ['UF_CRM_AS_RECALL_ON', 'date', ['deal']],
    ['UF_CRM_AS_FLEET', 'integer', ['company']],
  ];

  it('has every field of the spec with its type and entities, and no other', () => {
    const actual = template.fields.map((f) => [f.code, f.type, [...f.entities].sort()]);
    expect(actual.sort()).toEqual(spec.map(([c, t, e]) => [c, t, [...e].sort()]).sort());
  });

  it('keeps every FIELD_NAME within 20 characters', () => {
    for (const f of template.fields) expect(f.code.length, f.code).toBeLessThanOrEqual(20);
  });

  it('gives the enumerations their items and XML_IDs', () => {
    const items = (code: string) => template.fields.find((f) => f.code === code)!.items!.map((i) => [i.xmlId, i.value.ru]);
    expect(items('UF_CRM_AS_DIRECTION')).toEqual([['repair', 'Ремонт авто'], ['shop', 'Магазин'], ['wash', 'Мойка']]);
    expect(items('UF_CRM_AS_WASH_TYPE').map(([, ru]) => ru)).toEqual(['Экспресс', 'Комплекс', 'Химчистка']);
  });

  it('marks the multi-line strings', () => {
    const multiline = template.fields.filter((f) => f.multiline).map((f) => f.code).sort();
    expect(multiline).toEqual(['UF_CRM_AS_NEED', 'UF_CRM_AS_ORDER', 'UF_CRM_AS_PARTS_NOTE', 'UF_CRM_AS_REFUSAL']);
  });
});

describe('cards', () => {
  it('gives every entity a card, and a deal card to each pipeline with a car section', () => {
    const keys = template.cards.map((c) => `${c.entity}${c.pipeline ? `/${c.pipeline}` : ''}`).sort();
    expect(keys).toEqual(['company', 'contact', 'deal/repair', 'deal/shop', 'deal/wash', 'lead']);
    for (const c of template.cards.filter((x) => x.entity !== 'company')) {
      expect(c.sections.map((s) => s.title.ru)).toContain('Автомобиль');
    }
  });
});

describe('tiers (spec section 2)', () => {
  it('base = lead statuses, Repair, every field, the base cards and no automation', () => {
    const base = filterByTier(template, 'base');
    expect(base.leads.statuses).toHaveLength(5);
    expect(base.pipelines.map((p) => p.code)).toEqual(['repair']);
    expect(base.fields).toHaveLength(template.fields.length);
    expect(base.cards.map((c) => c.pipeline ?? c.entity).sort()).toEqual(['company', 'contact', 'lead', 'repair']);
    expect(base.rules).toEqual([]);
    expect(base.app.robots).toEqual([]);
    expect(base.app.triggers).toEqual([]);
    expect(base.app.events).toEqual([]);
    expect(base.app.businessProcesses).toEqual([]);
  });

  it('crm_plus = everything', () => {
    const plus = filterByTier(template, 'crm_plus');
    expect(plus.pipelines.map((p) => p.code)).toEqual(['repair', 'shop', 'wash']);
    expect(plus.cards).toHaveLength(template.cards.length);
    expect(plus.rules).toHaveLength(template.rules.length);
    expect(plus.app.robots.map((r) => r.code)).toContain('autosalon_refusal');
    expect(plus.app.businessProcesses.map((b) => b.code)).toEqual(['refusal']);
  });

  it('puts the automation of spec sections 3 to 6 in crm_plus', () => {
    const plus = filterByTier(template, 'crm_plus');
    const actions = plus.rules.flatMap((r) => r.do.map((a) => Object.keys(a)[0]));
    for (const kind of ['notify', 'createTask', 'requireFields', 'setStage', 'convert', 'refusal']) expect(actions).toContain(kind);
    const delayed = plus.rules.filter((r) => r.when.on === 'create' && r.when.after).map((r) => r.when.on === 'create' && r.when.after);
    expect(delayed.sort()).toEqual(['1h', '2h']);
  });
});
