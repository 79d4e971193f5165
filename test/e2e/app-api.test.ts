// The application pages' API against the emulated portal, after a month of seeded work: settings with the portal's
// users by name, the re-call list with links, stages and states (and its CSV), drift from verify, the overview's
// health, and the analytics read from the portal (stage history included) and from the service's refusal episodes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SESSION_KEY_PURPOSE, signSession } from '../../src/service/app-session.js';
import type { Analytics, DriftView, Overview, RecallsView, SettingsView } from '../../src/service/app-types.js';
import { seedActivity, type Seeded } from '../helpers/seed-activity.js';
import { BACKENDS } from '../helpers/stores.js';
import { startStack, type Stack } from '../service/harness.js';

let s: Stack;
let seeded: Seeded;

async function api<T>(path: string, init: { admin?: boolean; method?: string; body?: unknown } = {}): Promise<{ status: number; body: T; text: string; bytes: Uint8Array; type: string }> {
  const session = signSession(s.service.store.derivedKey(SESSION_KEY_PURPOSE), {
    memberId: s.emulator.memberId, userId: init.admin === false ? 3 : 1, admin: init.admin !== false, lang: 'ru', expiresAt: s.now() + 60_000,
  });
  const r = await fetch(`${s.service.url}/api${path}`, {
    method: init.method ?? 'GET',
    headers: { authorization: `Bearer ${session}`, ...(init.body ? { 'content-type': 'application/json' } : {}) },
    body: init.body ? JSON.stringify(init.body) : undefined,
  });
  const bytes = new Uint8Array(await r.arrayBuffer());
  const text = new TextDecoder().decode(bytes);
  return { status: r.status, text, bytes, body: (r.headers.get('content-type')?.includes('json') ? JSON.parse(text) : undefined) as T, type: r.headers.get('content-type') ?? '' };
}

