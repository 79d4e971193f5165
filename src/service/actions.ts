// Carries out planned actions through REST, each exactly once. Every action's key is recorded as "started" in the
// store before its side effect and "done" after. A key found "started" (the process died in between) is resolved
// by looking the effect up — a task by its CRM binding and title, a to-do by its owner and subject, a deal or
// contact by LEAD_ID — and never by repeating a create blindly. Notifications carry the key as their TAG, which
// makes a repeated notification replace the first instead of adding a second.
import { LostResponseError, PortalError } from '../portal/client.js';
import { CRM_ENTITY_TYPE_ID } from '../portal/snapshot.js';
import { recallDate, recallDueAt } from '../recall/index.js';
import { fillPlaceholders, type ActionDef, type CrmEntity } from '../template/index.js';
import { fieldsOf } from '../template/model.js';
import { isNotFound, type PortalContext } from './portal-context.js';
import { actionScope } from './rest-pipeline.js';
import { digest, durationMs, isEmptyValue, normalizeValue, type ItemEntity, type ItemState, type PlannedAction } from './rules.js';
import type { RecallEpisode, ServiceStore } from './store/types.js';
import { recallDescription, texts } from './texts.js';
import { displayDate, portalDateTime } from './time.js';

type Row = Record<string, unknown>;
export type RefusalDef = Extract<ActionDef, { refusal: unknown }>['refusal'];
type ConvertDef = Extract<ActionDef, { convert: unknown }>['convert'];
/** A task or a to-do of the template. */
type WorkDef = Extract<ActionDef, { createTask: unknown }>['createTask'] | Extract<ActionDef, { createTodo: unknown }>['createTodo'];

const CRM_TASK_PREFIX: Record<string, string> = { lead: 'L', deal: 'D', contact: 'C', company: 'CO' };

/** A create whose answer was lost and whose effect the look-up did not find yet: try again later, looking up first. */
export class EffectUnknownError extends Error {
  constructor(what: string) {
    super(`${what}: the portal's answer was lost and the object is not there yet; the job will look again before creating`);
    this.name = 'EffectUnknownError';
  }
}

export interface ActionLog {
  info(message: string): void;
  warn(message: string): void;
}

export class ActionRunner {
  constructor(
    private readonly ctx: PortalContext,
    private readonly store: ServiceStore,
    private readonly clock: () => number,
    private readonly log: ActionLog,
  ) {}

  private get memberId() {
    return this.ctx.memberId;
  }

  private get tz() {
    return this.ctx.settings.timeZone;
  }

  /** Runs the actions in order; each is skipped when its key is already done. */
  async run(actions: PlannedAction[], item: ItemState): Promise<void> {
    for (const planned of actions) {
      let ran = false;
      const result = await this.once(planned.key, (resuming) => {
        ran = true;
        return this.perform(planned, item, resuming);
      });
      if (ran) this.log.info(`${item.entity} ${item.id}: ${planned.rule.id} → ${Object.keys(planned.action)[0]} ${JSON.stringify(result)}`);
    }
  }

  /**
   * Records the key, performs the effect (told whether an earlier attempt may have done it), marks it done. The REST
   * commands of the effect carry the key into the batch they share with other jobs (RestPipeline).
   */
  async once<T>(key: string, effect: (resuming: boolean) => Promise<T>): Promise<T | undefined> {
    const before = await this.store.beginAction(key, this.memberId, this.clock());
    if (before.state === 'done') return before.result as T;
    const result = await actionScope.run(key, () => effect(before.state === 'started'));
    await this.store.finishAction(key, result ?? null, this.clock());
    return result;
  }

  private async perform(p: PlannedAction, item: ItemState, resuming: boolean): Promise<unknown> {
    const a = p.action;
    const at = occurrenceTime(p, item, this.clock());
    if ('notify' in a) return this.notify(p.key, item, a.notify.to, fillPlaceholders(a.notify.message[this.ctx.lang], await this.ctx.displayValues(item)));
    if ('createTask' in a) return this.createTask(item, a.createTask, at, resuming);
    if ('createTodo' in a) return this.createTodo(item, a.createTodo, at, resuming);
    if ('requireFields' in a) return this.requireFields(p, item, a.requireFields, at, resuming);
    if ('checkFormat' in a) return this.checkFormat(p.key, item, a.checkFormat);
    if ('setStage' in a) return this.setStage(item, a.setStage);
    if ('convert' in a) return this.convert(item, a.convert);
    return this.refusal(item, a.refusal, 'event');
  }

