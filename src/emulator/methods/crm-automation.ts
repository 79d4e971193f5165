// crm.automation.trigger.* — app triggers (crm/lib/automation/rest/proxy.php; server notes §6; docs
// api-reference/crm/automation/triggers/*). Registering a trigger binds it to no stage: that is done in the UI, so
// `execute` only records that the trigger fired (readable through the control API).
import { accessDenied, crmError } from '../errors.js';
import { phpInt, phpString, upperKeys } from '../params.js';
import type { CallContext, MethodTable } from '../registry.js';
import { CRM_ENTITIES, ENTITY_TYPE_ID } from '../state.js';
import { findRecord } from './crm-items.js';

function requireAdmin(ctx: CallContext): void {
  if (!ctx.portal.isAdmin(ctx.auth.userId)) throw accessDenied('Admin permissions required');
}

function validateCode(code: unknown): string {
  if (code === undefined || code === null || code === '' || code === '0') throw crmError('Empty trigger code!');
  if (!/^[a-z0-9.\-_]+$/i.test(phpString(code))) throw crmError('Wrong trigger code!');
  return phpString(code);
}

const OWNER_TYPES = new Set([1, 2, 3, 4, 5, 7, 8, 31]);

export const crmAutomationMethods: MethodTable = [
  {
    // The "Track incoming webhook" trigger configured in the UI: fired for one item (target TYPENAME_ID).
    name: 'crm.automation.trigger',
    scope: 'crm',
    handler: (params, ctx) => {
      const target = params.target;
      if (target === undefined || target === null) throw crmError('Target is not set.');
      const m = /^(.*)_([^_]*)$/.exec(phpString(target));
      if (!m) throw crmError('Incorrect target format.');
      const entity = CRM_ENTITIES.find((e) => e.toUpperCase() === m[1].toUpperCase());
      const id = phpInt(m[2]);
      if (!entity || id <= 0) throw crmError('Target is not found.');
      if (!findRecord(ctx.portal, entity, id)) throw accessDenied('There is no permissions to update the entity.');
      ctx.portal.state.triggersFired.push({
        id: ctx.portal.nextId('triggerFired'),
        clientId: ctx.auth.clientId ?? '',
        code: `webhook:${phpString(params.code)}`,
        ownerTypeId: ENTITY_TYPE_ID[entity],
        ownerId: id,
        at: ctx.portal.now(),
      });
      return true;
    },
  },
  {
    name: 'crm.automation.trigger.add',
    scope: 'crm',
    appOnly: true,
    handler: (params, ctx) => {
      requireAdmin(ctx);
      const q = upperKeys(params);
      const code = validateCode(q.CODE);
      const name = phpString(q.NAME);
      if (name === '' || name === '0') throw crmError('Empty trigger name!');
      const existing = ctx.portal.state.triggers.find((t) => t.clientId === ctx.auth.clientId && t.code === code);
      // An existing CODE only gets its name updated.
      if (existing) existing.name = name;
      else ctx.portal.state.triggers.push({ clientId: ctx.auth.clientId!, code, name });
      return true;
    },
  },
  {
    name: 'crm.automation.trigger.list',
    scope: 'crm',
    appOnly: true,
    read: true,
    handler: (_params, ctx) => {
      requireAdmin(ctx);
      return ctx.portal.state.triggers.filter((t) => t.clientId === ctx.auth.clientId).map((t) => ({ NAME: t.name, CODE: t.code }));
    },
  },
  {
    name: 'crm.automation.trigger.delete',
    scope: 'crm',
    appOnly: true,
    handler: (params, ctx) => {
      requireAdmin(ctx);
      const code = validateCode(upperKeys(params).CODE);
      const existing = ctx.portal.state.triggers.find((t) => t.clientId === ctx.auth.clientId && t.code === code);
      if (!existing) throw crmError('Trigger not found');
      ctx.portal.state.triggers = ctx.portal.state.triggers.filter((t) => t !== existing);
      return true;
    },
  },
  {
    name: 'crm.automation.trigger.execute',
    scope: 'crm',
    appOnly: true,
    handler: (params, ctx) => {
      requireAdmin(ctx);
      const q = upperKeys(params);
      const code = validateCode(q.CODE);
      if (!ctx.portal.state.triggers.some((t) => t.clientId === ctx.auth.clientId && t.code === code)) throw crmError(`Trigger with code ${code} is not registered.`);
      const ownerTypeId = phpInt(q.OWNER_TYPE_ID);
      if (!OWNER_TYPES.has(ownerTypeId)) throw crmError('Incorrect parameter OWNER_TYPE_ID.');
      const ownerId = phpInt(q.OWNER_ID);
      if (ownerId <= 0) throw crmError('Incorrect parameter OWNER_ID.');
      ctx.portal.state.triggersFired.push({ id: ctx.portal.nextId('triggerFired'), clientId: ctx.auth.clientId!, code, ownerTypeId, ownerId, at: ctx.portal.now() });
      return true;
    },
  },
];
