// A saved plan (install --out plan.json): the plan as it was shown, with what it was made from (portal, template,
// tier, language), so `autosalon apply plan.json` applies exactly it — and refuses when planning again on the portal
// as it is now gives anything else (someone changed the portal, the ledger or the template in between).
import { readFileSync, writeFileSync } from 'node:fs';
import { tr } from '../i18n/index.js';
import type { Template } from '../template/model.js';
import { LANGUAGES } from '../template/constants.js';
import { fingerprint } from './desired.js';
import { InstallError, type Plan, type Step } from './model.js';

export const SAVED_PLAN_FORMAT = 'autosalon-plan';

/** One step as the comparison sees it: what is done to which object, the call, and the object's state when planned. */
export interface SavedStep {
  id: string;
  action: Step['action'];
  kind: Step['kind'];
  key: string;
  title: string;
  detail?: string;
  deferred: boolean;
  call?: { method: string; params: Record<string, unknown> };
  /** Fingerprint of the object as the portal held it when the plan was made (updates and deletes). */
  state?: string;
}

export interface SavedPlan {
  format: typeof SAVED_PLAN_FORMAT;
  version: 1;
  createdAt: string;
  portal: { key: string; origin: string; mode: 'webhook' | 'app' };
  template: { code: string; version: string; dir: string; fingerprint: string };
  tier: string;
  tierSource: string;
  lang: Plan['lang'];
  keepEdits: boolean;
  publicUrl?: string;
  steps: SavedStep[];
}

/** The file's shape (zod is loaded only here: applying a plan is the one thing that reads one). */
async function savedPlanSchema() {
  const { z } = await import('zod');
  return z.object({
  format: z.literal(SAVED_PLAN_FORMAT),
  version: z.literal(1),
  createdAt: z.string(),
  portal: z.object({ key: z.string(), origin: z.string(), mode: z.enum(['webhook', 'app']) }),
  template: z.object({ code: z.string(), version: z.string(), dir: z.string(), fingerprint: z.string() }),
  tier: z.string(),
  tierSource: z.string(),
  lang: z.enum(LANGUAGES),
  keepEdits: z.boolean(),
  publicUrl: z.string().optional(),
  steps: z.array(z.object({
    id: z.string(), action: z.enum(['create', 'update', 'delete', 'keep', 'skip']),
    kind: z.enum(['status', 'stage', 'category', 'field', 'card', 'robot', 'trigger', 'event', 'bp']),
    key: z.string(), title: z.string(), detail: z.string().optional(), deferred: z.boolean(),
    call: z.object({ method: z.string(), params: z.record(z.string(), z.unknown()) }).optional(),
    state: z.string().optional(),
  })),
  });
}

/** A template's content as one fingerprint: a saved plan is applied only with the template it was made from. */
export function templateFingerprint(template: Template): string {
  return fingerprint(template);
}

export function savedSteps(plan: Plan): SavedStep[] {
  return plan.steps.map((s) => ({
    id: s.id, action: s.action, kind: s.kind, key: s.key, title: s.title, ...(s.detail ? { detail: s.detail } : {}),
    deferred: s.deferred ?? false,
    ...(s.call ? { call: { method: s.call.method, params: s.call.params } } : {}),
    ...(s.before !== undefined ? { state: fingerprint(s.before) } : {}),
  }));
}

export function writeSavedPlan(file: string, saved: SavedPlan): void {
  // No secret is in a plan (the portal's address only, never the webhook's secret or a token).
  writeFileSync(file, `${JSON.stringify(saved, null, 2)}\n`);
}

export async function readSavedPlan(file: string): Promise<SavedPlan> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new InstallError(tr().savedPlan.unreadable(file, (error as Error).message));
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw new InstallError(tr().savedPlan.notJson(file, (error as Error).message));
  }
  const parsed = (await savedPlanSchema()).safeParse(data);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new InstallError(tr().savedPlan.notAPlan(file, `${issue.path.join('.') || '—'}: ${issue.message}`));
  }
  return parsed.data as SavedPlan;
}

/** What differs between the saved plan and the plan made now, one readable line each (empty when they are the same). */
export function planDifferences(saved: SavedStep[], now: SavedStep[]): string[] {
  const t = tr();
  const comparable = (s: SavedStep) => JSON.stringify([s.action, s.deferred, s.call ?? null, s.state ?? null]);
  const before = new Map(saved.map((s) => [s.key, s]));
  const after = new Map(now.map((s) => [s.key, s]));
  const out: string[] = [];
  for (const [key, s] of before) {
    const n = after.get(key);
    if (!n) out.push(t.savedPlan.stepGone(s.title));
    else if (comparable(s) !== comparable(n)) out.push(t.savedPlan.stepChanged(n.title, s.action, n.action, n.detail ?? ''));
  }
  for (const [key, n] of after) if (!before.has(key)) out.push(t.savedPlan.stepNew(n.action, n.title, n.detail ?? ''));
  return out;
}