  // ---- recipients ----------------------------------------------------------------------------

  /** User ids of the roles (template manifest.roles), without duplicates and empty values. */
  async recipients(roles: string[], item: ItemState): Promise<number[]> {
    const ids: number[] = [];
    const responsible = Number(item.values.ASSIGNED_BY_ID ?? 0);
    for (const roleName of roles) {
      const role = this.ctx.template.manifest.roles[roleName];
      if (!role) {
        this.log.warn(`rule recipient "${roleName}" is not a role of the template; skipped`);
        continue;
      }
      if (role.source === 'responsible') ids.push(responsible);
      else if (role.source === 'field') {
        const value = item.values[role.field];
        ids.push(...(Array.isArray(value) ? value : [value]).map(Number));
      } else if (role.source === 'department_head') {
        const head = responsible > 0 ? await this.ctx.supervisorOf(responsible) : this.settingUsers(role.fallbackSetting)[0];
        if (head) ids.push(head);
      } else {
        ids.push(...this.settingUsers(role.setting));
      }
    }
    return [...new Set(ids.filter((n) => Number.isInteger(n) && n > 0))];
  }

  private settingUsers(setting: string): number[] {
    const value = (this.ctx.settings as unknown as Record<string, unknown>)[setting];
    const list = Array.isArray(value) ? value : value === undefined ? [] : [value];
    return list.map(Number).filter((n) => n > 0);
  }

  // ---- effects -------------------------------------------------------------------------------

  /** One system notification per user, tagged with the action key so a repeat replaces rather than adds. */
  private async notify(key: string, item: ItemState, roles: string[], message: string, users?: number[]): Promise<{ notified: number[] }> {
    const to = users ?? (await this.recipients(roles, item));
    if (to.length === 0) {
      this.log.warn(`${item.entity} ${item.id}: nobody to notify (${roles.join(', ')}): "${message}"`);
      return { notified: [] };
    }
    const tag = `AUTOSALON|${digest(key, 24)}`;
    const commands = Object.fromEntries(to.map((user) => [
      `u${user}`,
      { method: 'im.notify.system.add', params: { USER_ID: user, MESSAGE: message, TAG: `${tag}|${user}` } },
    ]));
    const r = await this.ctx.rest.batch(commands);
    const failed = Object.values(r.errors);
    if (failed.length) throw failed[0];
    return { notified: to };
  }

  /** Who a task or to-do goes to, and its texts; with nobody to assign, retrying cannot help. */
  private async assignment(item: ItemState, def: WorkDef, what: 'task' | 'to-do'): Promise<{ responsible: number; title: string; description: string }> {
    const [responsible] = await this.recipients([def.to], item);
    if (!responsible) throw new PermanentActionError(`${item.entity} ${item.id}: the ${what} "${def.title.en}" has no responsible user (role ${def.to})`);
    const values = await this.ctx.displayValues(item);
    return {
      responsible,
      title: fillPlaceholders(def.title[this.ctx.lang], values),
      description: def.description ? fillPlaceholders(def.description[this.ctx.lang], values) : '',
    };
  }

  private async createTask(item: ItemState, def: WorkDef, at: number, resuming: boolean): Promise<{ taskId: number }> {
    const { responsible, title, description } = await this.assignment(item, def, 'task');
    const binding = `${CRM_TASK_PREFIX[item.entity]}_${item.id}`;
    const find = async () => {
      const { result } = await this.ctx.rest.call<{ tasks?: Row[] }>('tasks.task.list', {
        filter: { UF_CRM_TASK: binding, TITLE: title, RESPONSIBLE_ID: responsible }, select: ['ID', 'TITLE'],
      });
      const found = (result?.tasks ?? []).find((t) => String(t.title ?? t.TITLE) === title);
      return found ? Number(found.id ?? found.ID) : undefined;
    };
    return this.createOnce(`task "${title}" on ${item.entity} ${item.id}`, resuming, find, async () => {
      const { result } = await this.ctx.rest.call<{ task: Row }>('tasks.task.add', {
        fields: {
          TITLE: title, DESCRIPTION: description, RESPONSIBLE_ID: responsible,
          DEADLINE: portalDateTime(at + durationMs(def.deadline), this.tz), UF_CRM_TASK: [binding],
        },
      });
      return Number(result.task.id ?? result.task.ID);
    }).then((taskId) => ({ taskId }));
  }

