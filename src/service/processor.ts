// What each job does. Events and sweep checks carry only an item id: the record is read, compared with what
// was last observed, and the rules that fire run through the ActionRunner. Delayed rules re-check their
// condition when due. Robot calls run the refusal or the current stage's actions and answer the workflow.
import type { InstallReport, ProgressEvent } from '../install/index.js';
import { PortalError, type PortalClient } from '../portal/client.js';
import type { RuleDef } from '../template/index.js';
import { ActionRunner, type ActionLog, type RefusalDef } from './actions.js';
import { APP_TRIGGER_RULES, type RobotHandler } from './app-objects.js';
import type { PortalContext } from './portal-context.js';
import {
  actionKey, deriveChange, normalizeValue, planCurrentStage, planDueCheck, planRules, robotCallId, watchedFields, watchedValues,
  type ItemEntity, type ItemState, type Plan, type Previous,
} from './rules.js';
import type { Job, ServiceStore } from './store/types.js';
import { withLanguage } from '../i18n/index.js';

export interface ItemJob { entity: ItemEntity; id: string }
export interface DelayedJob extends ItemJob { ruleId: string; occurrence: string }
export interface RobotJob extends ItemJob {
  handler: RobotHandler;
  workflowId: string;
  eventToken: string;
  properties: Record<string, unknown>;
  useSubscription: boolean;
  /** ms: when the robot ran */
  at: number;
}

/**
 * The coalesce key of an event or sweep check: while one waits in the queue, another for the same item adds nothing
 * (reading the item once serves both).
 */
export function itemWorkKey(memberId: string, item: ItemJob): string {
  return `item|${memberId}|${item.entity}|${item.id}`;
}

/** The CRM item a job works on, if any: the worker never runs two jobs of one item at the same time. */
export function itemOfJob(job: Job): string | undefined {
  if (job.kind === 'install') return undefined;
  const { entity, id } = job.payload as ItemJob;
  return `${job.memberId}|${entity}|${id}`;
}

export interface InstallOptions {
  tier: string;
  lang: 'ru' | 'en';
  app: { publicUrl: string; clientId: string };
  stateDir: string;
  /** The installer's progress and its report, for the install page (service.ts feeds them to InstallProgress). */
  onProgress?: (event: ProgressEvent) => void;
  onReport?: (report: InstallReport) => void;
}
/** Installs the template into a portal in app mode (src/install). */
export type InstallRunner = (client: PortalClient, options: InstallOptions) => Promise<string>;

export interface ProcessorDeps {
  store: ServiceStore;
  context: (memberId: string) => Promise<PortalContext | undefined>;
  clock: () => number;
  log: ActionLog;
  install?: { run: InstallRunner; publicUrl: () => string | undefined; clientId: string; stateDir: string };
}

function refusalDef(rules: RuleDef[]): RefusalDef | undefined {
  for (const rule of rules) {
    for (const action of rule.do) if ('refusal' in action) return action.refusal;
  }
  return undefined;
}

export class Processor {
  constructor(private readonly deps: ProcessorDeps) {}

  async handle(job: Job): Promise<void> {
    switch (job.kind) {
      case 'event':
      case 'check':
        return this.item(job.memberId, job.payload as ItemJob);
      case 'delayed':
        return this.delayed(job.memberId, job.payload as DelayedJob);
      case 'robot':
        return this.robot(job.memberId, job.payload as RobotJob);
      case 'install':
        return this.install(job.memberId);
    }
  }

  private runner(ctx: PortalContext): ActionRunner {
    return new ActionRunner(ctx, this.deps.store, this.deps.clock, this.deps.log);
  }

  private async schedule(ctx: PortalContext, item: ItemState, plan: Plan): Promise<void> {
    for (const check of plan.checks) {
      await this.deps.store.enqueue({
        memberId: ctx.memberId, kind: 'delayed', runAt: check.dueAt, dedupeKey: check.key,
        payload: { entity: item.entity, id: item.id, ruleId: check.ruleId, occurrence: check.occurrence } satisfies DelayedJob,
      });
    }
  }

  /** The item as the rules see it now and what was last observed of it; undefined when the portal no longer has it. */
  private async current(ctx: PortalContext, job: ItemJob): Promise<{ item: ItemState; previous?: Previous } | undefined> {
    const record = await ctx.getItem(job.entity, job.id);
    if (!record) return undefined;
    const previous = await this.deps.store.getObservation(ctx.memberId, job.entity, job.id);
    return { item: await ctx.itemState(job.entity, record, previous), previous };
  }

