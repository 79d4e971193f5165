export * from './model.js';
export { DEFAULT_TEMPLATE_DIR, loadTemplate } from './loader.js';
export { TemplateError, formatIssue, type TemplateIssue } from './issues.js';
export { filterByTier, isTier, knownPlanCodes, knownPlanTier, tierForAppInfo, tierForPlan, type PlanTier } from './tiers.js';
export { fillPlaceholders } from './labels.js';
export { MAX_FIELD_NAME } from './validate.js';