// On both backends of the service's state.
describe.each(BACKENDS)('the application API on %s', (backend) => {
  beforeAll(async () => {
    s = await startStack({ backend });
    seeded = await seedActivity({
      call: async (method, params) => (await s.user.call(method, params)).result as never,
      settle: () => s.settle(),
      advance: (ms) => s.advance(ms),
    });
  }, 120_000);
  afterAll(() => s?.close());

  describe('the application API on a working portal', () => {
    it('settings: the portal\'s users by name, the rules of its tier, every time zone, the template\'s hint', async () => {
      const { status, body } = await api<SettingsView>('/settings');
      expect(status).toBe(200);
      expect(body.users.slice(0, 3)).toEqual([
        { id: 1, name: 'Иван Петров', position: 'Директор' }, { id: 2, name: 'Ольга Смирнова', position: 'Руководитель отдела продаж' },
        { id: 3, name: 'Алексей Кузнецов', position: 'Менеджер' },
      ]);
      expect(body.rules.map((r) => r.id)).toContain('deal.refusal');
      expect(body.rules.find((r) => r.id === 'lead.created.notify')?.description).toBe('Оповестить менеджеров о новом лиде.');
      expect(body.timeZones).toEqual(expect.arrayContaining(['Europe/Kaliningrad', 'Asia/Vladivostok']));
      expect(body.defaultHint).toMatch(/скидку или приятный бонус/);
    });

    it('the re-call list of a day: the deal, its pipeline and stage, the refusal date, reason and responsible, and whether the call was made; CSV too', async () => {
      const { body } = await api<RecallsView>('/recalls?date=2027-02-01');
      expect(body.rows).toEqual(expect.arrayContaining([
        { dealId: String(seeded.deals.d4), deal: 'Замена ремня ГРМ', client: 'Пётр Иванов', pipeline: 'Ремонт авто', stage: 'Клиент передумал', refusedOn: '2027-01-15', reason: 'Нашёл дешевле', responsible: 'Алексей Кузнецов', status: 'pending' },
        expect.objectContaining({ dealId: String(seeded.deals.s2), pipeline: 'Магазин', reason: 'Дорого', status: 'pending' }),
      ]));
      // The manager calls back and closes the to-do: done.
      const todo = s.emulator.control.collection('activities').find((a) => a.OWNER_ID === seeded.deals.d4 && a.SUBJECT === 'Повторный звонок клиенту');
      await s.user.call('crm.activity.update', { id: todo!.ID, fields: { COMPLETED: 'Y' } });
      expect((await api<RecallsView>('/recalls?date=2027-02-01')).body.rows.find((r) => r.dealId === String(seeded.deals.d4))?.status).toBe('done');

      const csv = await api<never>('/recalls.csv?date=2027-02-01');
      expect(csv.type).toMatch(/text\/csv/);
      // A byte-order mark first (fetch's text() drops it when decoding).
      expect(csv.bytes.subarray(0, 3)).toEqual(new Uint8Array([0xef, 0xbb, 0xbf]));
      expect(csv.text.startsWith('Сделка;Название;Клиент;Воронка;Стадия;Дата отказа;Причина;Ответственный;Статус\r\n')).toBe(true);
      expect(csv.text).toContain(`${seeded.deals.d4};Замена ремня ГРМ;Пётр Иванов;Ремонт авто;Клиент передумал;2027-01-15;Нашёл дешевле;Алексей Кузнецов;выполнен`);

      const impossible = await api<{ error: string; message: string }>('/recalls?date=2027-02-30');
      expect(impossible).toMatchObject({ status: 400, body: { error: 'bad_request', message: 'date "2027-02-30" is not a date of the calendar (YYYY-MM-DD)' } });
    });

    it('analytics of the month: leads by source and status, reaction against the 1-hour rule, each pipeline\'s funnel and time per stage, refusals, re-calls', async () => {
      const { status, body } = await api<Analytics>('/analytics?from=2027-01-01&to=2027-01-31');
      expect(status).toBe(200);
      expect(body.leads.total).toBe(5);
      expect(body.leads.bySource).toEqual([
        { name: 'Веб-сайт', count: 2 }, { name: 'Звонок', count: 1 }, { name: 'По рекомендации', count: 1 }, { name: 'Реклама', count: 1 },
      ]);
      expect(Object.fromEntries(body.leads.byStatus.map((x) => [x.name, x.count]))).toEqual({ 'Новое обращение': 1, 'Обработка лида': 2, 'Уточняющий звонок': 1, 'Некачественный лид': 1 });
      expect(body.leads.qualified).toBe(0);
      // First status changes after 5, 10, 40 and 90 minutes; one lead never handled.
      expect(body.leads.reaction).toEqual({
        measured: 4, withinHour: 3, waitingOverHour: 1, medianMinutes: 25,
        buckets: [{ key: '15m', count: 2 }, { key: '1h', count: 1 }, { key: '2h', count: 1 }, { key: 'more', count: 0 }, { key: 'waiting', count: 1 }],
      });
      const repair = body.pipelines.find((p) => p.code === 'repair')!;
      expect(repair).toMatchObject({ name: 'Ремонт авто', deals: 4, won: 1, lost: 2 });
      expect(repair.stages.map((x) => [x.name, x.reached])).toEqual([
        // Reached at least: a deal that skipped a stage has passed it.
        ['Получение полной информации', 4], ['Анализ авто', 3], ['Ожидание запасных частей', 2], ['Авто в ремонте', 2], ['Расчет', 1], ['Сделка успешна', 1],
      ]);
      // Every deal sat 60 min at the first stage; d1 waited for parts 180 min.
      expect(repair.stages[0].averageHours).toBe(1);
      expect(repair.stages[2].averageHours).toBe(3);
      expect(body.pipelines.find((p) => p.code === 'shop')).toMatchObject({ deals: 2, won: 1, lost: 1 });
      expect(body.refusals).toEqual([{ reason: 'Дорого', count: 2 }, { reason: 'Нашёл дешевле', count: 1 }]);
      expect(body.recalls).toEqual({ scheduled: 0, done: 0, wonBack: 0 });
      const february = await api<Analytics>('/analytics?from=2027-02-01&to=2027-02-28');
      expect(february.body.recalls.scheduled).toBe(3);
      expect((await api<{ error: string }>('/analytics?from=2027-02-10&to=2027-02-01')).body).toMatchObject({ error: 'bad_request' });
    });

    it('overview and drift: the portal matches the template after the install; a stage deleted by hand is drift, and repair (admin only) queues the install', async () => {
      const overview = (await api<Overview>('/overview')).body;
      expect(overview).toMatchObject({ tier: { code: 'crm_plus' }, status: { state: 'installed', running: false }, health: { failures: [] } });
      expect(overview.health.lastEventAt).toBeGreaterThan(0);
      expect((await api<DriftView>('/drift')).body).toMatchObject({ ok: true, drift: [] });

      const stage = (await s.user.call<Record<string, unknown>[]>('crm.status.list', { filter: { ENTITY_ID: `DEAL_STAGE_${seeded.categories.wash}`, STATUS_ID: `C${seeded.categories.wash}:WASHING` } })).result[0];
      await s.user.call('crm.status.delete', { id: stage.ID });
      const drift = (await api<DriftView>('/drift')).body;
      expect(drift.ok).toBe(false);
      // Said in the reader's language (the session's: Russian), as the CLI's verify would say it.
      expect(drift.drift).toEqual([expect.objectContaining({ action: 'create', title: 'стадия WASHING «Ожидание мойки / мойка»' })]);

      expect((await api('/install', { method: 'POST', admin: false })).status).toBe(403);
      expect((await api('/install', { method: 'POST' })).body).toMatchObject({ state: 'installing', running: true });
      await s.settle();
      expect((await api<DriftView>('/drift')).body.ok).toBe(true);
    });
  });
});