  private async findTodo(item: { entity: ItemEntity; id: string }, subject: string): Promise<number | undefined> {
    const { result } = await this.ctx.rest.call<Row[]>('crm.activity.list', {
      filter: { OWNER_TYPE_ID: CRM_ENTITY_TYPE_ID[item.entity], OWNER_ID: item.id, SUBJECT: subject },
      select: ['ID', 'SUBJECT'],
    });
    const found = (result ?? []).find((a) => String(a.SUBJECT) === subject);
    return found ? Number(found.ID) : undefined;
  }

  private async addTodo(item: { entity: ItemEntity; id: string }, fields: { title: string; description: string; responsible: number; deadline: number }, resuming: boolean): Promise<number> {
    return this.createOnce(`to-do "${fields.title}" on ${item.entity} ${item.id}`, resuming, () => this.findTodo(item, fields.title), async () => {
      const { result } = await this.ctx.rest.call<{ id: number }>('crm.activity.todo.add', {
        ownerTypeId: CRM_ENTITY_TYPE_ID[item.entity], ownerId: Number(item.id), deadline: portalDateTime(fields.deadline, this.tz),
        title: fields.title, description: fields.description, responsibleId: fields.responsible,
      });
      return Number(result.id);
    });
  }

  private async createTodo(item: ItemState, def: WorkDef, at: number, resuming: boolean): Promise<{ activityId: number }> {
    const { responsible, title, description } = await this.assignment(item, def, 'to-do');
    const activityId = await this.addTodo(item, { title, description, responsible, deadline: at + durationMs(def.deadline) }, resuming);
    return { activityId };
  }

  /** The fields among these that the item has empty (an employee field holding 0 is empty). */
  private missingFields(item: ItemState, fields: string[]): string[] {
    return fields.filter((f) => isEmptyValue(item.values[f], this.ctx.fieldType(f) === 'employee' ? 'user' : 'plain'));
  }

  /**
   * Fields required at this stage and empty: a notification and a to-do naming them, for the responsible user. A
   * refusal's empty reason is asked for by the refusal business process instead, where the portal can start it.
   */
  private async requireFields(p: PlannedAction, item: ItemState, fields: string[], at: number, resuming: boolean): Promise<unknown> {
    let missing = this.missingFields(item, fields);
    const refusal = p.rule.do.find((action) => 'refusal' in action)?.refusal;
    let workflowId: string | undefined;
    if (refusal && item.entity === 'deal' && missing.includes(refusal.reasonField)) {
      workflowId = await this.askReasonByProcess(item, refusal);
      if (workflowId) missing = missing.filter((f) => f !== refusal.reasonField);
    }
    if (missing.length === 0) return { missing: [], ...(workflowId ? { workflowId } : {}) };
    const w = texts(this.ctx.lang);
    const labels = missing.map((f) => `«${this.ctx.fieldLabel(f)}»`).join(', ');
    const stage = this.ctx.stageName(item);
    const title = String(item.values.TITLE ?? `#${item.id}`);
    const responsible = Number(item.values.ASSIGNED_BY_ID ?? 0);
    await this.notify(p.key, item, ['responsible'], w.missingFields(item.entity === 'lead' ? w.lead : w.deal, title, stage, labels));
    let activityId: number | undefined;
    if (responsible > 0) {
      activityId = await this.addTodo(item, {
        title: w.missingTodo(missing.map((f) => this.ctx.fieldLabel(f)).join(', ')),
        description: w.missingTodoText(stage),
        responsible,
        deadline: at + durationMs('1h'),
      }, resuming);
      // Remembered so that the to-do is marked done once a later event shows the fields filled.
      await this.store.addRequirement({ memberId: this.memberId, entity: item.entity, itemId: item.id, activityId, fields: missing, createdAt: this.clock() });
    }
    return { missing, activityId, ...(workflowId ? { workflowId } : {}) };
  }

