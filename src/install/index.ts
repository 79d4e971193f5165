// The installer's public API: the automation service runs it in app mode when the Market install event arrives.
export { chooseTier, packBatches, runInstall, type InstallOptions, type ProgressEvent } from './apply.js';
export { addStage, type AddStageOptions, type AddStageReport } from './add-stage.js';
export { InstallError, type InstallReport, type Ledger, type Plan, type Step } from './model.js';
export { isSettled, needsConsent, planInstall, type PlanInput } from './plan.js';
export { renderPlan, renderSummary, reportJson } from './render.js';
export { defaultStateDir, PortalState } from './state.js';
export { planUninstall, uninstall, type UninstallOptions, type UninstallReport } from './uninstall.js';
export { verifyPortal, type VerifyOptions, type VerifyReport } from './verify.js';
