import { describe, expect, it } from 'vitest';
import {
  conditionHolds, deriveChange, durationMs, planCurrentStage, planDueCheck, planRules, stageOccurrence, watchedFields, watchedValues,
  type ItemState, type Previous,
} from '../../src/service/rules.js';
import { filterByTier, loadTemplate } from '../../src/template/index.js';

const template = loadTemplate();
const rules = filterByTier(template, 'crm_plus').rules;
const MEMBER = 'm1';
const T0 = Date.parse('2027-01-15T09:00:00+03:00');
const SINCE = T0 - 86_400_000;

function lead(over: Partial<ItemState> = {}, values: Record<string, unknown> = {}): ItemState {
  return {
    entity: 'lead', id: '7', stageId: 'NEW', stageCode: 'NEW', semantics: 'process', stageEnteredAt: T0, createdAt: T0,
    values: { ID: '7', TITLE: 'Кузов', STATUS_ID: 'NEW', SOURCE_ID: 'WEB', ASSIGNED_BY_ID: '3', ...values }, ...over,
  };
}

function deal(stageCode: string, over: Partial<ItemState> = {}, values: Record<string, unknown> = {}): ItemState {
  const semantics = ['LOSE', 'OTHER', 'VANISHED'].includes(stageCode) ? 'failure' : stageCode === 'WON' ? 'success' : 'process';
  return {
    entity: 'deal', id: '5', stageId: `C3:${stageCode}`, stageCode, pipeline: 'repair', semantics, stageEnteredAt: T0, createdAt: T0 - 3600_000,
    values: { ID: '5', TITLE: 'Ремонт', STAGE_ID: `C3:${stageCode}`, CATEGORY_ID: '3', ASSIGNED_BY_ID: '3', ...values }, ...over,
  };
}

const seen = (item: ItemState): Previous => ({
  stageId: item.stageId, stageEnteredAt: item.stageEnteredAt, watched: watchedValues(item, watchedFields(rules, item.entity)),
});

const ruleIds = (plan: { actions: { rule: { id: string } }[] }) => [...new Set(plan.actions.map((a) => a.rule.id))];

describe('deriveChange', () => {
  it('a new item created after the automation started is created and entered its stage', () => {
    expect(deriveChange(undefined, lead(), SINCE, [])).toEqual({ created: true, enteredStage: true, changedFields: [] });
  });

  it('an item first seen that was made before the automation started fires nothing', () => {
    const old = lead({ createdAt: SINCE - 1, stageEnteredAt: SINCE - 1 }, { UF_CRM_AS_VIN: 'BAD' });
    expect(deriveChange(undefined, old, SINCE, ['UF_CRM_AS_VIN'])).toEqual({ created: false, enteredStage: false, changedFields: [] });
  });

  it('the same state seen again is no change (a duplicate delivery)', () => {
    const item = deal('LOSE');
    expect(deriveChange(seen(item), item, SINCE, watchedFields(rules, 'deal'))).toEqual({ created: false, enteredStage: false, changedFields: [] });
  });

  it('a new stage, or the same stage entered again later, is a stage entry', () => {
    const before = deal('NEW');
    expect(deriveChange(seen(before), deal('INSPECTION'), SINCE, []).enteredStage).toBe(true);
    expect(deriveChange(seen(before), deal('NEW', { stageEnteredAt: T0 + 1000 }), SINCE, []).enteredStage).toBe(true);
  });

  it('a watched field that changed is reported; a new item reports its non-empty watched fields', () => {
    const before = deal('LOSE');
    const after = deal('LOSE', {}, { UF_CRM_AS_REFUSAL: 'дорого' });
    expect(deriveChange(seen(before), after, SINCE, watchedFields(rules, 'deal')).changedFields).toEqual(['UF_CRM_AS_REFUSAL']);
    expect(deriveChange(undefined, lead({}, { UF_CRM_AS_VIN: 'X' }), SINCE, ['UF_CRM_AS_VIN']).changedFields).toEqual(['UF_CRM_AS_VIN']);
  });
});

