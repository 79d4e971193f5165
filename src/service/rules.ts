// The rules engine, pure: from what a CRM item looks like now and what was last observed of it, decide which of
// the template's rules fire, and give every action an idempotency key. No I/O: the executor does the REST work.
import { createHash } from 'node:crypto';
import type { ActionDef, ConditionDef, RuleDef, Semantics } from '../template/index.js';

export type ItemEntity = 'lead' | 'deal';

/** A lead or deal as the rules see it. */
export interface ItemState {
  entity: ItemEntity;
  id: string;
  /** The portal's stage id (deals: C5:INSPECTION). */
  stageId: string;
  /** The template's code for it (INSPECTION). */
  stageCode: string;
  /** The template pipeline of a deal; undefined for leads and for pipelines the template does not know. */
  pipeline?: string;
  semantics: Semantics;
  /** ms */
  stageEnteredAt: number;
  /** ms */
  createdAt: number;
  /** The record as the portal returned it. */
  values: Record<string, unknown>;
}

/** What was last observed of the item (absent for an item never seen). */
export interface Previous {
  stageId: string;
  stageEnteredAt: number;
  watched: Record<string, string>;
}

export interface Change {
  created: boolean;
  /** The current stage entry has not been seen before. */
  enteredStage: boolean;
  changedFields: string[];
}

export interface PlannedAction {
  /** (portal, entity, item, rule, occurrence, action index): the same occurrence never acts twice. */
  key: string;
  rule: RuleDef;
  index: number;
  action: ActionDef;
  occurrence: string;
}

/** A delayed rule: due at dueAt, when its condition is checked again. */
export interface PlannedCheck {
  key: string;
  ruleId: string;
  occurrence: string;
  dueAt: number;
}

export interface Plan {
  actions: PlannedAction[];
  checks: PlannedCheck[];
}

const UNIT_MS = { m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** "30m" | "2h" | "1d" → ms. */
export function durationMs(text: string): number {
  const m = /^(\d+)([mhd])$/.exec(text);
  if (!m) throw new RangeError(`"${text}" is not a duration such as 30m, 2h or 1d`);
  return Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS];
}

/** A field value as one comparable string: empty values are "", lists are joined in order. */
export function normalizeValue(value: unknown): string {
  if (value === undefined || value === null || value === false) return '';
  if (Array.isArray(value)) return value.map(normalizeValue).filter(Boolean).join('\u001f');
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value).trim();
}

export function isEmptyValue(value: unknown, kind: 'user' | 'plain' = 'plain'): boolean {
  const text = normalizeValue(value);
  return text === '' || (kind === 'user' && text === '0');
}

/** A short stable fingerprint of a text, for idempotency keys and tags. */
export const digest = (text: string, length = 12) => createHash('sha1').update(text).digest('hex').slice(0, length);

/** One robot call (its workflow and event token): the same call delivered twice has the same id. */
export const robotCallId = (workflowId: string, eventToken: string) => `${workflowId}|${digest(eventToken, 16)}`;

export const CREATE_OCCURRENCE = 'create';

export function stageOccurrence(item: Pick<ItemState, 'stageId' | 'stageEnteredAt'>): string {
  return `stage:${item.stageId}@${new Date(item.stageEnteredAt).toISOString()}`;
}

function changeOccurrence(item: ItemState, fields: string[]): string {
  return `change:${fields.map((f) => `${f}=${digest(normalizeValue(item.values[f]))}`).join(',')}`;
}

/** `index` is the action's place in the rule (-1: the delayed check; `trigger:<code>`: an app trigger it fires). */
export function actionKey(memberId: string, item: Pick<ItemState, 'entity' | 'id'>, ruleId: string, occurrence: string, index: number | string): string {
  return [memberId, item.entity, item.id, ruleId, occurrence, index].join('|');
}

/** Fields whose changes matter: those of `change` triggers and the refusal reason (its re-call text follows it). */
export function watchedFields(rules: RuleDef[], entity: ItemEntity): string[] {
  const fields = new Set<string>();
  for (const rule of rules) {
    if (rule.entity !== entity) continue;
    if (rule.when.on === 'change') rule.when.fields.forEach((f) => fields.add(f));
    for (const action of rule.do) if ('refusal' in action) fields.add(action.refusal.reasonField);
  }
  return [...fields].sort();
}

export function watchedValues(item: ItemState, fields: string[]): Record<string, string> {
  return Object.fromEntries(fields.map((f) => [f, normalizeValue(item.values[f])]));
}