  /** An event or a sweep found the item changed: derive what happened, run what fires, remember what was seen. */
  private async item(memberId: string, job: ItemJob): Promise<void> {
    const ctx = await this.deps.context(memberId);
    if (!ctx || ctx.rules.length === 0) return;
    const found = await this.current(ctx, job);
    if (!found) return;
    const { item, previous } = found;
    const { store, clock } = this.deps;
    const watched = watchedFields(ctx.rules, job.entity);
    const change = deriveChange(previous, item, ctx.portal.installedAt, watched);
    const plan = planRules(ctx.rules, item, change, memberId);
    const runner = this.runner(ctx);
    const refusal = item.entity === 'deal' ? refusalDef(ctx.rules) : undefined;
    // Back out of the failure stages: the refusal episode ends; a later refusal gets a new re-call.
    if (refusal && item.semantics !== 'failure') await store.closeEpisode(memberId, item.id, clock());
    await this.schedule(ctx, item, plan);
    await runner.run(plan.actions, item);
    await this.fireAppTriggers(ctx, runner, item, plan);
    if (refusal && change.changedFields.includes(refusal.reasonField)) await runner.refusalReasonChanged(item, refusal);
    await runner.closeFulfilledRequirements(item);
    // Saved last: if anything above fails, the retry derives the same change, and done keys are skipped.
    await store.saveObservation({
      memberId, entity: item.entity, itemId: item.id, stageId: item.stageId, stageEnteredAt: item.stageEnteredAt,
      watched: watchedValues(item, watched), updatedAt: clock(), modifiedAt: normalizeValue(item.values.DATE_MODIFY) || undefined,
    });
  }

  /** The app triggers whose rule fired now (APP_TRIGGER_RULES), executed once per occurrence, after the rule's actions. */
  private async fireAppTriggers(ctx: PortalContext, runner: ActionRunner, item: ItemState, plan: Plan): Promise<void> {
    for (const trigger of ctx.template.app.triggers) {
      const fired = plan.actions.find((a) => a.rule.id === APP_TRIGGER_RULES[trigger.code]);
      if (fired) await runner.fireTrigger(item, trigger.code, actionKey(ctx.memberId, item, fired.rule.id, fired.occurrence, `trigger:${trigger.code}`));
    }
  }

  private async delayed(memberId: string, job: DelayedJob): Promise<void> {
    const ctx = await this.deps.context(memberId);
    const rule = ctx?.rules.find((r) => r.id === job.ruleId);
    if (!ctx || !rule) return;
    const found = await this.current(ctx, job);
    if (!found) return;
    await this.runner(ctx).run(planDueCheck(rule, found.item, job.occurrence, memberId), found.item);
  }

  private async robot(memberId: string, job: RobotJob): Promise<void> {
    const ctx = await this.deps.context(memberId);
    if (!ctx) return;
    const found = await this.current(ctx, job);
    if (!found) {
      await this.answerRobot(ctx, job, {}, `${job.entity} ${job.id} was not found`);
      return;
    }
    const { item } = found;
    const runner = this.runner(ctx);
    if (job.handler === 'refusal') {
      const def = refusalDef(ctx.rules);
      if (!def || job.entity !== 'deal') {
        await this.answerRobot(ctx, job, {}, 'the refusal re-call applies to deals of the crm_plus tier only, with its rule switched on');
        return;
      }
      // Anyone holding the application token can call the robot's address: only a deal really refused gets a re-call.
      if (item.semantics !== 'failure') {
        await this.answerRobot(ctx, job, {}, `deal ${job.id} is not in a failure stage (it is at ${item.stageId}); no re-call was scheduled`);
        return;
      }
      const reason = job.properties.reason;
      const { recallDate } = await runner.refusal(item, def, 'robot', { at: job.at, reason: typeof reason === 'string' ? reason : undefined });
      await this.answerRobot(ctx, job, { recall_date: recallDate });
      return;
    }
    const plan = planCurrentStage(ctx.rules, item, memberId);
    await this.schedule(ctx, item, plan);
    await runner.run(plan.actions, item);
    await this.answerRobot(ctx, job, {});
  }

  /** bizproc.event.send, once per robot call; a workflow that does not wait (use_subscription N) gets nothing. */
  private async answerRobot(ctx: PortalContext, job: RobotJob, values: Record<string, string>, logMessage?: string): Promise<void> {
    if (!job.useSubscription) return;
    const key = `${ctx.memberId}|robot|${robotCallId(job.workflowId, job.eventToken)}`;
    await this.runner(ctx).once(key, async (resuming) => {
      try {
        await ctx.rest.call('bizproc.event.send', {
          EVENT_TOKEN: job.eventToken,
          RETURN_VALUES: values,
          ...(logMessage ? { LOG_MESSAGE: logMessage } : {}),
        });
      } catch (error) {
        // A repeated answer after a crash finds the token used up: the first one went through.
        if (!(resuming && error instanceof PortalError && error.code === 'ACCESS_DENIED')) throw error;
      }
      return values;
    });
  }

  private async install(memberId: string): Promise<void> {
    const { install, store } = this.deps;
    const ctx = await this.deps.context(memberId);
    if (!ctx) return;
    const publicUrl = install?.publicUrl();
    if (!install || !publicUrl) {
      await store.updatePortal(memberId, { installState: 'failed', installError: 'the service has no public URL: set AUTOSALON_PUBLIC_URL (or --public-url) and reinstall the application' });
      return;
    }
    try {
      // The install's texts (its plan, skipped and failed reasons) reach the portal's administrator in their language.
      const summary = await withLanguage(ctx.lang, () => install.run(ctx.client, {
        tier: ctx.portal.tier, lang: ctx.lang, app: { publicUrl, clientId: install.clientId }, stateDir: install.stateDir,
      }));
      await store.updatePortal(memberId, { installState: 'installed', installError: undefined });
      this.deps.log.info(`portal ${ctx.portal.domain}: template installed (${summary})`);
    } catch (error) {
      await store.updatePortal(memberId, { installError: error instanceof Error ? error.message : String(error) });
      throw error;
    }
  }
}