describe('planRules on the Autosalon template', () => {
  it('a web-form lead: moved to the first status rule, notification now, convert reminder at +1 h and supervisor check at +2 h', () => {
    const item = lead({ stageId: 'IN_PROCESS', stageCode: 'IN_PROCESS' });
    const plan = planRules(rules, item, { created: true, enteredStage: false, changedFields: [] }, MEMBER);
    expect(ruleIds(plan)).toEqual(['lead.inbound.first_status', 'lead.created.notify']);
    expect(plan.checks.map((c) => [c.ruleId, c.dueAt - T0])).toEqual([
      ['lead.created.convert_reminder', 3_600_000],
      ['lead.created.unprocessed', 7_200_000],
    ]);
  });

  it('a lead from another source is not moved', () => {
    const plan = planRules(rules, lead({}, { SOURCE_ID: 'EMAIL' }), { created: true, enteredStage: true, changedFields: [] }, MEMBER);
    expect(ruleIds(plan)).toEqual(['lead.created.notify']);
  });

  it('keys name portal, item, rule, occurrence and action, and repeat for the same occurrence', () => {
    const item = lead();
    const change = { created: true, enteredStage: true, changedFields: [] };
    const a = planRules(rules, item, change, MEMBER);
    const b = planRules(rules, item, change, MEMBER);
    expect(a.actions.map((x) => x.key)).toEqual(b.actions.map((x) => x.key));
    expect(a.actions.find((x) => x.rule.id === 'lead.created.notify')?.key).toBe('m1|lead|7|lead.created.notify|create|0');
    expect(new Set([...a.actions, ...a.checks].map((x) => x.key)).size).toBe(a.actions.length + a.checks.length);
  });

  it('the clarifying-call stage gets the call-back task; processing requires the line of business', () => {
    const callback = planRules(rules, lead({ stageId: 'UC_CALLBACK', stageCode: 'UC_CALLBACK' }), { created: false, enteredStage: true, changedFields: [] }, MEMBER);
    expect(callback.actions.map((a) => Object.keys(a.action)[0])).toEqual(['createTask']);
    const processing = planRules(rules, lead({ stageId: 'IN_PROCESS', stageCode: 'IN_PROCESS' }), { created: false, enteredStage: true, changedFields: [] }, MEMBER);
    expect(processing.actions.map((a) => a.action)).toEqual([{ requireFields: ['UF_CRM_AS_DIRECTION'] }]);
  });

  it('a repair deal notifies the master at inspection and at repair, not at waiting for parts', () => {
    const at = (code: string) => planRules(rules, deal(code), { created: false, enteredStage: true, changedFields: [] }, MEMBER);
    const notifiesMaster = (code: string) => at(code).actions.some((a) => 'notify' in a.action && a.action.notify.to.includes('master'));
    expect(notifiesMaster('INSPECTION')).toBe(true);
    expect(notifiesMaster('IN_REPAIR')).toBe(true);
    expect(notifiesMaster('WAIT_PARTS')).toBe(false);
    expect(notifiesMaster('PAYMENT')).toBe(false);
  });

  it('pipeline rules apply only in their pipeline, and not in a pipeline the template does not know', () => {
    const entered = { created: false, enteredStage: true, changedFields: [] };
    expect(ruleIds(planRules(rules, deal('INSPECTION', { pipeline: 'wash' }), entered, MEMBER))).toEqual([]);
    expect(ruleIds(planRules(rules, deal('NEW', { pipeline: undefined }), entered, MEMBER))).toEqual([]);
    expect(ruleIds(planRules(rules, deal('NEW', { pipeline: 'wash' }), entered, MEMBER))).toEqual(['deal.info.task']);
  });

  it('every failure stage runs the refusal rule: the reason required, then the re-call', () => {
    for (const code of ['LOSE', 'OTHER']) {
      const plan = planRules(rules, deal(code), { created: false, enteredStage: true, changedFields: [] }, MEMBER);
      expect(plan.actions.map((a) => Object.keys(a.action)[0])).toEqual(['requireFields', 'refusal']);
    }
  });

  it('a changed VIN is checked; the key follows the value, so the same wrong VIN is reported once', () => {
    const item = deal('NEW', {}, { UF_CRM_AS_VIN: 'ABC' });
    const plan = planRules(rules, item, { created: false, enteredStage: false, changedFields: ['UF_CRM_AS_VIN'] }, MEMBER);
    expect(ruleIds(plan)).toEqual(['deal.vin.check']);
    const again = planRules(rules, item, { created: false, enteredStage: false, changedFields: ['UF_CRM_AS_VIN'] }, MEMBER);
    expect(again.actions[0].key).toBe(plan.actions[0].key);
    const other = planRules(rules, deal('NEW', {}, { UF_CRM_AS_VIN: 'XYZ' }), { created: false, enteredStage: false, changedFields: ['UF_CRM_AS_VIN'] }, MEMBER);
    expect(other.actions[0].key).not.toBe(plan.actions[0].key);
  });
});