  /**
   * The to-dos that asked for fields this item now has filled are marked done (crm.activity.update COMPLETED=Y, the
   * documented way to complete an activity). Doing it twice is harmless, so a lost answer is simply retried.
   */
  async closeFulfilledRequirements(item: ItemState): Promise<void> {
    for (const requirement of await this.store.openRequirements(this.memberId, item.entity, item.id)) {
      if (this.missingFields(item, requirement.fields).length > 0) continue;
      let outcome = 'completed';
      try {
        await this.ctx.rest.call('crm.activity.update', { id: requirement.activityId, fields: { COMPLETED: 'Y' } });
        this.log.info(`${item.entity} ${item.id}: required fields filled, to-do ${requirement.activityId} marked done`);
      } catch (error) {
        if (!(error instanceof PortalError) || isTransient(error)) throw error;
        // Deleted by a user, or the token may not edit it: nothing to retry; the to-do is not looked at again.
        outcome = isNotFound(error) ? 'gone' : `failed: ${error.code || error.description}`;
        if (outcome !== 'gone') this.log.warn(`${item.entity} ${item.id}: the filled-in to-do ${requirement.activityId} could not be marked done (${error.message})`);
      }
      await this.store.closeRequirement(requirement.id, outcome, this.clock());
    }
  }

  private async checkFormat(key: string, item: ItemState, fields: string[]): Promise<unknown> {
    const wrong: string[] = [];
    for (const code of fields) {
      const field = this.ctx.template.fields.find((f) => f.code === code);
      const value = normalizeValue(item.values[code]);
      if (!field?.validate || value === '') continue;
      if (new RegExp(field.validate.pattern).test(value)) continue;
      wrong.push(code);
      await this.notify(`${key}|${code}`, item, ['responsible'], fillPlaceholders(field.validate.message[this.ctx.lang], item.values));
    }
    return { wrong };
  }

  private async setStage(item: ItemState, code: string): Promise<unknown> {
    if (item.stageCode === code) return { moved: false };
    const prefix = /^C\d+:/.exec(item.stageId)?.[0] ?? '';
    const fields = item.entity === 'lead' ? { STATUS_ID: code } : { STAGE_ID: `${prefix}${code}` };
    await this.ctx.rest.call(`crm.${item.entity}.update`, { id: item.id, fields });
    return { moved: true, to: code };
  }

  // ---- conversion ----------------------------------------------------------------------------

  /**
   * Creates what a qualified lead lacks: contact, company, deal. Everything is looked up first (by the lead's own
   * links and LEAD_ID, as the UI's conversion leaves them) and created with LEAD_ID, so a second run, a UI
   * conversion or a lost answer never produces a duplicate.
   */
  private async convert(item: ItemState, def: ConvertDef): Promise<unknown> {
    const lead = item.values;
    const pipeline = await this.pipelineFor(item, def);
    const layout = await this.ctx.layout();
    let categoryId = layout.categoryOfPipeline.get(pipeline);
    if (categoryId === undefined) categoryId = (await this.ctx.layout(true)).categoryOfPipeline.get(pipeline);
    if (categoryId === undefined) {
      throw new PermanentActionError(`lead ${item.id}: the pipeline "${pipeline}" is not in the portal; run "autosalon install" to create it`);
    }
    const existing = await this.ctx.rest.batch({
      deal: { method: 'crm.deal.list', params: { filter: { LEAD_ID: item.id }, select: ['ID'], order: { ID: 'ASC' } } },
      contact: { method: 'crm.contact.list', params: { filter: { LEAD_ID: item.id }, select: ['ID'], order: { ID: 'ASC' } } },
      company: { method: 'crm.company.list', params: { filter: { LEAD_ID: item.id }, select: ['ID'], order: { ID: 'ASC' } } },
    });
    const failed = Object.values(existing.errors);
    if (failed.length) throw failed[0];
    const firstId = (key: string) => {
      const rows = existing.result[key] as Row[] | undefined;
      return rows?.length ? Number(rows[0].ID) : undefined;
    };
    const linked = (field: string) => (Number(lead[field] ?? 0) > 0 ? Number(lead[field]) : undefined);
    const dealId = firstId('deal');
    if (dealId) return { dealId, created: [] };

    const created: string[] = [];
    const fm = [...multifield(lead.PHONE).map((v) => ({ typeId: 'PHONE', ...v })), ...multifield(lead.EMAIL).map((v) => ({ typeId: 'EMAIL', ...v }))]
      .map((v) => ({ typeId: v.typeId, valueType: v.VALUE_TYPE, value: v.VALUE }));
    const assignedById = Number(lead.ASSIGNED_BY_ID ?? 0) || undefined;
    let companyId = linked('COMPANY_ID') ?? firstId('company');
    const companyTitle = normalizeValue(lead.COMPANY_TITLE);
    if (!companyId && companyTitle) {
      companyId = await this.createByLead('company', item.id, { title: companyTitle, assignedById, fm, ...this.copyFields(lead, 'company') });
      created.push('company');
    }
    let contactId = linked('CONTACT_ID') ?? firstId('contact');
    const person = ['NAME', 'LAST_NAME', 'SECOND_NAME'].some((f) => normalizeValue(lead[f]) !== '');
    if (!contactId && (person || fm.length)) {
      contactId = await this.createByLead('contact', item.id, {
        name: lead.NAME, lastName: lead.LAST_NAME, secondName: lead.SECOND_NAME, assignedById, companyId, fm,
        ...this.copyFields(lead, 'contact'),
      });
      created.push('contact');
    }
    const need = normalizeValue(lead.UF_CRM_AS_NEED);
    const newDealId = await this.createByLead('deal', item.id, {
      title: lead.TITLE ?? `#${item.id}`, categoryId, assignedById, contactId, companyId, sourceId: lead.SOURCE_ID,
      opportunity: lead.OPPORTUNITY, currencyId: lead.CURRENCY_ID,
      comments: [need, normalizeValue(lead.COMMENTS)].filter(Boolean).join('\n\n'),
      ...this.copyFields(lead, 'deal'),
    });
    created.push('deal');
    return { dealId: newDealId, contactId, companyId, created };
  }