/**
 * What happened to the item since it was last observed. Creations and stage entries before `since` (the moment
 * the portal's automation started) are history: an item first seen long after it was made does not fire them.
 */
export function deriveChange(previous: Previous | undefined, item: ItemState, since: number, watched: string[]): Change {
  if (!previous) {
    // Bitrix24 keeps whole seconds: an item made in the second of the install counts as made after it.
    since = Math.floor(since / 1000) * 1000;
    const created = item.createdAt >= since;
    return {
      created,
      enteredStage: item.stageEnteredAt >= since,
      // Without an earlier observation only a new item has a known "before": empty.
      changedFields: created ? watched.filter((f) => normalizeValue(item.values[f]) !== '') : [],
    };
  }
  return {
    created: false,
    enteredStage: previous.stageId !== item.stageId || previous.stageEnteredAt !== item.stageEnteredAt,
    changedFields: watched.filter((f) => normalizeValue(item.values[f]) !== (previous.watched[f] ?? '')),
  };
}

export function conditionHolds(condition: ConditionDef | undefined, item: ItemState): boolean {
  if (!condition) return true;
  if ('stageIn' in condition) return condition.stageIn.includes(item.stageCode);
  if ('semanticsNotIn' in condition) return !condition.semanticsNotIn.includes(item.semantics);
  const value = item.values[condition.field];
  const values = Array.isArray(value) ? value.map(normalizeValue) : [normalizeValue(value)];
  return values.some((v) => condition.in.includes(v));
}

export function ruleApplies(rule: RuleDef, item: ItemState): boolean {
  if (rule.entity !== item.entity) return false;
  if (rule.pipelines && (!item.pipeline || !rule.pipelines.includes(item.pipeline))) return false;
  return true;
}

function stageMatches(rule: RuleDef, item: ItemState): boolean {
  const w = rule.when;
  if (w.on !== 'enterStage') return false;
  if (w.stages && !w.stages.includes(item.stageCode)) return false;
  if (w.semantics && w.semantics !== item.semantics) return false;
  return true;
}

function actionsOf(rule: RuleDef, item: ItemState, occurrence: string, memberId: string): PlannedAction[] {
  return rule.do.map((action, index) => ({
    key: actionKey(memberId, item, rule.id, occurrence, index),
    rule, index, action, occurrence,
  }));
}

/** The rules that fire for this change, in template order: immediate actions, and delayed checks to schedule. */
export function planRules(rules: RuleDef[], item: ItemState, change: Change, memberId: string): Plan {
  const plan: Plan = { actions: [], checks: [] };
  for (const rule of rules) {
    if (!ruleApplies(rule, item)) continue;
    const w = rule.when;
    let occurrence: string | undefined;
    let base = 0;
    if (w.on === 'create' && change.created) {
      occurrence = CREATE_OCCURRENCE;
      base = item.createdAt;
    } else if (w.on === 'enterStage' && change.enteredStage && stageMatches(rule, item)) {
      occurrence = stageOccurrence(item);
      base = item.stageEnteredAt;
    } else if (w.on === 'change' && w.fields.some((f) => change.changedFields.includes(f))) {
      plan.actions.push(...actionsOf(rule, item, changeOccurrence(item, w.fields), memberId));
      continue;
    }
    if (occurrence === undefined || w.on === 'change') continue;
    if (w.after) {
      plan.checks.push({
        key: actionKey(memberId, item, rule.id, occurrence, -1),
        ruleId: rule.id, occurrence, dueAt: base + durationMs(w.after),
      });
    } else if (conditionHolds(w.if, item)) {
      plan.actions.push(...actionsOf(rule, item, occurrence, memberId));
    }
  }
  return plan;
}

/**
 * A delayed rule is due: it acts only if the item is still in the situation that scheduled it (the same stage
 * entry, for stage rules) and its condition holds now.
 */
export function planDueCheck(rule: RuleDef, item: ItemState, occurrence: string, memberId: string): PlannedAction[] {
  if (!ruleApplies(rule, item) || rule.when.on === 'change') return [];
  if (occurrence.startsWith('stage:') && occurrence !== stageOccurrence(item)) return [];
  if (!conditionHolds(rule.when.if, item)) return [];
  return actionsOf(rule, item, occurrence, memberId);
}

/** The stage-actions robot: the rules of the current stage entry, keyed like the event path so nothing runs twice. */
export function planCurrentStage(rules: RuleDef[], item: ItemState, memberId: string): Plan {
  return planRules(rules.filter((r) => r.when.on === 'enterStage'), item, { created: false, enteredStage: true, changedFields: [] }, memberId);
}
