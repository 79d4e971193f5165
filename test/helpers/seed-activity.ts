// A month's work on an installed Autosalon portal, for the analytics: leads from several sources handled after
// different delays, deals moved through the Repair and Shop pipelines, won and refused with reasons. Done as users
// would (REST with the admin's webhook), with the portal's clock moved between steps; the automation runs in between.
type Row = Record<string, unknown>;

export interface SeedTarget {
  call<T = unknown>(method: string, params?: Row): Promise<T>;
  /** Lets the automation catch up (deliveries made, due jobs run). */
  settle(): Promise<void>;
  /** Moves the portal's clock (and the service's) forward. */
  advance(ms: number): Promise<void>;
}

export const MANAGER = 3;
const MINUTE = 60_000;

export interface Seeded {
  leads: number[];
  deals: Record<string, number>;
  categories: Record<string, number>;
}

export async function seedActivity(t: SeedTarget): Promise<Seeded> {
  const { categories: list } = await t.call<{ categories: Row[] }>('crm.category.list', { entityTypeId: 2 });
  const categories = Object.fromEntries([['repair', 'Ремонт авто'], ['shop', 'Магазин'], ['wash', 'Мойка']]
    .map(([code, name]) => [code, Number(list.find((c) => c.name === name)?.id)]));

  const lead = async (title: string, source: string) => {
    const id = Number(await t.call('crm.lead.add', { fields: { TITLE: title, SOURCE_ID: source, ASSIGNED_BY_ID: MANAGER } }));
    await t.settle();
    return id;
  };
  const moveLead = async (id: number, status: string) => {
    await t.call('crm.lead.update', { id, fields: { STATUS_ID: status } });
    await t.settle();
  };
  const wait = async (minutes: number) => {
    await t.advance(minutes * MINUTE);
    await t.settle();
  };

  // Leads: reactions after 10 min, 40 min, 90 min and 5 min; one never handled.
  const l1 = await lead('Замена колодок', 'WEB');
  const l2 = await lead('Звонок про шиномонтаж', 'CALL');
  const l3 = await lead('Заявка с сайта на ТО', 'WEB');
  const l4 = await lead('Друг посоветовал', 'RECOMMENDATION');
  const l5 = await lead('Реклама на радио', 'ADVERTISING');
  await wait(5);
  await moveLead(l5, 'IN_PROCESS');
  await wait(5);
  await moveLead(l1, 'IN_PROCESS');
  await wait(30);
  await moveLead(l2, 'IN_PROCESS');
  await wait(50);
  await moveLead(l3, 'UC_CALLBACK');
  await wait(10);
  await moveLead(l2, 'JUNK');

  // Deals: Repair — one through every stage to won, two refused (at different stages), one still in repair; Shop —
  // one won, one refused.
  const contact = async (name: string, lastName: string) =>
    Number(await t.call('crm.contact.add', { fields: { NAME: name, LAST_NAME: lastName, ASSIGNED_BY_ID: MANAGER } }));
  const clients = [await contact('Пётр', 'Иванов'), await contact('Анна', 'Смирнова'), await contact('Олег', 'Сидоров')];
  let next = 0;
  const deal = async (pipeline: string, title: string) => {
    const id = Number(await t.call('crm.deal.add', { fields: { TITLE: title, CATEGORY_ID: categories[pipeline], ASSIGNED_BY_ID: MANAGER, CONTACT_ID: clients[next++ % clients.length] } }));
    await t.settle();
    return id;
  };
  const moveDeal = async (pipeline: string, id: number, stage: string, extra: Row = {}) => {
    await t.call('crm.deal.update', { id, fields: { STAGE_ID: `C${categories[pipeline]}:${stage}`, ...extra } });
    await t.settle();
  };
  const d1 = await deal('repair', 'Ремонт подвески');
  const d2 = await deal('repair', 'Диагностика двигателя');
  const d3 = await deal('repair', 'Кузовной ремонт');
  const d4 = await deal('repair', 'Замена ремня ГРМ');
  const s1 = await deal('shop', 'Комплект фильтров');
  const s2 = await deal('shop', 'Зимние шины');
  await wait(60);
  await moveDeal('repair', d1, 'INSPECTION');
  await moveDeal('repair', d2, 'INSPECTION');
  await moveDeal('repair', d3, 'INSPECTION');
  await moveDeal('repair', d4, 'LOSE', { UF_CRM_AS_REFUSAL: 'Нашёл дешевле' });
  await moveDeal('shop', s1, 'ASSEMBLY');
  await wait(120);
  await moveDeal('repair', d1, 'WAIT_PARTS');
  await moveDeal('repair', d2, 'LOSE', { UF_CRM_AS_REFUSAL: 'Дорого' });
  await moveDeal('repair', d3, 'IN_REPAIR');
  await moveDeal('shop', s1, 'PAYMENT');
  await moveDeal('shop', s2, 'LOSE', { UF_CRM_AS_REFUSAL: 'Дорого' });
  await wait(180);
  await moveDeal('repair', d1, 'IN_REPAIR');
  await moveDeal('shop', s1, 'WON');
  await wait(60);
  await moveDeal('repair', d1, 'PAYMENT');
  await wait(30);
  await moveDeal('repair', d1, 'WON');
  return { leads: [l1, l2, l3, l4, l5], deals: { d1, d2, d3, d4, s1, s2 }, categories };
}