  /** The deal pipeline named by the lead's line-of-business field (an enumeration: item ID → XML_ID). */
  private async pipelineFor(item: ItemState, def: ConvertDef): Promise<string> {
    const value = normalizeValue(item.values[def.pipelineField]);
    if (!value) return def.default;
    const items = await this.ctx.enumItems('lead', def.pipelineField);
    const xmlId = items.find((i) => i.id === value)?.xmlId ?? value;
    return def.pipelines[xmlId] ?? def.default;
  }

  /** The template fields the lead shares with the target entity (same FIELD_NAME), with their values. */
  private copyFields(lead: Row, target: CrmEntity): Row {
    const targetCodes = new Set(fieldsOf(this.ctx.template, target).map((f) => f.code));
    const out: Row = {};
    for (const f of fieldsOf(this.ctx.template, 'lead')) {
      if (targetCodes.has(f.code) && !isEmptyValue(lead[f.code])) out[f.code] = lead[f.code];
    }
    return out;
  }

  /**
   * crm.item.add, because only it takes leadId (LEAD_ID is read-only in crm.deal.add / crm.contact.add): the link is
   * what lets a later run, or the UI's own conversion, find the object instead of making another.
   */
  private async createByLead(entity: 'deal' | 'contact' | 'company', leadId: string, fields: Row): Promise<number> {
    const clean = Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined && v !== null && v !== '' && !(Array.isArray(v) && v.length === 0)));
    const find = async () => {
      const { result } = await this.ctx.rest.call<Row[]>(`crm.${entity}.list`, { filter: { LEAD_ID: leadId }, select: ['ID'], order: { ID: 'ASC' } });
      return result?.length ? Number(result[0].ID) : undefined;
    };
    return this.createOnce(`${entity} of lead ${leadId}`, false, find, async () => {
      const { result } = await this.ctx.rest.call<{ item: { id: number } }>('crm.item.add', {
        entityTypeId: CRM_ENTITY_TYPE_ID[entity], fields: { ...clean, leadId: Number(leadId) }, useOriginalUfNames: 'Y',
      });
      return Number(result.item.id);
    });
  }

  /**
   * Creates an object once: when an earlier attempt may have created it, look it up first; when this attempt's
   * answer is lost, look it up instead of repeating the create.
   */
  private async createOnce<T>(what: string, resuming: boolean, find: () => Promise<T | undefined>, create: () => Promise<T>): Promise<T> {
    if (resuming) {
      const found = await find();
      if (found) return found;
    }
    try {
      return await create();
    } catch (error) {
      if (!(error instanceof LostResponseError)) throw error;
      const found = await find();
      if (found) return found;
      throw new EffectUnknownError(what);
    }
  }

  // ---- refusal and re-call -------------------------------------------------------------------

  /**
   * The re-call of a refusal episode. The deal's open episode (one at most; the store enforces it) is reused, so
   * the event path and the robot path, a duplicate delivery or a failure → failure move schedule one re-call.
   */
  async refusal(item: ItemState, def: RefusalDef, source: RecallEpisode['source'], robot?: { at: number; reason?: string }): Promise<{ episodeId: number; recallDate: string }> {
    const reasonNow = normalizeValue(item.values[def.reasonField]) || normalizeValue(robot?.reason);
    const episode = await this.episode(item, def, source, robot);
    await this.completeEpisode(episode, item, def, reasonNow);
    // A reason given after the re-call was planned without it (the robot's property, the field filled meanwhile).
    if (reasonNow) await this.applyReason(episode, item, def, reasonNow);
    return { episodeId: episode.id, recallDate: episode.recallDate };
  }

  /** The deal's open refusal episode, opened now if it has none. */
  private async episode(item: ItemState, def: RefusalDef, source: RecallEpisode['source'], robot?: { at: number; reason?: string }): Promise<RecallEpisode> {
    const episode = await this.store.getOpenEpisode(this.memberId, item.id);
    if (episode) return episode;
    const at = item.semantics === 'failure' ? item.stageEnteredAt : robot?.at ?? item.stageEnteredAt;
    const responsibleId = Number(item.values.ASSIGNED_BY_ID ?? 0);
    const opened = await this.store.openEpisode({
      memberId: this.memberId, dealId: item.id, stageId: item.stageId, enteredAt: at,
      recallDate: recallDate(new Date(at), this.tz),
      reason: normalizeValue(item.values[def.reasonField]) || normalizeValue(robot?.reason),
      dealTitle: String(item.values.TITLE ?? ''), client: await this.clientName(item), responsibleId,
      responsibleName: responsibleId > 0 ? (await this.ctx.user(responsibleId))?.name ?? `#${responsibleId}` : '',
      source, createdAt: this.clock(),
    });
    if (opened.created) this.log.info(`deal ${item.id}: refusal, re-call on ${opened.episode.recallDate}`);
    return opened.episode;
  }

  private episodeKey(episode: RecallEpisode, item: ItemState): string {
    return `${this.memberId}|deal|${item.id}|recall|${episode.id}`;
  }

  /**
   * Starts the refusal business process on the deal (its "request information" step asks the responsible user for
   * the reason), once per refusal episode. Returns the workflow id, or undefined when the portal cannot run it —
   * no business processes on its plan, no template, no rights — and the reason must be asked for otherwise.
   */
  private async askReasonByProcess(item: ItemState, def: RefusalDef): Promise<string | undefined> {
    const episode = await this.episode(item, def, 'event');
    let ran = false;
    const result = await this.once(`${this.episodeKey(episode, item)}|process`, async (resuming): Promise<{ workflowId: string | null; why?: string }> => {
      ran = true;
      const process = await this.ctx.refusalProcess();
      if ('unavailable' in process) return { workflowId: null, why: process.unavailable };
      const documentId = `DEAL_${item.id}`;
      try {
        const workflowId = await this.createOnce(
          `refusal business process on deal ${item.id}`, resuming,
          () => this.findWorkflow(process.templateId, documentId),
          async () => String((await this.ctx.rest.call<string>('bizproc.workflow.start', {
            TEMPLATE_ID: process.templateId, DOCUMENT_ID: ['crm', 'CCrmDocumentDeal', documentId],
          })).result),
        );
        return { workflowId };
      } catch (error) {
        const why = processRefusal(error);
        if (!why) throw error;
        if (why.lasting) this.ctx.refusalProcessUnavailable(why.text);
        return { workflowId: null, why: why.text };
      }
    });
    if (ran) {
      if (result?.workflowId) this.log.info(`deal ${item.id}: the refusal business process ${result.workflowId} asks the responsible user for the reason`);
      else this.log.warn(`deal ${item.id}: the refusal business process was not started (${result?.why ?? 'unknown'}); the reason is asked for with a notification and a to-do`);
    }
    return result?.workflowId ?? undefined;
  }

  /**
   * A running workflow of the template on the document (bizproc.workflow.instances lists running ones only): after a
   * lost answer, the proof that the start went through. Any of them counts, an older one that still waits included.
   */
  private async findWorkflow(templateId: number, documentId: string): Promise<string | undefined> {
    let rows: Row[];
    try {
      rows = (await this.ctx.rest.call<Row[]>('bizproc.workflow.instances', {
        select: ['ID', 'TEMPLATE_ID', 'DOCUMENT_ID'], filter: { TEMPLATE_ID: templateId, DOCUMENT_ID: documentId },
      })).result ?? [];
    } catch (error) {
      throw new WorkflowLookupError(error);
    }
    const found = rows.find((w) => String(w.DOCUMENT_ID) === documentId && Number(w.TEMPLATE_ID) === templateId);
    return found ? String(found.ID) : undefined;
  }

  // ---- app triggers -------------------------------------------------------------------------

  /**
   * Executes an app trigger on the item, at most once per key: Bitrix24 moves the item only where an admin placed the
   * trigger, and offers no way to see whether it fired, so a run that may have sent it already does not send it again.
   */
  async fireTrigger(item: ItemState, code: string, key: string): Promise<void> {
    await this.once(key, async (resuming) => {
      if (resuming) {
        this.log.warn(`${item.entity} ${item.id}: the app trigger ${code} may have been executed before a restart; not executed again`);
        return { fired: 'unknown' };
      }
      try {
        await this.ctx.rest.call('crm.automation.trigger.execute', { CODE: code, OWNER_TYPE_ID: CRM_ENTITY_TYPE_ID[item.entity], OWNER_ID: Number(item.id) });
      } catch (error) {
        if (error instanceof LostResponseError) {
          this.log.warn(`${item.entity} ${item.id}: the answer to the app trigger ${code} was lost; not executed again`);
          return { fired: 'unknown' };
        }
        if (!(error instanceof PortalError) || isTransient(error)) throw error;
        // Not registered (a webhook install, or removed by hand) or no rights: the trigger is optional, the rules still ran.
        this.log.warn(`${item.entity} ${item.id}: the app trigger ${code} was not executed (${error.message}); run the install again to register it`);
        return { fired: false, error: error.code || error.description };
      }
      this.log.info(`${item.entity} ${item.id}: app trigger ${code} executed`);
      return { fired: true };
    });
  }

  /** The episode's effects, each once: the re-call to-do and the date in the deal's field. */
  private async completeEpisode(episode: RecallEpisode, item: ItemState, def: RefusalDef, reason: string): Promise<void> {
    const base = this.episodeKey(episode, item);
    if (!episode.activityId) {
      const responsible = episode.responsibleId || Number(item.values.ASSIGNED_BY_ID ?? 0);
      const result = await this.once(`${base}|todo`, async (resuming) => ({
        activityId: await this.addTodo(item, {
          title: texts(this.ctx.lang).recallTitle,
          description: this.recallText(episode, def, reason || episode.reason),
          responsible,
          deadline: Date.parse(recallDueAt(episode.recallDate, this.tz, this.ctx.settings.recallHour)),
        }, resuming),
      }));
      if (result?.activityId) {
        const withReason = { activityId: result.activityId, reason: reason || episode.reason };
        await this.store.updateEpisode(episode.id, withReason);
        Object.assign(episode, withReason);
      }
    }
    await this.once(`${base}|field`, async () => {
      if (!normalizeValue(item.values[def.recallField]).startsWith(episode.recallDate)) {
        await this.ctx.rest.call('crm.deal.update', { id: item.id, fields: { [def.recallField]: episode.recallDate } });
      }
      return { [def.recallField]: episode.recallDate };
    });
  }

  private recallText(episode: RecallEpisode, def: RefusalDef, reason: string): string {
    return recallDescription(this.ctx.lang, reason, displayDate(new Date(episode.enteredAt).toISOString(), this.tz), this.ctx.settings.recallHint ?? def.hint[this.ctx.lang]);
  }

  /** The reason was filled or changed after the re-call was planned: the to-do's description follows it. */
  async refusalReasonChanged(item: ItemState, def: RefusalDef): Promise<void> {
    const episode = await this.store.getOpenEpisode(this.memberId, item.id);
    if (episode) await this.applyReason(episode, item, def, normalizeValue(item.values[def.reasonField]));
  }

  /** The episode's reason becomes this one: in the re-call to-do's description and in the re-call list. */
  private async applyReason(episode: RecallEpisode, item: ItemState, def: RefusalDef, reason: string): Promise<void> {
    if (episode.reason === reason) return;
    if (episode.activityId) {
      try {
        await this.ctx.rest.call('crm.activity.todo.updateDescription', {
          id: episode.activityId, ownerTypeId: CRM_ENTITY_TYPE_ID.deal, ownerId: Number(item.id), value: this.recallText(episode, def, reason),
        });
      } catch (error) {
        // A done or deleted to-do keeps its text; the re-call list still gets the reason.
        if (!(error instanceof PortalError && ['CAN_NOT_UPDATE_COMPLETED_TODO', 'NOT_FOUND'].includes(error.code))) throw error;
        this.log.warn(`deal ${item.id}: the re-call to-do ${episode.activityId} could not take the new reason (${error.code})`);
      }
    }
    await this.store.updateEpisode(episode.id, { reason });
    episode.reason = reason;
  }

  private async clientName(item: ItemState): Promise<string> {
    const contactId = Number(item.values.CONTACT_ID ?? 0);
    const companyId = Number(item.values.COMPANY_ID ?? 0);
    const parts: string[] = [];
    if (contactId > 0) {
      const contact = await this.ctx.getItem('contact', contactId);
      const name = [contact?.NAME, contact?.LAST_NAME].map(normalizeValue).filter(Boolean).join(' ');
      const phone = multifield(contact?.PHONE)[0]?.VALUE;
      if (name || phone) parts.push([name, phone].filter(Boolean).join(', '));
    }
    if (companyId > 0) {
      const company = await this.ctx.getItem('company', companyId);
      if (company?.TITLE) parts.push(String(company.TITLE));
    }
    return parts.join('; ');
  }
}

