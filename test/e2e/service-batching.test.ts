// The worker at the portal's speed limit, end to end: the REST calls of many jobs share batch requests, exactly once
// survives a failing command and a lost batch answer, and a sweep that finds nothing missed costs only its lists.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { PortalClient } from '../../src/portal/client.js';
import { BACKENDS } from '../helpers/stores.js';
import { startStack, type Stack } from '../service/harness.js';

const MANAGER = 3;
const NEW_USER = 77;

let s: Stack;
let repair: number;

// On both backends of the service's state.
describe.each(BACKENDS)('batching on %s', (backend) => {
  // With SQLite a job's writes end within turns of the event loop, so which commands share a request is exact. With
  // PostgreSQL they are round trips of real time (the pipeline waits for them, boundedly): on a busy machine a command
  // may still miss its batch and go in a later request, so up to two requests more are allowed there.
  const slack = backend === 'SQLite' ? 0 : 2;
  /** The emulator's counts: requests and batches as expected, up to the slack; every other call exactly. */
  const expectRequests = (expected: { httpRequests?: number; batch: number } & Record<string, number>) => {
    const stats = s.emulator.control.stats();
    const { httpRequests, batch, ...rest } = expected;
    if (httpRequests !== undefined) expect(stats.httpRequests - httpRequests).toBeOneOf(Array.from({ length: slack + 1 }, (_, i) => i));
    expect((stats.calls.batch ?? 0) - batch).toBeOneOf(Array.from({ length: slack + 1 }, (_, i) => i));
    expect(stats.calls).toMatchObject(rest);
  };
  beforeAll(async () => {
    s = await startStack({ backend });
    repair = s.emulator.control.collection('dealCategories').find((c) => c.name === 'Ремонт авто')!.id;
  }, 120_000);
  afterAll(() => s?.close());

  const calls = () => s.emulator.control.stats().calls;
  /** The portal's pipelines, stages and list fields, read in one batch every few minutes. */
  const layoutRead = { 'crm.category.list': 1, 'crm.status.list': 1, 'crm.lead.userfield.list': 1, 'crm.deal.userfield.list': 1 };
  const tasksOf = (dealId: number) => s.emulator.control.collection('tasks').filter((t) => (t.fields.UF_CRM_TASK as string[] | undefined)?.includes(`D_${dealId}`));
  const notesOf = (title: string) => s.emulator.control.collection('notifications').filter((n) => n.message === `По сделке «${title}» поставлена задача «Получить полную информацию».`);

  /** Deals made in the portal at once (an import): their events wait in the queue together. */
  function importDeals(titles: string[], fields: Record<string, unknown> = {}): number[] {
    return titles.map((title) => s.emulator.control.addRecord('deal', { TITLE: title, CATEGORY_ID: repair, ASSIGNED_BY_ID: MANAGER, ...fields }));
  }

  describe('jobs of one portal share batch requests', () => {
    it('20 deal adds: their reads, tasks and notifications go in one batch request each, each effect once', async () => {
      await s.settle();
      const titles = Array.from({ length: 20 }, (_, i) => `Пакет ${i}`);
      const ids = importDeals(titles);
      for (const p of s.emulator.portals) await p.control.waitForDeliveries();
      s.emulator.control.resetStats();
      await s.settle();
      expect(ids.map((id) => tasksOf(id).length)).toEqual(ids.map(() => 1));
      expect(titles.map((t) => notesOf(t).length)).toEqual(titles.map(() => 1));
      // The portal's pipelines and stages are read once for all twenty (one batch of four lists).
      expectRequests({ httpRequests: 4, batch: 4, 'crm.deal.get': 20, 'crm.category.list': 1, 'tasks.task.add': 20, 'im.notify.system.add': 20 });
    });

    it('events of one item queued before it is read collapse into one read', async () => {
      const [id] = importDeals(['Много правок']);
      for (let i = 0; i < 4; i++) s.emulator.control.updateRecord('deal', id, { COMMENTS: `правка ${i}` });
      for (const p of s.emulator.portals) await p.control.waitForDeliveries();
      s.emulator.control.resetStats();
      await s.settle();
      expect(calls()['crm.deal.get']).toBe(1);
      expect(tasksOf(id)).toHaveLength(1);
    });
  });

  describe('exactly once', () => {
    it('a command that fails fails its own job only: the others are done once, the failing job is retried alone', async () => {
      const titles = ['Сосед 1', 'Сосед 2', 'Новичок', 'Сосед 3'];
      // The third deal is assigned to a user the portal does not have yet: tasks.task.add refuses it.
      const ids = titles.map((title, i) => s.emulator.control.addRecord('deal', { TITLE: title, CATEGORY_ID: repair, ASSIGNED_BY_ID: i === 2 ? NEW_USER : MANAGER }));
      for (const p of s.emulator.portals) await p.control.waitForDeliveries();
      s.emulator.control.resetStats();
      await s.settle();
      // One batch carried all four tasks; the refused one failed its job only.
      expectRequests({ 'tasks.task.add': 4, batch: 3 });
      expect(ids.map((id) => tasksOf(id).length)).toEqual([1, 1, 0, 1]);
      expect(titles.map((t) => notesOf(t).length)).toEqual([1, 1, 0, 1]);
      const [waiting] = await s.service.store.listJobs({ status: 'queued' });
      expect(waiting).toMatchObject({ payload: { entity: 'deal', id: String(ids[2]) }, attempts: 1 });
      expect(waiting.lastError).toMatch(/Responsible/);

      // The user joins the portal; the retry does the new user's deal, and nothing again for the others.
      const template = s.emulator.portal.state.users.find((u) => u.ID === MANAGER)!;
      s.emulator.portal.state.users.push({ ...template, ID: NEW_USER, NAME: 'Новый', LAST_NAME: 'Сотрудник', EMAIL: 'new@example.com' });
      s.emulator.control.resetStats();
      await s.advance(5_000);
      await s.settle();
      expect(calls()).toMatchObject({ 'tasks.task.add': 1, 'im.notify.system.add': 1 });
      expect(ids.map((id) => tasksOf(id).length)).toEqual([1, 1, 1, 1]);
      expect(titles.map((t) => notesOf(t).length)).toEqual([1, 1, 1, 1]);
      expect(await s.service.store.listJobs({ status: 'queued' })).toEqual([]);
    });

    it('a batch whose answer was lost after it ran: each task is looked up, not made again; each effect exists once', async () => {
      const titles = Array.from({ length: 10 }, (_, i) => `Потерянный ответ ${i}`);
      const ids = importDeals(titles);
      for (const p of s.emulator.portals) await p.control.waitForDeliveries();
      // The portal runs the batch of task adds and the connection drops before its answer comes back.
      const batch = PortalClient.prototype.batch;
      let lost = 0;
      vi.spyOn(PortalClient.prototype, 'batch').mockImplementation(function (this: PortalClient, commands, options) {
        if (lost === 0 && Object.values(commands).some((c) => c.method === 'tasks.task.add')) {
          lost = Object.values(commands).filter((c) => c.method === 'tasks.task.add').length;
          s.emulator.control.setFaults({ lostAnswerNext: 1 });
        }
        return batch.call(this, commands, options);
      });
      try {
        s.emulator.control.resetStats();
        await s.settle();
      } finally {
        vi.restoreAllMocks();
        s.emulator.control.setFaults({});
      }
      // The ten task adds went in one batch (with PostgreSQL, at least several of them: which jobs reach it in time
      // is real time there; the extent of batching is the first test's).
      expect(lost).toBeGreaterThanOrEqual(slack ? 2 : 10);
      expect(s.emulator.control.stats().lostAnswers).toBe(1);
      // Each job of the lost batch looked its task up instead of creating it again, then went on to its notification.
      expect(calls()).toMatchObject({ 'tasks.task.add': 10, 'tasks.task.list': lost });
      expect(ids.map((id) => tasksOf(id).length)).toEqual(ids.map(() => 1));
      expect(titles.map((t) => notesOf(t).length)).toEqual(titles.map(() => 1));
      expect(await s.service.store.listJobs({ status: 'queued' })).toEqual([]);
    });
  });

  describe('the sweep', () => {
    it('costs only its lists when nothing was missed, and reads just the item whose event was lost (even within the same second)', async () => {
      await s.advance(60_000);
      await s.service.sweep();
      await s.settle();
      const ids = importDeals(Array.from({ length: 60 }, (_, i) => `Сверка ${i}`));
      await s.settle();
      s.emulator.control.resetStats();
      const [quiet] = Object.values(await s.service.sweep());
      await s.settle();
      expect(quiet).toMatchObject({ queued: 0 });
      expect(quiet.unchanged).toBe(quiet.listed);
      expect(quiet.listed).toBeGreaterThanOrEqual(60);
      // Both lists, as many pages as the items the service saw change in the window fill, in one request.
      expectRequests({ httpRequests: 1, batch: 1 });
      expect(Object.keys(calls()).sort()).toEqual(['batch', 'crm.deal.list', 'crm.lead.list']);
      expect(calls()['crm.deal.get']).toBeUndefined();

      // A move whose event is lost, in the same second as the change the service saw: DATE_MODIFY is as observed, the
      // stage is not.
      s.emulator.control.setFaults({ dropNext: 1 });
      s.emulator.control.updateRecord('deal', ids[5], { STAGE_ID: `C${repair}:INSPECTION`, UF_CRM_AS_MASTER: 4 });
      await s.settle();
      const { result: moved } = await s.user.call<{ DATE_MODIFY: string }>('crm.deal.get', { id: ids[5] });
      expect((await s.service.store.getObservation(s.emulator.memberId, 'deal', String(ids[5])))?.modifiedAt).toBe(moved.DATE_MODIFY);
      s.emulator.control.resetStats();
      const [missed] = Object.values(await s.service.sweep());
      await s.settle();
      expect(missed).toMatchObject({ queued: 1 });
      expect(calls()['crm.deal.get']).toBe(1);
      expect(s.emulator.control.collection('notifications').filter((n) => n.userId === 4 && n.message.startsWith('Сделка «Сверка 5»: проведите анализ'))).toHaveLength(1);
    });
  });

  describe('delayed checks', () => {
    it('checks that fall due together are read together and act together', async () => {
      const titles = Array.from({ length: 10 }, (_, i) => `Напоминание ${i}`);
      for (const title of titles) s.emulator.control.addRecord('lead', { TITLE: title, SOURCE_ID: 'OTHER', ASSIGNED_BY_ID: MANAGER });
      await s.settle();
      const reminded = () => s.emulator.control.collection('notifications').filter((n) => titles.some((t) => n.message === `Лид «${t}» создан час назад и ещё не обработан до конца: сконвертируйте его или закройте.`));
      expect(reminded()).toHaveLength(0);
      await s.advance(3_600_000);
      s.emulator.control.resetStats();
      await s.settle();
      expect(reminded()).toHaveLength(10);
      // The ten leads in one batch, the ten reminders in another (and the portal's layout, older than five minutes; the
      // hour also expired the access token, so one request more was refused and repeated after the renewal).
      expectRequests({ batch: 3, 'crm.lead.get': 10, 'im.notify.system.add': 10, ...layoutRead });
      expect(Object.keys(calls()).sort()).toEqual(['batch', 'crm.lead.get', 'im.notify.system.add', ...Object.keys(layoutRead)].sort());
    });
  });
});
