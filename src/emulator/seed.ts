// What a brand-new Bitrix24 portal holds. Statuses and stages follow CCrmStatus::GetDefault*() and the crm language
// files (modules/crm/lang/{ru,en}/classes/general/crm_status.php); colours of the default pipeline follow the
// crm.status.list example of the docs, those of new pipelines DefaultProcessColorGenerator.
import { STATE_FORMAT, nextId, randomHex, randomToken, type PortalState, type StatusRow } from './state.js';

export type Lang = 'ru' | 'en';
type Words = Record<Lang, string>;

export const STATUS_NAMES: Record<string, Words> = {
  NEW: { ru: 'Не обработан', en: 'Unassigned' },
  IN_PROCESS: { ru: 'В работе', en: 'In Progress' },
  PROCESSED: { ru: 'Обработан', en: 'Processed' },
  CONVERTED: { ru: 'Качественный лид', en: 'Good Lead' },
  JUNK: { ru: 'Некачественный лид', en: 'Junk Lead' },
};

export const DEAL_STAGE_NAMES: Record<string, Words> = {
  NEW: { ru: 'Новая', en: 'New' },
  PREPARATION: { ru: 'Подготовка документов', en: 'Create papers' },
  // The Russian language file really spells this with a Latin "C".
  PREPAYMENT_INVOICE: { ru: 'Cчёт на предоплату', en: 'Invoice' },
  EXECUTING: { ru: 'В работе', en: 'In progress' },
  FINAL_INVOICE: { ru: 'Финальный счёт', en: 'Final invoice' },
  WON: { ru: 'Сделка успешна', en: 'Deal won' },
  LOSE: { ru: 'Сделка провалена', en: 'Deal lost' },
  APOLOGY: { ru: 'Анализ причины провала', en: 'Analyze failure' },
};

interface SeedRow { code: string; sort: number; system?: boolean; semantics?: 'S' | 'F'; color?: string; name: Words }

const LEAD_STATUSES: SeedRow[] = [
  { code: 'NEW', sort: 10, system: true, color: '#39A8EF', name: STATUS_NAMES.NEW },
  { code: 'IN_PROCESS', sort: 20, color: '#2FC6F6', name: STATUS_NAMES.IN_PROCESS },
  { code: 'PROCESSED', sort: 30, color: '#55D0E0', name: STATUS_NAMES.PROCESSED },
  { code: 'CONVERTED', sort: 40, system: true, semantics: 'S', color: '#7BD500', name: STATUS_NAMES.CONVERTED },
  { code: 'JUNK', sort: 50, system: true, semantics: 'F', color: '#FF5752', name: STATUS_NAMES.JUNK },
];

const PROCESS_START_COLORS = ['#1F86FF', '#30AFFF', '#00C0D5', '#31C469', '#FAAA08'];
const PROCESS_LOOPED_COLORS = ['#00c4fb', '#47d1e2', '#75d900', '#ffab00', '#ff5752', '#468ee5', '#1eae43'];

/** DefaultProcessColorGenerator: five start colours, then a looped palette. */
export function processColor(index: number): string {
  return index < PROCESS_START_COLORS.length
    ? PROCESS_START_COLORS[index]
    : PROCESS_LOOPED_COLORS[(index - PROCESS_START_COLORS.length) % PROCESS_LOOPED_COLORS.length];
}

/** GetDefaultDealStages(): the eight stages every deal pipeline starts with. */
export function defaultDealStages(colors: string[]): SeedRow[] {
  const codes = ['NEW', 'PREPARATION', 'PREPAYMENT_INVOICE', 'EXECUTING', 'FINAL_INVOICE', 'WON', 'LOSE', 'APOLOGY'];
  const extra: Record<string, Partial<SeedRow>> = {
    NEW: { system: true },
    WON: { system: true, semantics: 'S', color: '#7BD500' },
    LOSE: { system: true, semantics: 'F', color: '#FF5752' },
    APOLOGY: { semantics: 'F', color: '#FF5752' },
  };
  return codes.map((code, i) => ({ code, sort: (i + 1) * 10, color: colors[i], name: DEAL_STAGE_NAMES[code], ...extra[code] }));
}

const DEFAULT_PIPELINE_COLORS = ['#39A8EF', '#2FC6F6', '#55D0E0', '#47E4C2', '#FFA900', '#7BD500', '#FF5752', '#FF5752'];
export const NEW_PIPELINE_COLORS = [0, 1, 2, 3, 4].map(processColor);

