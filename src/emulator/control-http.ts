// The control API over HTTP (JSON in, JSON out), for an emulator running as a separate process.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Collection, EmulatorControl } from './control.js';
import { isObject } from './params.js';
import { CRM_OPERATIONS, type CrmOperation } from './state.js';

function jsonBody(req: FastifyRequest): Record<string, unknown> {
  const raw = req.body;
  if (typeof raw !== 'string' || raw.trim() === '') return {};
  const parsed: unknown = JSON.parse(raw);
  if (!isObject(parsed)) throw new ControlInputError('the request body must be a JSON object');
  return parsed;
}

class ControlInputError extends Error {}

const ENTITIES = ['lead', 'deal', 'contact', 'company'] as const;
function crmEntity(name: string): (typeof ENTITIES)[number] {
  if (!(ENTITIES as readonly string[]).includes(name)) throw new ControlInputError(`unknown CRM entity "${name}": use lead, deal, contact or company`);
  return name as (typeof ENTITIES)[number];
}
const objectOf = (v: unknown): Record<string, unknown> => (isObject(v) ? v : {});
/** {"userId": 3} acts as that user; {"userId": null} as automation (events without tokens); absent: user 1. */
const userOf = (b: Record<string, unknown>) => ('userId' in b ? { userId: b.userId === null ? null : Number(b.userId) } : {});

type Handler = (body: Record<string, unknown>, req: FastifyRequest) => unknown;

export function registerControlRoutes(app: FastifyInstance, base: string, control: EmulatorControl): void {
  const route = (method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, handler: Handler) => {
    app.route({
      method,
      url: `${base}${url}`,
      handler: async (req: FastifyRequest, reply: FastifyReply) => {
        try {
          const result = await handler(method === 'GET' ? {} : jsonBody(req), req);
          return reply.code(200).header('content-type', 'application/json; charset=utf-8').send(JSON.stringify(result ?? { ok: true }));
        } catch (error) {
          const status = error instanceof ControlInputError || error instanceof SyntaxError ? 400 : 409;
          return reply.code(status).send({ error: (error as Error).message });
        }
      },
    });
  };
  const param = (req: FastifyRequest, name: string) => (req.params as Record<string, string>)[name];

  route('GET', '/stats', () => control.stats());
  route('POST', '/stats/reset', () => control.resetStats());
  route('POST', '/limits/reset', () => control.resetLimits());
  route('POST', '/apps', (b) => control.installApp(b));
  route('POST', '/apps/:clientId/uninstall', (b, req) => control.uninstallApp(param(req, 'clientId'), { clean: b.clean === true }));
  route('POST', '/apps/:clientId/tokens', (b, req) => control.issueToken(param(req, 'clientId'), Number(b.userId ?? 1)));
  route('POST', '/tokens/expire', (b) => ({ expired: control.expireAccessTokens(typeof b.clientId === 'string' ? b.clientId : undefined) }));
  route('GET', '/faults', () => control.eventFaults());
  route('PUT', '/faults', (b) => control.setEventFaults(b));
  route('GET', '/deliveries', (_b, req) => {
    const q = req.query as Record<string, string>;
    return control.deliveries({ kind: q.kind as never, event: q.event });
  });
  route('POST', '/deliveries/wait', () => control.waitForDeliveries());
  route('GET', '/clock', () => ({ now: control.now(), iso: new Date(control.now()).toISOString() }));
  route('POST', '/clock', (b) => {
    if (typeof b.advanceMs === 'number') return { now: control.advanceClock(b.advanceMs) };
    if (b.set !== undefined) {
      const ms = typeof b.set === 'number' ? b.set : Date.parse(String(b.set));
      if (Number.isNaN(ms)) throw new ControlInputError('"set" must be epoch milliseconds or an ISO date');
      return { now: control.setClock(ms) };
    }
    throw new ControlInputError('give {"advanceMs": N} or {"set": epochMs | ISO date}');
  });
  route('POST', '/plan', (b) => control.setPlan(String(b.plan ?? '')));
  route('POST', '/robots/run', (b) => {
    const { delivery, ...run } = control.runRobot(b as never);
    return { ...run, deliveryId: delivery.id };
  });
  route('GET', '/robots/runs/:workflowId', (_b, req) => {
    const run = control.robotRun(param(req, 'workflowId'));
    if (!run) throw new ControlInputError(`no robot run ${param(req, 'workflowId')}`);
    return run;
  });
  route('POST', '/leads/:id/convert', (b, req) => control.convertLead(Number(param(req, 'id')), b));
  route('POST', '/deals/:id/move', (b, req) => control.moveDeal(Number(param(req, 'id')), Number(b.categoryId), { stageId: typeof b.stageId === 'string' ? b.stageId : undefined, ...userOf(b) }));
  route('POST', '/crm/:entity', (b, req) => ({ id: control.addRecord(crmEntity(param(req, 'entity')), objectOf(b.fields), userOf(b)) }));
  route('POST', '/crm/:entity/:id', (b, req) => control.updateRecord(crmEntity(param(req, 'entity')), Number(param(req, 'id')), objectOf(b.fields), userOf(b)));
  route('PUT', '/users/:userId/crm/:entity', (b, req) => {
    const denied = Array.isArray(b.denied) ? b.denied.map(String) : [];
    const unknown = denied.filter((op) => !(CRM_OPERATIONS as readonly string[]).includes(op));
    if (unknown.length) throw new ControlInputError(`unknown CRM operation "${unknown[0]}": use read, add, update or delete`);
    control.restrictCrm(Number(param(req, 'userId')), crmEntity(param(req, 'entity')), denied as CrmOperation[]);
  });
  route('GET', '/collections/:name', (_b, req) => control.collection(param(req, 'name') as Collection));
}
