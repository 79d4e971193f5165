// The automation service end to end, against the emulated portal: the application installed through the
// emulator's control API, the template installed by the service in app mode, CRM changes made as a user would
// (the admin's webhook), events delivered by the emulator, the clock moved instead of waited for — on SQLite and on
// PostgreSQL.
import qs from 'qs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PortalState } from '../../src/install/index.js';
import { recallList } from '../../src/service/recalls.js';
import { BACKENDS } from '../helpers/stores.js';
import { startStack, type Stack } from '../service/harness.js';

const HOUR = 3_600_000;
const MANAGER = 3; // Алексей Кузнецов, sales department (head: user 2)
const SALES_HEAD = 2;
const MASTER = 4;
const DIRECTOR = 1; // the configured fallback supervisor and lead manager

type Row = Record<string, unknown>;

let s: Stack;
const categories: Record<string, number> = {};

async function call<T = unknown>(method: string, params: Row = {}): Promise<T> {
  return (await s.user.call<T>(method, params)).result;
}

const notifications = () => s.emulator.control.collection('notifications');
const notificationsTo = (user: number, text: string | RegExp) =>
  notifications().filter((n) => n.userId === user && (typeof text === 'string' ? n.message.includes(text) : text.test(n.message)));
const activitiesOf = (ownerType: number, ownerId: number) =>
  s.emulator.control.collection('activities').filter((a) => a.OWNER_TYPE_ID === ownerType && a.OWNER_ID === ownerId);
const workflowsOf = (dealId: number) =>
  s.emulator.control.collection('workflows').filter((w) => w.documentId.join('/') === `crm/CCrmDocumentDeal/DEAL_${dealId}`);
const reasonAsked = (title: string) => notificationsTo(MANAGER, new RegExp(`«${title}» на стадии .*заполните «Причина отказа»`));
const reasonTodos = (dealId: number) => activitiesOf(2, dealId).filter((a) => a.SUBJECT === 'Заполните: Причина отказа');
const tasksOf = (binding: string) =>
  s.emulator.control.collection('tasks').filter((t) => (t.fields.UF_CRM_TASK as string[] | undefined)?.includes(binding));

async function addLead(fields: Row): Promise<number> {
  const id = await call<number>('crm.lead.add', { fields: { ASSIGNED_BY_ID: MANAGER, ...fields } });
  await s.settle();
  return Number(id);
}

async function addDeal(pipeline: string, fields: Row = {}): Promise<number> {
  const id = await call<number>('crm.deal.add', { fields: { CATEGORY_ID: categories[pipeline], ASSIGNED_BY_ID: MANAGER, ...fields } });
  await s.settle();
  return Number(id);
}

async function move(entity: 'lead' | 'deal', id: number, stage: string, extra: Row = {}): Promise<void> {
  const deal = entity === 'deal' ? await call<Row>('crm.deal.get', { id }) : undefined;
  const fields = entity === 'lead' ? { STATUS_ID: stage } : { STAGE_ID: `C${String(deal?.CATEGORY_ID)}:${stage}` };
  await call(`crm.${entity}.update`, { id, fields: { ...fields, ...extra } });
  await s.settle();
}

async function enumId(field: string, xmlId: string): Promise<string> {
  const [uf] = await call<Row[]>('crm.lead.userfield.list', { filter: { FIELD_NAME: field } });
  const item = (uf.LIST as Row[]).find((i) => i.XML_ID === xmlId);
  return String(item?.ID);
}

