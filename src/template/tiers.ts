import type { Template } from './model.js';

export interface PlanTier {
  tier: string;
  /** The plan code after normalisation (lower case, region prefix removed). */
  plan: string;
  /** The mapping entry that matched, or "unknown". */
  matchedBy: string;
}

/** Maps an app.info plan code (LICENSE "ru_ent250", LICENSE_TYPE "ent250" or LICENSE_FAMILY "ent") to a tier. */
export function tierForPlan(template: Pick<Template, 'manifest'>, code: string): PlanTier {
  const plan = code.trim().toLowerCase().replace(/^[a-z]{2}_(?=[a-z])/, '');
  const { tiers, unknown } = template.manifest.plans;
  for (const [tier, codes] of Object.entries(tiers)) {
    if (codes.includes(plan)) return { tier, plan, matchedBy: plan };
  }
  let best: PlanTier | undefined;
  for (const [tier, codes] of Object.entries(tiers)) {
    for (const entry of codes) {
      if (!entry.endsWith('*')) continue;
      const prefix = entry.slice(0, -1);
      if (plan.startsWith(prefix) && (!best || prefix.length > best.matchedBy.length - 1)) {
        best = { tier, plan, matchedBy: entry };
      }
    }
  }
  return best ?? { tier: unknown, plan, matchedBy: 'unknown' };
}

/**
 * The tier of a portal from what app.info says of its plan: LICENSE_TYPE first; when that code is unknown to the
 * mapping, LICENSE_FAMILY, then LICENSE (a new plan name may still belong to a known family).
 */
export function tierForAppInfo(
  template: Pick<Template, 'manifest'>, info: { licenseType?: string; licenseFamily?: string; license?: string },
): PlanTier {
  const byType = info.licenseType ? tierForPlan(template, info.licenseType) : undefined;
  if (byType && byType.matchedBy !== 'unknown') return byType;
  if (info.licenseFamily) return tierForPlan(template, info.licenseFamily);
  return tierForPlan(template, info.license || info.licenseType || 'unknown');
}

/** The plan codes the mapping names, as written in template.yaml (a trailing * stands for every code it begins). */
export function knownPlanCodes(template: Pick<Template, 'manifest'>): string[] {
  return Object.values(template.manifest.plans.tiers).flat();
}

/** The tier of a plan code a person gave (--plan), or undefined when the mapping does not name it. */
export function knownPlanTier(template: Pick<Template, 'manifest'>, code: string): PlanTier | undefined {
  const found = tierForPlan(template, code);
  return found.matchedBy === 'unknown' ? undefined : found;
}

export function isTier(template: Pick<Template, 'tiers'>, tier: string): boolean {
  return template.tiers.includes(tier);
}

/** The part of the template a portal of `tier` gets: every element whose tier is at or below it. */
export function filterByTier(template: Template, tier: string): Template {
  const limit = template.tiers.indexOf(tier);
  if (limit < 0) throw new Error(`unknown tier "${tier}" (known: ${template.tiers.join(', ')})`);
  const within = (t: string | undefined) => template.tiers.indexOf(t ?? template.tiers[0]) <= limit;
  const app = within(template.app.tier)
    ? template.app
    : { ...template.app, robots: [], triggers: [], events: [], businessProcesses: [] };
  return {
    ...template,
    leads: within(template.leads.tier) ? template.leads : { ...template.leads, statuses: [], remove: [] },
    pipelines: template.pipelines.filter((p) => within(p.tier)),
    fields: template.fields.filter((f) => within(f.tier)),
    cards: template.cards.filter((c) => within(c.tier)),
    rules: template.rules.filter((r) => within(r.tier)),
    app,
  };
}