const SOURCES: SeedRow[] = [
  { code: 'CALL', sort: 10, system: true, name: { ru: 'Звонок', en: 'Call' } },
  { code: 'EMAIL', sort: 20, name: { ru: 'Электронная почта', en: 'E-Mail' } },
  { code: 'WEB', sort: 30, name: { ru: 'Веб-сайт', en: 'Website' } },
  { code: 'ADVERTISING', sort: 40, name: { ru: 'Реклама', en: 'Advertising' } },
  { code: 'PARTNER', sort: 50, name: { ru: 'Существующий клиент', en: 'Existing Client' } },
  { code: 'RECOMMENDATION', sort: 60, name: { ru: 'По рекомендации', en: 'By Recommendation' } },
  { code: 'TRADE_SHOW', sort: 70, name: { ru: 'Выставка', en: 'Show/Exhibition' } },
  { code: 'WEBFORM', sort: 75, system: true, name: { ru: 'CRM-форма', en: 'CRM form' } },
  { code: 'CALLBACK', sort: 77, system: true, name: { ru: 'Обратный звонок', en: 'Callback' } },
  { code: 'RC_GENERATOR', sort: 78, system: true, name: { ru: 'Генератор продаж', en: 'Sales boost' } },
  { code: 'STORE', sort: 79, system: true, name: { ru: 'Интернет-магазин', en: 'Online Store' } },
  { code: 'OTHER', sort: 80, name: { ru: 'Другое', en: 'Other' } },
];

const CONTACT_TYPES: SeedRow[] = [
  { code: 'CLIENT', sort: 10, name: { ru: 'Клиенты', en: 'Clients' } },
  { code: 'SUPPLIER', sort: 20, name: { ru: 'Поставщики', en: 'Suppliers' } },
  { code: 'PARTNER', sort: 30, name: { ru: 'Партнеры', en: 'Partners' } },
  { code: 'OTHER', sort: 40, name: { ru: 'Другое', en: 'Other' } },
];

const COMPANY_TYPES: SeedRow[] = [
  { code: 'CUSTOMER', sort: 10, name: { ru: 'Клиент', en: 'Client' } },
  { code: 'SUPPLIER', sort: 20, name: { ru: 'Поставщик', en: 'Supplier' } },
  { code: 'COMPETITOR', sort: 30, name: { ru: 'Конкурент', en: 'Competitor' } },
  { code: 'PARTNER', sort: 40, name: { ru: 'Партнер', en: 'Partner' } },
  { code: 'OTHER', sort: 50, name: { ru: 'Другое', en: 'Other' } },
];

const EMPLOYEES: SeedRow[] = [
  { code: 'EMPLOYEES_1', sort: 10, name: { ru: 'менее 50', en: 'less than 50' } },
  { code: 'EMPLOYEES_2', sort: 20, name: { ru: '50-250', en: '50 to 250' } },
  { code: 'EMPLOYEES_3', sort: 30, name: { ru: '250-500', en: '250 to 500' } },
  { code: 'EMPLOYEES_4', sort: 40, name: { ru: 'более 500', en: 'over 500' } },
];

const DEAL_TYPES: SeedRow[] = [
  { code: 'SALE', sort: 10, name: { ru: 'Продажа', en: 'Sales' } },
  { code: 'COMPLEX', sort: 20, name: { ru: 'Комплексная продажа', en: 'Integrated sale' } },
  { code: 'GOODS', sort: 30, name: { ru: 'Продажа товара', en: 'Sale of goods' } },
  { code: 'SERVICES', sort: 40, name: { ru: 'Продажа услуги', en: 'Sale of services' } },
  { code: 'SERVICE', sort: 50, name: { ru: 'Сервисное обслуживание', en: 'After-sales service' } },
];

/** Adds dictionary rows the way CCrmStatus::BulkCreate does (NAME_INIT only for system rows). */
export function addStatusRows(state: PortalState, entityId: string, rows: SeedRow[], lang: Lang, categoryId: number | null, prefix = ''): StatusRow[] {
  return rows.map((row) => {
    const name = row.name[lang];
    const status: StatusRow = {
      ID: nextId(state, 'status'),
      ENTITY_ID: entityId,
      STATUS_ID: `${prefix ? `${prefix}:` : ''}${row.code}`,
      NAME: name,
      NAME_INIT: row.system ? name : '',
      SORT: row.sort,
      SYSTEM: row.system ? 'Y' : 'N',
      COLOR: row.color ?? null,
      SEMANTICS: row.semantics ?? null,
      CATEGORY_ID: categoryId,
    };
    state.statuses.push(status);
    return status;
  });
}

interface SeedUser { name: Words; lastName: Words; position: Words; email: string; gender: 'M' | 'F'; departments: number[]; admin?: boolean }
interface SeedDepartment { name: Words; parent: number | null; head: number | null }

// A small car-service company: the director (who created the webhook), a sales department and a service department.
const DEPARTMENTS: SeedDepartment[] = [
  { name: { ru: 'Автосервис', en: 'Car service' }, parent: null, head: 1 },
  { name: { ru: 'Отдел продаж', en: 'Sales' }, parent: 1, head: 2 },
  { name: { ru: 'Сервис', en: 'Service' }, parent: 1, head: 4 },
];