/** No answer, a busy portal, a server error: worth a retry later. Bitrix24's own refusals carry a 4xx status. */
function isTransient(error: PortalError): boolean {
  return error instanceof LostResponseError || error.isRateLimit || error.status === 0 || error.status >= 500;
}

/** bizproc.workflow.instances could not be read: whether a workflow started cannot be known. */
class WorkflowLookupError extends Error {
  constructor(cause: unknown) {
    super(`the running business processes could not be listed (${cause instanceof Error ? cause.message : String(cause)})`, { cause });
    this.name = 'WorkflowLookupError';
  }
}

/**
 * Why bizproc.workflow.start could not run, when retrying cannot help: `lasting` for the portal as a whole (the method
 * exists only on plans with business processes; the caller must be an admin; the template is gone), else for this
 * deal only. Undefined for errors worth a retry (the portal busy or unreachable, an answer lost and not found yet).
 */
function processRefusal(error: unknown): { text: string; lasting: boolean } | undefined {
  if (error instanceof WorkflowLookupError) {
    // Without a look-up a second start could duplicate the first: the reason is asked for the plain way instead.
    return { text: `a start whose answer was lost cannot be checked: ${error.message}`, lasting: false };
  }
  if (!(error instanceof PortalError) || isTransient(error)) return undefined;
  const lasting: Record<string, string> = {
    ERROR_METHOD_NOT_FOUND: 'the portal\'s plan has no business processes',
    ACCESS_DENIED: 'the application\'s user is not a portal administrator',
    ERROR_WRONG_WORKFLOW_ID: 'the refusal process template is not on the portal; run the install again',
  };
  const text = lasting[error.code];
  return text ? { text: `${text} (${error.message})`, lasting: true } : { text: error.message, lasting: false };
}

/** An action that cannot succeed by retrying (nobody to assign, the pipeline missing): the job fails with this text. */
export class PermanentActionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PermanentActionError';
  }
}

function multifield(value: unknown): { VALUE: string; VALUE_TYPE: string }[] {
  if (!Array.isArray(value)) return [];
  return value
    .filter((v): v is Row => typeof v === 'object' && v !== null && normalizeValue((v as Row).VALUE) !== '')
    .map((v) => ({ VALUE: String(v.VALUE), VALUE_TYPE: String(v.VALUE_TYPE ?? 'WORK') }));
}

/** When the occurrence happened: deadlines count from it, so a late run still gives the deadline the rule meant. */
function occurrenceTime(p: PlannedAction, item: ItemState, now: number): number {
  if (p.occurrence === 'create') return item.createdAt;
  if (p.occurrence.startsWith('stage:')) return item.stageEnteredAt;
  return now;
}

