import { describe, expect, it } from 'vitest';
import { planUninstall } from '../../src/install/uninstall.js';
import type { BackupEntry } from '../../src/install/state.js';
import { crmPlus, row, settledPortal } from './fixtures.js';

const originals = (entries: BackupEntry[]) => new Map(entries.map((e) => [e.key, e]));

describe('the uninstall plan', () => {
  it('removes what Autosalon created, puts back what it changed, brings back what it deleted', () => {
    const { snapshot, ledger } = settledPortal(crmPlus);
    Object.assign(ledger.objects, { 'field:lead:UF_CRM_AS_VIN': { created: true, id: 1 } });
    snapshot.counts.dealsByCategory = { 1: 0, 2: 0, 3: 0 };
    snapshot.counts.leads = { UC_CALLBACK: 0 };
    const backup = originals([
      { key: 'status:NEW', kind: 'status', action: 'update', title: '', before: row('STATUS', 'NEW', 'Не обработан', 10, { color: '#39A8EF', system: true }) },
      { key: 'portal:STATUS:PROCESSED', kind: 'status', action: 'delete', title: '', before: row('STATUS', 'PROCESSED', 'Обработан', 30, { color: '#55D0E0' }) },
      { key: 'card:lead', kind: 'card', action: 'update', title: '', before: { card: 'lead', sections: null } },
    ]);
    const plan = planUninstall(crmPlus, snapshot, ledger, backup, 'webhook');
    const line = (s: (typeof plan.steps)[number]) => `${s.action} ${s.call?.method ?? '-'} ${s.title}`;
    const lines = plan.steps.map(line);
    expect(lines).toEqual(expect.arrayContaining([
      'update crm.status.update status NEW "Новое обращение"',
      'delete crm.status.delete status UC_CALLBACK "Уточняющий звонок"',
      'create crm.status.add status PROCESSED "Обработан"',
      'delete crm.category.delete pipeline "Ремонт авто"',
      'delete crm.lead.userfield.delete lead field UF_CRM_AS_VIN',
      'update crm.item.details.configuration.reset lead card',
    ]));
    expect(plan.steps.find((s) => s.title.startsWith('status NEW'))!.call!.params).toEqual({ id: expect.any(Number), fields: { NAME: 'Не обработан', COLOR: '#39A8EF' } });
    // Order: cards before the fields they show, status updates before re-creating a status, pipelines last.
    const at = (text: string) => lines.findIndex((l) => l.includes(text));
    expect(at('configuration.reset')).toBeLessThan(at('userfield.delete'));
    expect(at('crm.status.update')).toBeLessThan(at('crm.status.add'));
    expect(at('crm.category.delete')).toBeGreaterThan(at('crm.status.add'));
    expect(plan.losesData.map((s) => s.key)).toEqual(['field:lead:UF_CRM_AS_VIN']);
  });

  it('leaves alone what someone changed after the install, and pipelines or statuses that hold items', () => {
    const { snapshot, ledger } = settledPortal(crmPlus);
    snapshot.statuses.find((r) => r.entityId === 'STATUS' && r.statusId === 'NEW')!.name = 'Входящие';
    snapshot.counts.dealsByCategory = { 1: 4, 2: 0, 3: 0 };
    snapshot.counts.leads = { UC_CALLBACK: 2 };
    const plan = planUninstall(crmPlus, snapshot, ledger, originals([
      { key: 'status:NEW', kind: 'status', action: 'update', title: '', before: row('STATUS', 'NEW', 'Не обработан', 10, { color: '#39A8EF', system: true }) },
    ]), 'webhook');
    const find = (text: string) => plan.steps.find((s) => s.title.includes(text))!;
    expect(find('status NEW')).toMatchObject({ action: 'update', call: { params: { fields: { COLOR: '#39A8EF' } } } });
    expect(plan.steps.filter((s) => s.title.includes('status NEW')).map((s) => s.action)).toEqual(['update', 'skip']);
    expect(find('UC_CALLBACK')).toMatchObject({ action: 'skip', blocked: true, detail: 'holds 2 leads: kept; move them to another status first, then run uninstall again' });
    expect(find('Ремонт авто')).toMatchObject({ action: 'skip', detail: expect.stringMatching(/holds 4 deal/) });
    expect(find('Магазин').action).toBe('delete');
  });

  it('in webhook mode says that robots, triggers and event bindings go with the application', () => {
    const { snapshot, ledger } = settledPortal(crmPlus);
    ledger.objects['robot:autosalon_refusal'] = { created: true, hash: 'x' };
    ledger.objects['event:ONCRMDEALUPDATE'] = { created: true, handler: 'https://svc.example.com/events' };
    const plan = planUninstall(crmPlus, snapshot, ledger, new Map(), 'webhook');
    const app = plan.steps.filter((s) => s.group === 'app');
    expect(app.map((s) => `${s.action} ${s.title}`)).toEqual(['skip robot autosalon_refusal "Автосалон: отказ и повторный звонок"', 'skip event ONCRMDEALUPDATE → https://svc.example.com/events']);
    expect(app[0].detail).toMatch(/uninstall the Autosalon application in Bitrix24/);
  });
});