const USERS: SeedUser[] = [
  { name: { ru: 'Иван', en: 'Ivan' }, lastName: { ru: 'Петров', en: 'Petrov' }, position: { ru: 'Директор', en: 'Director' }, email: 'director@autosalon.test', gender: 'M', departments: [1], admin: true },
  { name: { ru: 'Ольга', en: 'Olga' }, lastName: { ru: 'Смирнова', en: 'Smirnova' }, position: { ru: 'Руководитель отдела продаж', en: 'Head of sales' }, email: 'sales.head@autosalon.test', gender: 'F', departments: [2] },
  { name: { ru: 'Алексей', en: 'Alexey' }, lastName: { ru: 'Кузнецов', en: 'Kuznetsov' }, position: { ru: 'Менеджер', en: 'Sales manager' }, email: 'manager1@autosalon.test', gender: 'M', departments: [2] },
  { name: { ru: 'Сергей', en: 'Sergey' }, lastName: { ru: 'Волков', en: 'Volkov' }, position: { ru: 'Мастер-приёмщик', en: 'Service master' }, email: 'master@autosalon.test', gender: 'M', departments: [3] },
  { name: { ru: 'Дмитрий', en: 'Dmitry' }, lastName: { ru: 'Орлов', en: 'Orlov' }, position: { ru: 'Мойщик', en: 'Car washer' }, email: 'washer@autosalon.test', gender: 'M', departments: [3] },
  { name: { ru: 'Мария', en: 'Maria' }, lastName: { ru: 'Фёдорова', en: 'Fedorova' }, position: { ru: 'Менеджер', en: 'Sales manager' }, email: 'manager2@autosalon.test', gender: 'F', departments: [2] },
];

/** Every scope the emulator implements; the admin webhook and apps get all of them by default. */
export const ALL_SCOPES = ['crm', 'bizproc', 'user', 'user_brief', 'user_basic', 'department', 'im', 'task', 'placement', 'userfieldconfig'];

export function newPortal(options: { plan: string; language: Lang; timeZone: string; now: number }): PortalState {
  const state: PortalState = {
    format: STATE_FORMAT,
    version: 1,
    memberId: randomHex(16),
    plan: options.plan,
    language: options.language,
    timeZone: options.timeZone,
    clockOffsetMs: 0,
    webhook: { userId: 1, secret: randomToken(16), scope: [...ALL_SCOPES] },
    seq: {},
    users: [],
    departments: [],
    statuses: [],
    dealCategories: [],
    crm: { lead: [], deal: [], contact: [], company: [] },
    userFields: [],
    cardConfigs: {},
    apps: [],
    tokens: [],
    eventBindings: [],
    robots: [],
    triggers: [],
    triggersFired: [],
    workflowTemplates: [],
    workflows: [],
    robotRuns: [],
    notifications: [],
    tasks: [],
    activities: [],
    timelineComments: [],
    stageHistory: [],
  };
  const lang = options.language;
  // Row IDs of a fresh portal do not start at 1: the dictionaries are filled in this order.
  addStatusRows(state, 'STATUS', LEAD_STATUSES, lang, null);
  addStatusRows(state, 'SOURCE', SOURCES, lang, null);
  addStatusRows(state, 'CONTACT_TYPE', CONTACT_TYPES, lang, null);
  addStatusRows(state, 'COMPANY_TYPE', COMPANY_TYPES, lang, null);
  addStatusRows(state, 'EMPLOYEES', EMPLOYEES, lang, null);
  addStatusRows(state, 'DEAL_TYPE', DEAL_TYPES, lang, null);
  addStatusRows(state, 'DEAL_STAGE', defaultDealStages(DEFAULT_PIPELINE_COLORS), lang, null);
  // The default deal pipeline is not a row of b_crm_deal_category: its name and sort live in module options.
  state.dealCategories.push({ id: 0, name: lang === 'ru' ? 'Общая' : 'General', sort: 0, originId: null, originatorId: null });
  DEPARTMENTS.forEach((d) => {
    state.departments.push({ ID: nextId(state, 'department'), NAME: d.name[lang], SORT: 500, PARENT: d.parent, UF_HEAD: d.head });
  });
  USERS.forEach((u) => {
    state.users.push({
      ID: nextId(state, 'user'),
      ACTIVE: true,
      ADMIN: u.admin ?? false,
      NAME: u.name[lang],
      LAST_NAME: u.lastName[lang],
      SECOND_NAME: '',
      EMAIL: u.email,
      WORK_POSITION: u.position[lang],
      PERSONAL_GENDER: u.gender,
      UF_DEPARTMENT: u.departments,
      DATE_REGISTER: options.now,
    });
  });
  return state;
}