describe('delayed rules re-check when due', () => {
  const reminder = rules.find((r) => r.id === 'lead.created.convert_reminder')!;
  const unprocessed = rules.find((r) => r.id === 'lead.created.unprocessed')!;

  it('the convert reminder fires for an open lead and not for a converted or junk one', () => {
    expect(planDueCheck(reminder, lead({ stageId: 'IN_PROCESS', stageCode: 'IN_PROCESS' }), 'create', MEMBER)).toHaveLength(1);
    expect(planDueCheck(reminder, lead({ stageId: 'CONVERTED', stageCode: 'CONVERTED', semantics: 'success' }), 'create', MEMBER)).toHaveLength(0);
    expect(planDueCheck(reminder, lead({ stageId: 'JUNK', stageCode: 'JUNK', semantics: 'failure' }), 'create', MEMBER)).toHaveLength(0);
  });

  it('the supervisor is told only if the lead is still new', () => {
    expect(planDueCheck(unprocessed, lead(), 'create', MEMBER)).toHaveLength(1);
    expect(planDueCheck(unprocessed, lead({ stageId: 'IN_PROCESS', stageCode: 'IN_PROCESS' }), 'create', MEMBER)).toHaveLength(0);
  });

  it('a delayed stage rule is void once the item left that stage entry', () => {
    const rule = { ...unprocessed, when: { on: 'enterStage' as const, stages: ['NEW'], after: '1h' } };
    const item = lead();
    expect(planDueCheck(rule, item, stageOccurrence(item), MEMBER)).toHaveLength(1);
    expect(planDueCheck(rule, lead({ stageEnteredAt: T0 + 5000 }), stageOccurrence(item), MEMBER)).toHaveLength(0);
  });
});

describe('helpers', () => {
  it('durations', () => {
    expect([durationMs('30m'), durationMs('2h'), durationMs('1d')]).toEqual([1_800_000, 7_200_000, 86_400_000]);
    expect(() => durationMs('2w')).toThrow(/duration/);
  });

  it('conditions on a field match any value of a multiple field', () => {
    expect(conditionHolds({ field: 'SOURCE_ID', in: ['CALL', 'WEB'] }, lead())).toBe(true);
    expect(conditionHolds({ field: 'SOURCE_ID', in: ['CALL'] }, lead())).toBe(false);
    expect(conditionHolds({ field: 'X', in: ['b'] }, lead({}, { X: ['a', 'b'] }))).toBe(true);
  });

  it('the stage-actions robot plans the current stage with the same keys as the event path', () => {
    const item = deal('INSPECTION');
    const viaEvent = planRules(rules, item, { created: false, enteredStage: true, changedFields: [] }, MEMBER);
    const viaRobot = planCurrentStage(rules, item, MEMBER);
    expect(viaRobot.actions.map((a) => a.key)).toEqual(viaEvent.actions.map((a) => a.key));
  });
});