// Every scenario on both backends of the service's state: an SQLite file, and a PostgreSQL database.
describe.each(BACKENDS)('the service on %s', (backend) => {
  beforeAll(async () => {
    s = await startStack({ backend, config: { automation: { leadManagerIds: [DIRECTOR] } } });
    const { categories: list } = await call<{ categories: Row[] }>('crm.category.list', { entityTypeId: 2 });
    for (const [code, name] of [['repair', 'Ремонт авто'], ['shop', 'Магазин'], ['wash', 'Мойка']]) {
      categories[code] = Number(list.find((c) => c.name === name)?.id);
    }
  }, 120_000);

  afterAll(() => s?.close());

  describe('the app install', () => {
    it('stored the portal with the tier of its plan and installed the whole template in app mode', async () => {
      const [portal] = await s.service.store.listPortals();
      expect(portal).toMatchObject({ memberId: s.emulator.memberId, tier: 'crm_plus', plan: 'pro', installState: 'installed' });
      expect(Object.values(categories).every((id) => id > 0)).toBe(true);
      const bindings = await s.emulator.control.collection('eventBindings');
      const handlers = new Set(bindings.map((b) => `${b.event} ${b.handler}`));
      for (const event of ['ONCRMLEADADD', 'ONCRMLEADUPDATE', 'ONCRMDEALADD', 'ONCRMDEALUPDATE', 'ONAPPUNINSTALL']) {
        expect(handlers.has(`${event} ${s.service.publicUrl}/events`)).toBe(true);
      }
    });
  });

  describe('leads', () => {
    it('a web-form lead: notification now, convert reminder at +1 h, supervisor at +2 h while still new', async () => {
      const id = await addLead({ TITLE: 'Заявка с сайта: замена масла', SOURCE_ID: 'WEB', STATUS_ID: 'IN_PROCESS' });
      const lead = await call<Row>('crm.lead.get', { id });
      expect(lead.STATUS_ID).toBe('NEW');
      expect(notificationsTo(MANAGER, 'Новый лид: Заявка с сайта: замена масла')).toHaveLength(1);
      expect(notificationsTo(DIRECTOR, 'Новый лид: Заявка с сайта: замена масла')).toHaveLength(1);

      await s.advance(HOUR - 60_000);
      await s.settle();
      expect(notificationsTo(MANAGER, /«Заявка с сайта: замена масла» создан час назад/)).toHaveLength(0);
      await s.advance(60_000);
      await s.settle();
      expect(notificationsTo(MANAGER, /«Заявка с сайта: замена масла» создан час назад/)).toHaveLength(1);
      expect(notificationsTo(SALES_HEAD, `№${id}`)).toHaveLength(0);

      await s.advance(HOUR);
      await s.settle();
      expect(notificationsTo(SALES_HEAD, `Лид «Заявка с сайта: замена масла» (№${id}) не обработан уже 2 часа.`)).toHaveLength(1);
      expect(notificationsTo(MANAGER, /создан час назад/).filter((n) => n.message.includes('замена масла'))).toHaveLength(1);
    });

    it('an inbound lead executes the app trigger once (an admin may have placed it on a status); other leads do not', async () => {
      const fired = (id: number) => s.emulator.control.collection('triggersFired').filter((t) => t.ownerTypeId === 1 && t.ownerId === id);
      s.emulator.control.setEventFaults({ duplicateNext: 1 });
      const inbound = await addLead({ TITLE: 'Звонок: запись на ТО', SOURCE_ID: 'CALL' });
      await call('crm.lead.update', { id: inbound, fields: { TITLE: 'Звонок: запись на ТО (уточнено)' } });
      await s.settle();
      expect(fired(inbound)).toMatchObject([{ code: 'autosalon_inbound', clientId: s.app.clientId }]);
      const walkIn = await addLead({ TITLE: 'Пришёл сам', SOURCE_ID: 'OTHER' });
      expect(fired(walkIn)).toHaveLength(0);

      // A trigger removed from the portal by hand: the lead's automation still runs, and the job does not fail.
      const registered = s.emulator.portal.state.triggers;
      s.emulator.portal.state.triggers = [];
      try {
        const unregistered = await addLead({ TITLE: 'Форма: без триггера', SOURCE_ID: 'WEBFORM' });
        expect(fired(unregistered)).toHaveLength(0);
        expect(notificationsTo(MANAGER, 'Новый лид: Форма: без триггера')).toHaveLength(1);
        expect(await s.service.store.listJobs({ status: 'failed' })).toEqual([]);
      } finally {
        s.emulator.portal.state.triggers = registered;
      }
    });

    it('a lead converted before the hour gets no reminder, and one in process gets no supervisor message', async () => {
      const converted = await addLead({ TITLE: 'Звонок: шиномонтаж', SOURCE_ID: 'CALL' });
      const working = await addLead({ TITLE: 'Звонок: диагностика', SOURCE_ID: 'CALL' });
      await move('lead', converted, 'CONVERTED');
      await move('lead', working, 'IN_PROCESS', { UF_CRM_AS_DIRECTION: await enumId('UF_CRM_AS_DIRECTION', 'repair') });
      await s.advance(2 * HOUR);
      await s.settle();
      expect(notificationsTo(MANAGER, 'Звонок: шиномонтаж').filter((n) => /Лид|лид/.test(n.message)).map((n) => n.message)).toEqual(['Новый лид: Звонок: шиномонтаж']);
      expect(notificationsTo(MANAGER, /«Звонок: диагностика» создан час назад/)).toHaveLength(1);
      expect(notificationsTo(SALES_HEAD, 'Звонок: диагностика')).toHaveLength(0);
    });

    it('the clarifying call creates the call-back task bound to the lead, due in 2 hours', async () => {
      const id = await addLead({ TITLE: 'Уточнить запись', SOURCE_ID: 'WEB' });
      await move('lead', id, 'UC_CALLBACK');
      const tasks = tasksOf(`L_${id}`);
      expect(tasks).toHaveLength(1);
      expect(tasks[0].fields).toMatchObject({ TITLE: 'Обратный звонок', RESPONSIBLE_ID: MANAGER });
      const deadline = tasks[0].fields.DEADLINE;
      expect(typeof deadline === 'number' ? deadline : Date.parse(String(deadline))).toBe(s.now() + 2 * HOUR);
    });

    it('processing without the line of business: a notification and a to-do naming the field', async () => {
      const id = await addLead({ TITLE: 'Без направления', SOURCE_ID: 'WEB' });
      await move('lead', id, 'IN_PROCESS');
      expect(notificationsTo(MANAGER, /«Без направления» на стадии «Обработка лида»: заполните «Направление»/)).toHaveLength(1);
      expect(activitiesOf(1, id).map((a) => a.SUBJECT)).toEqual(['Заполните: Направление']);
    });

    it('a qualified car-wash lead becomes a contact and a deal in the Wash pipeline with the car fields', async () => {
      const id = await addLead({
        TITLE: 'Мойка кроссовера', SOURCE_ID: 'WEB', NAME: 'Пётр', LAST_NAME: 'Сидоров', PHONE: [{ VALUE: '+79001112233', VALUE_TYPE: 'MOBILE' }],
        UF_CRM_AS_DIRECTION: await enumId('UF_CRM_AS_DIRECTION', 'wash'), UF_CRM_AS_CAR_MAKE: 'Kia', UF_CRM_AS_CAR_MODEL: 'Sportage',
        UF_CRM_AS_PLATE: 'А123ВС77', UF_CRM_AS_CAR_YEAR: 2019, UF_CRM_AS_NEED: 'Комплексная мойка и химчистка салона',
      });
      await move('lead', id, 'CONVERTED');
      const deals = await call<Row[]>('crm.deal.list', { filter: { LEAD_ID: id }, select: ['*', 'UF_*'] });
      expect(deals).toHaveLength(1);
      expect(deals[0]).toMatchObject({
        CATEGORY_ID: String(categories.wash), TITLE: 'Мойка кроссовера', ASSIGNED_BY_ID: String(MANAGER),
        UF_CRM_AS_CAR_MAKE: 'Kia', UF_CRM_AS_CAR_MODEL: 'Sportage', UF_CRM_AS_PLATE: 'А123ВС77',
      });
      expect(String(deals[0].COMMENTS)).toContain('Комплексная мойка и химчистка салона');
      const contacts = await call<Row[]>('crm.contact.list', { filter: { LEAD_ID: id }, select: ['*', 'UF_*', 'PHONE'] });
      expect(contacts).toHaveLength(1);
      expect(contacts[0]).toMatchObject({ NAME: 'Пётр', LAST_NAME: 'Сидоров', UF_CRM_AS_CAR_MAKE: 'Kia', UF_CRM_AS_PLATE: 'А123ВС77' });
      expect(String(deals[0].CONTACT_ID)).toBe(String(contacts[0].ID));
      // The new deal starts its own automation: the information task of the first stage.
      expect(tasksOf(`D_${String(deals[0].ID)}`).map((t) => t.fields.TITLE)).toEqual(['Получить полную информацию']);
      // The conversion event delivered again changes nothing.
      await move('lead', id, 'CONVERTED');
      expect(await call<Row[]>('crm.deal.list', { filter: { LEAD_ID: id } })).toHaveLength(1);
    });

    it('a lead the user converted in the UI gets nothing created twice', async () => {
      const id = await addLead({ TITLE: 'Ремонт подвески', SOURCE_ID: 'CALL', NAME: 'Анна', PHONE: [{ VALUE: '+79005556677', VALUE_TYPE: 'WORK' }] });
      await s.emulator.control.convertLead(id, { categoryId: categories.repair });
      await s.settle();
      expect(await call<Row[]>('crm.deal.list', { filter: { LEAD_ID: id } })).toHaveLength(1);
      expect(await call<Row[]>('crm.contact.list', { filter: { LEAD_ID: id } })).toHaveLength(1);
    });

    it('a wrong VIN is reported once to the responsible user', async () => {
      const id = await addLead({ TITLE: 'VIN', SOURCE_ID: 'WEB', UF_CRM_AS_VIN: 'WVWZZZ1JZXW00000O' });
      expect(notificationsTo(MANAGER, /VIN «WVWZZZ1JZXW00000O» похож на ошибку/)).toHaveLength(1);
      await call('crm.lead.update', { id, fields: { TITLE: 'VIN (уточнён)' } });
      await s.settle();
      expect(notificationsTo(MANAGER, /VIN «WVWZZZ1JZXW00000O»/)).toHaveLength(1);
      await call('crm.lead.update', { id, fields: { UF_CRM_AS_VIN: 'WVWZZZ1JZXW000001' } });
      await s.settle();
      expect(notificationsTo(MANAGER, /VIN «WVWZZZ1JZXW000001»/)).toHaveLength(0);
    });
  });

  describe('deals', () => {
    it('a repair deal through its stages: the master is told at inspection and at repair only', async () => {
      const id = await addDeal('repair', { TITLE: 'Стук в подвеске', UF_CRM_AS_MASTER: MASTER, UF_CRM_AS_CAR_MAKE: 'Lada', UF_CRM_AS_CAR_MODEL: 'Vesta', UF_CRM_AS_PLATE: 'В777ОР99' });
      expect(tasksOf(`D_${id}`).map((t) => t.fields.TITLE)).toEqual(['Получить полную информацию']);
      expect(notificationsTo(MANAGER, 'По сделке «Стук в подвеске» поставлена задача «Получить полную информацию».')).toHaveLength(1);
      await move('deal', id, 'INSPECTION');
      expect(notificationsTo(MASTER, 'Сделка «Стук в подвеске»: проведите анализ автомобиля Lada Vesta, госномер В777ОР99.')).toHaveLength(1);
      await move('deal', id, 'WAIT_PARTS', { UF_CRM_AS_PARTS_NOTE: 'Амортизаторы, 3 дня' });
      await move('deal', id, 'IN_REPAIR', { UF_CRM_AS_WORK_START: '2027-01-18' });
      await move('deal', id, 'PAYMENT', { UF_CRM_AS_WORK_END: '2027-01-20' });
      await move('deal', id, 'WON');
      const toMaster = notificationsTo(MASTER, 'Стук в подвеске').map((n) => n.message);
      expect(toMaster).toEqual([
        'Сделка «Стук в подвеске»: проведите анализ автомобиля Lada Vesta, госномер В777ОР99.',
        'Сделка «Стук в подвеске»: приступайте к ремонту Lada Vesta, госномер В777ОР99.',
      ]);
      expect(notificationsTo(MANAGER, 'Сделка «Стук в подвеске»: получите с клиента оплату.')).toHaveLength(1);
      expect(notificationsTo(MANAGER, /заполните/).filter((n) => n.message.includes('Стук в подвеске'))).toHaveLength(0);
    });

    it('a deal moved to another pipeline (ONCRMDEALMOVETOCATEGORY) gets the automation of its new first stage', async () => {
      const id = await addDeal('repair', { TITLE: 'Переезд в мойку' });
      s.emulator.control.moveDeal(id, categories.wash);
      await s.settle();
      expect(tasksOf(`D_${id}`).map((t) => t.fields.TITLE)).toEqual(['Получить полную информацию', 'Получить полную информацию']);
    });

    it('a change made by automation (an event without user tokens) runs the rules too', async () => {
      const id = await addDeal('repair', { TITLE: 'Робот портала', UF_CRM_AS_MASTER: MASTER });
      s.emulator.control.updateRecord('deal', id, { STAGE_ID: `C${categories.repair}:INSPECTION` }, { userId: null });
      await s.settle();
      const delivery = s.emulator.control.deliveries({ event: 'ONCRMDEALUPDATE' }).at(-1);
      expect((delivery?.payload.auth as Row).access_token).toBeUndefined();
      expect(notificationsTo(MASTER, 'Сделка «Робот портала»: проведите анализ')).toHaveLength(1);
    });

    it('a stage entered with its required fields empty: a notification and a to-do naming them', async () => {
      const id = await addDeal('wash', { TITLE: 'Мойка без мойщика' });
      await move('deal', id, 'WASHING');
      expect(notificationsTo(MANAGER, 'Сделка «Мойка без мойщика» на стадии «Ожидание мойки / мойка»: заполните «Мойщик», «Время мойки».')).toHaveLength(1);
      expect(activitiesOf(2, id).map((a) => a.SUBJECT)).toEqual(['Заполните: Мойщик, Время мойки']);
    });
  });

  describe('to-dos for required fields', () => {
    it('a to-do naming required fields is marked done once a later change fills all of them, not before', async () => {
      const id = await addDeal('wash', { TITLE: 'Мойщик найдётся' });
      await move('deal', id, 'WASHING');
      const todo = () => activitiesOf(2, id).find((a) => a.SUBJECT === 'Заполните: Мойщик, Время мойки');
      expect(todo()?.COMPLETED).toBe('N');
      await call('crm.deal.update', { id, fields: { UF_CRM_AS_WASHER: MASTER } });
      await s.settle();
      expect(todo()?.COMPLETED).toBe('N');
      s.emulator.control.resetStats();
      await call('crm.deal.update', { id, fields: { UF_CRM_AS_WASH_AT: '2027-01-20T12:00:00+03:00' } });
      await s.settle();
      expect(todo()?.COMPLETED).toBe('Y');
      await call('crm.deal.update', { id, fields: { TITLE: 'Мойщик нашёлся' } });
      await s.settle();
      expect(s.emulator.control.stats().calls['crm.activity.update']).toBe(1);
    });
  });

  describe('refusals and re-calls', () => {
    it('refused on 15 January → re-call on 1 February 10:00 local; on 16 January → 15 February', async () => {
      const first = await addDeal('repair', { TITLE: 'Отказ 15-го' });
      await s.advance(Date.parse('2027-01-15T18:30:00+03:00') - s.now());
      await move('deal', first, 'LOSE');
      const [recall] = activitiesOf(2, first).filter((a) => a.SUBJECT === 'Повторный звонок клиенту');
      expect(recall.DEADLINE).toBe(Date.parse('2027-02-01T10:00:00+03:00'));
      expect(recall.RESPONSIBLE_ID).toBe(MANAGER);
      expect(recall.DESCRIPTION).toContain('Причина отказа: не указана');
      expect(recall.DESCRIPTION).toContain('небольшую скидку');
      expect((await call<Row>('crm.deal.get', { id: first })).UF_CRM_AS_RECALL_ON).toMatch(/^2027-02-01/);
      // The reason is empty and the portal runs business processes: the refusal process asks for it, nothing else does.
      const [bp] = s.emulator.control.collection('workflowTemplates');
      expect(workflowsOf(first)).toMatchObject([{ templateId: bp.ID }]);
      expect(reasonAsked('Отказ 15-го')).toHaveLength(0);
      expect(reasonTodos(first)).toHaveLength(0);

      // 23:30 in Moscow on the 15th is still the 15th; an hour later it is the 16th.
      await s.advance(Date.parse('2027-01-16T00:10:00+03:00') - s.now());
      const second = await addDeal('shop', { TITLE: 'Отказ 16-го' });
      await move('deal', second, 'VANISHED', { UF_CRM_AS_REFUSAL: 'Нашёл дешевле' });
      const [recall2] = activitiesOf(2, second).filter((a) => a.SUBJECT === 'Повторный звонок клиенту');
      expect(recall2.DEADLINE).toBe(Date.parse('2027-02-15T10:00:00+03:00'));
      expect(recall2.DESCRIPTION).toContain('Причина отказа: Нашёл дешевле');
      expect(notificationsTo(MANAGER, /«Отказ 16-го».*заполните/)).toHaveLength(0);
      // A refusal with its reason given needs no process.
      expect(workflowsOf(second)).toHaveLength(0);

      const feb1 = await recallList(s.service.store, { date: '2027-02-01' });
      expect(feb1.filter((e) => e.dealId === String(first))).toMatchObject([{ deal: 'Отказ 15-го', responsible: 'Алексей Кузнецов', reason: '' }]);
      const feb15 = await recallList(s.service.store, { date: '2027-02-15' });
      expect(feb15.filter((e) => e.dealId === String(second))).toMatchObject([{ reason: 'Нашёл дешевле' }]);
    });

    it('the reason filled in later updates the re-call description and the list', async () => {
      const id = await addDeal('repair', { TITLE: 'Причина позже' });
      await move('deal', id, 'OTHER');
      await call('crm.deal.update', { id, fields: { UF_CRM_AS_REFUSAL: 'Передумал делать ремонт' } });
      await s.settle();
      const recalls = activitiesOf(2, id).filter((a) => a.SUBJECT === 'Повторный звонок клиенту');
      expect(recalls).toHaveLength(1);
      expect(recalls[0].DESCRIPTION).toContain('Причина отказа: Передумал делать ремонт');
      const [entry] = (await recallList(s.service.store, { date: '2027-02-15' })).filter((e) => e.dealId === String(id));
      expect(entry.reason).toBe('Передумал делать ремонт');
    });

    it('the same event delivered twice, and a move to another failure stage, schedule one re-call', async () => {
      const id = await addDeal('wash', { TITLE: 'Дубль события' });
      s.emulator.control.setEventFaults({ duplicateNext: 1 });
      await move('deal', id, 'LOSE', { UF_CRM_AS_REFUSAL: 'Не приехал' });
      await move('deal', id, 'OTHER');
      expect(activitiesOf(2, id).filter((a) => a.SUBJECT === 'Повторный звонок клиенту')).toHaveLength(1);
      expect((await s.service.store.listRecalls({})).filter((e) => e.dealId === String(id))).toHaveLength(1);
    });

    it('a deal reopened and refused again later gets a new re-call', async () => {
      const id = await addDeal('repair', { TITLE: 'Вернулся и снова отказ', UF_CRM_AS_REFUSAL: 'Дорого' });
      await move('deal', id, 'LOSE');
      await move('deal', id, 'NEW');
      await s.advance(20 * 24 * HOUR);
      await move('deal', id, 'LOSE');
      const dates = (await s.service.store.listRecalls({})).filter((e) => e.dealId === String(id)).map((e) => e.recallDate);
      expect(dates).toEqual(['2027-02-15', '2027-03-01']);
    });
  });

  describe('the refusal business process', () => {
    it('a duplicate delivery and a move to another failure stage start one process; the manager gets no to-do for the reason', async () => {
      const id = await addDeal('repair', { TITLE: 'Процесс один раз' });
      s.emulator.control.setEventFaults({ duplicateNext: 1 });
      await move('deal', id, 'LOSE');
      await move('deal', id, 'OTHER');
      expect(workflowsOf(id)).toHaveLength(1);
      expect(reasonAsked('Процесс один раз')).toHaveLength(0);
      expect(activitiesOf(2, id).map((a) => a.SUBJECT)).toEqual(['Повторный звонок клиенту']);
    });

    it('the process\'s robot call, once the manager answered, shares the refusal episode', async () => {
      const id = await addDeal('wash', { TITLE: 'Ответ через процесс' });
      await move('deal', id, 'LOSE');
      expect(workflowsOf(id)).toHaveLength(1);
      // What the process does after its "request information" step: the answer into the field, then the robot.
      await call('crm.deal.update', { id, fields: { UF_CRM_AS_REFUSAL: 'Помыл машину сам' } });
      const run = s.emulator.control.runRobot({ code: 'autosalon_refusal', documentId: `DEAL_${id}`, properties: { reason: 'Помыл машину сам' } });
      await s.settle();
      const recalls = activitiesOf(2, id).filter((a) => a.SUBJECT === 'Повторный звонок клиенту');
      expect(recalls).toHaveLength(1);
      expect(recalls[0].DESCRIPTION).toContain('Причина отказа: Помыл машину сам');
      const [episode] = (await s.service.store.listRecalls({})).filter((e) => e.dealId === String(id));
      expect(s.emulator.control.robotRun(run.workflowId)?.completed?.returnValues).toEqual({ recall_date: episode.recallDate });
    });

    it('without the template id in the installer\'s ledger, the process is found on the portal by its name', async () => {
      const state = new PortalState(s.dir, s.emulator.memberId);
      const ledger = state.loadLedger({ key: s.emulator.memberId, origin: '', mode: 'app' });
      expect(ledger.objects['bp:refusal']?.id).toBeGreaterThan(0);
      delete ledger.objects['bp:refusal'];
      state.saveLedger(ledger);
      // Past the few minutes the service keeps what it knows about the process.
      await s.advance(6 * 60_000);
      const id = await addDeal('shop', { TITLE: 'Без записи в журнале' });
      s.emulator.control.resetStats();
      await move('deal', id, 'VANISHED');
      expect(s.emulator.control.stats().calls['bizproc.workflow.template.list']).toBe(1);
      const [bp] = s.emulator.control.collection('workflowTemplates');
      expect(workflowsOf(id)).toMatchObject([{ templateId: bp.ID }]);
      expect(reasonTodos(id)).toHaveLength(0);
    });
  });

  describe('robots', () => {
    const recallTodos = (id: number) => activitiesOf(2, id).filter((a) => a.SUBJECT === 'Повторный звонок клиенту');

    it('the refusal robot plans the re-call and answers the workflow with its date; the event path adds nothing', async () => {
      const id = await addDeal('repair', { TITLE: 'Отказ через робота' });
      await move('deal', id, 'LOSE');
      expect(workflowsOf(id)).toHaveLength(1);
      const run = s.emulator.control.runRobot({ code: 'autosalon_refusal', documentId: `DEAL_${id}`, properties: { reason: 'Дорого' } });
      await s.settle();
      const done = s.emulator.control.robotRun(run.workflowId);
      const [episode] = (await s.service.store.listRecalls({})).filter((e) => e.dealId === String(id));
      expect(done?.completed?.returnValues).toEqual({ recall_date: episode.recallDate });
      expect(recallTodos(id)).toHaveLength(1);
    });

    it('the robot first, then the stage event: still one re-call, and the reason given to the robot is in its text', async () => {
      const id = await addDeal('wash', { TITLE: 'Робот раньше события' });
      s.emulator.control.setEventFaults({ dropNext: 1 });
      await move('deal', id, 'LOSE');
      const run = s.emulator.control.runRobot({ code: 'autosalon_refusal', documentId: `DEAL_${id}`, properties: { reason: 'Уехал в другой город' } });
      await s.settle();
      expect(recallTodos(id)).toHaveLength(1);
      expect(recallTodos(id)[0].DESCRIPTION).toContain('Уехал в другой город');
      // The dropped stage event, caught later by the sweep, finds the same episode.
      await s.service.sweep();
      await s.settle();
      expect(recallTodos(id)).toHaveLength(1);
      expect(s.emulator.control.robotRun(run.workflowId)?.completed?.returnValues).toEqual({ recall_date: expect.stringMatching(/^\d{4}-\d{2}-01|^\d{4}-\d{2}-15/) });
    });

    it('a reason given only to the robot, after the re-call was planned without one, goes into its text and the list', async () => {
      const id = await addDeal('shop', { TITLE: 'Причина только роботу' });
      await move('deal', id, 'LOSE');
      expect(recallTodos(id)[0].DESCRIPTION).toContain('Причина отказа: не указана');
      s.emulator.control.runRobot({ code: 'autosalon_refusal', documentId: `DEAL_${id}`, properties: { reason: 'Купил в другом месте' } });
      await s.settle();
      expect(recallTodos(id)).toHaveLength(1);
      expect(recallTodos(id)[0].DESCRIPTION).toContain('Причина отказа: Купил в другом месте');
      expect((await s.service.store.listRecalls({})).filter((e) => e.dealId === String(id))).toMatchObject([{ reason: 'Купил в другом месте' }]);
    });

    it('the stage-actions robot runs the current stage once, whichever path comes first', async () => {
      const id = await addDeal('repair', { TITLE: 'Робот стадии', UF_CRM_AS_MASTER: MASTER });
      await move('deal', id, 'INSPECTION');
      s.emulator.control.runRobot({ code: 'autosalon_stage_actions', documentId: `DEAL_${id}` });
      await s.settle();
      expect(notificationsTo(MASTER, '«Робот стадии»: проведите анализ')).toHaveLength(1);
    });
  });

  describe('faults', () => {
    it('an event the portal never delivered is caught by the sweep', async () => {
      const id = await addDeal('repair', { TITLE: 'Потерянное событие', UF_CRM_AS_MASTER: MASTER });
      s.emulator.control.setEventFaults({ dropNext: 1 });
      await move('deal', id, 'INSPECTION');
      expect(notificationsTo(MASTER, 'Потерянное событие')).toHaveLength(0);
      await s.advance(60_000);
      await s.service.sweep();
      await s.settle();
      expect(notificationsTo(MASTER, 'Сделка «Потерянное событие»: проведите анализ')).toHaveLength(1);
      await s.service.sweep();
      await s.settle();
      expect(notificationsTo(MASTER, 'Потерянное событие')).toHaveLength(1);
    });

    it('a forged application_token gets 401 and makes no REST call', async () => {
      await s.settle();
      s.emulator.control.resetStats();
      const body = qs.stringify({
        event: 'ONCRMDEALUPDATE', event_handler_id: '1', data: { FIELDS: { ID: '1' } }, ts: '1',
        auth: { member_id: s.emulator.memberId, application_token: 'forged', domain: 'x', client_endpoint: s.emulator.origin },
      });
      const r = await fetch(`${s.service.url}/events`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body });
      expect(r.status).toBe(401);
      await s.settle();
      expect(s.emulator.control.stats().httpRequests).toBe(0);
    });
  });

  describe('a portal whose plan has no business processes', () => {
    it('asks for the refusal reason with a notification and a to-do, which is marked done once the reason is filled', async () => {
      s.emulator.control.setPlan('crm');
      try {
        const id = await addDeal('repair', { TITLE: 'Тариф без процессов' });
        await move('deal', id, 'LOSE');
        expect(workflowsOf(id)).toHaveLength(0);
        expect(reasonAsked('Тариф без процессов')).toHaveLength(1);
        expect(reasonTodos(id)).toMatchObject([{ COMPLETED: 'N', RESPONSIBLE_ID: MANAGER }]);
        expect(activitiesOf(2, id).filter((a) => a.SUBJECT === 'Повторный звонок клиенту')).toHaveLength(1);
        await call('crm.deal.update', { id, fields: { UF_CRM_AS_REFUSAL: 'Дорого' } });
        await s.settle();
        expect(reasonTodos(id)).toMatchObject([{ COMPLETED: 'Y' }]);
      } finally {
        s.emulator.control.setPlan('pro');
      }
    });
  });
});
