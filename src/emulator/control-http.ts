// The control API over HTTP (JSON in, JSON out), for an emulator running as a separate process. One API for every
// portal: each route acts on the portal named by `?portal=<member_id or 1-based index>`, portal 1 without it.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ControlInputError, type Collection, type EmulatorControl, type EmulatorStats } from './control.js';
import { isObject } from './params.js';
import type { Lang } from './seed.js';
import { CRM_OPERATIONS, type CrmOperation } from './state.js';

/** A portal as the emulator's first stdout line and GET /_control/portals list it. */
export interface PortalSummary {
  /** https://127.0.0.1:PORT/rest/1/SECRET/ — the portal's admin webhook. */
  webhookUrl: string;
  origin: string;
  /** https://127.0.0.1:PORT/ — the portal's web shell: its applications in the left menu, opened in a frame (?user=N acts as user N). */
  portalUrl: string;
  /** host:port, the portal's DOMAIN. */
  domain: string;
  memberId: string;
  plan: string;
  timeZone: string;
}

export interface NewPortalSpec { plan?: string; timeZone?: string; language?: Lang }

/** What the control API needs of the emulator beyond one portal's EmulatorControl. */
export interface ControlHub {
  /** The portal a request names (member_id or 1-based index; undefined: portal 1); ControlInputError when there is none. */
  select(selector: string | undefined): EmulatorControl;
  portals(): PortalSummary[];
  addPortal(spec: NewPortalSpec): Promise<PortalSummary>;
  /** Every portal's statistics and their sum. */
  allStats(): { total: EmulatorStats; portals: (EmulatorStats & { memberId: string; domain: string })[] };
}

function jsonBody(req: FastifyRequest): Record<string, unknown> {
  const raw = req.body;
  if (typeof raw !== 'string' || raw.trim() === '') return {};
  const parsed: unknown = JSON.parse(raw);
  if (!isObject(parsed)) throw new ControlInputError('the request body must be a JSON object');
  return parsed;
}

const ENTITIES = ['lead', 'deal', 'contact', 'company'] as const;
function crmEntity(name: string): (typeof ENTITIES)[number] {
  if (!(ENTITIES as readonly string[]).includes(name)) throw new ControlInputError(`unknown CRM entity "${name}": use lead, deal, contact or company`);
  return name as (typeof ENTITIES)[number];
}
const objectOf = (v: unknown): Record<string, unknown> => (isObject(v) ? v : {});
/** {"userId": 3} acts as that user; {"userId": null} as automation (events without tokens); absent: user 1. */
const userOf = (b: Record<string, unknown>) => ('userId' in b ? { userId: b.userId === null ? null : Number(b.userId) } : {});

type Handler = (body: Record<string, unknown>, req: FastifyRequest, control: EmulatorControl) => unknown;

const queryOf = (req: FastifyRequest) => (req.query ?? {}) as Record<string, string | undefined>;

function langOf(value: unknown): Lang | undefined {
  if (value === undefined) return undefined;
  if (value !== 'ru' && value !== 'en') throw new ControlInputError(`"lang" takes ru or en (got ${JSON.stringify(value)})`);
  return value;
}

function textOf(body: Record<string, unknown>, name: string): string | undefined {
  const value = body[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value === '') throw new ControlInputError(`"${name}" takes a non-empty string (got ${JSON.stringify(value)})`);
  return value;
}

export function registerControlRoutes(app: FastifyInstance, base: string, hub: ControlHub): void {
  const route = (method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, handler: Handler) => {
    app.route({
      method,
      url: `${base}${url}`,
      handler: async (req: FastifyRequest, reply: FastifyReply) => {
        try {
          const body = method === 'GET' ? {} : jsonBody(req);
          const selector = queryOf(req).portal;
          const allStats = selector === 'all' && method === 'GET' && url === '/stats';
          const result = await handler(body, req, hub.select(allStats ? undefined : selector));
          return reply.code(200).header('content-type', 'application/json; charset=utf-8').send(JSON.stringify(result ?? { ok: true }));
        } catch (error) {
          const status = error instanceof ControlInputError || error instanceof SyntaxError ? 400 : 409;
          return reply.code(status).send({ error: (error as Error).message });
        }
      },
    });
  };
  const param = (req: FastifyRequest, name: string) => (req.params as Record<string, string>)[name];

  route('GET', '/portals', () => hub.portals());
  route('POST', '/portals', (b) => hub.addPortal({ plan: textOf(b, 'plan'), timeZone: textOf(b, 'timeZone'), language: langOf(b.lang) }));
  // ?portal=all: every portal's counters and their sum.
  route('GET', '/stats', (_b, req, control) => (queryOf(req).portal === 'all' ? hub.allStats() : control.stats()));
  route('POST', '/stats/reset', (_b, _req, control) => control.resetStats());
  route('POST', '/limits/reset', (_b, _req, control) => control.resetLimits());
  route('POST', '/apps', (b, _req, control) => control.installApp(b));
  route('POST', '/apps/:clientId/uninstall', (b, req, control) => control.uninstallApp(param(req, 'clientId'), { clean: b.clean === true }));
  route('POST', '/apps/:clientId/install-finish', (_b, req, control) => control.finishInstall(param(req, 'clientId')));
  route('POST', '/apps/:clientId/tokens', (b, req, control) => control.issueToken(param(req, 'clientId'), Number(b.userId ?? 1)));
  route('POST', '/tokens/expire', (b, _req, control) => ({ expired: control.expireAccessTokens(typeof b.clientId === 'string' ? b.clientId : undefined) }));
  route('GET', '/faults', (_b, _req, control) => control.faults());
  route('PUT', '/faults', (b, _req, control) => control.setFaults(b));
  route('GET', '/deliveries', (_b, req, control) => {
    const q = queryOf(req);
    return control.deliveries({ kind: q.kind as never, event: q.event });
  });
  route('POST', '/deliveries/wait', (_b, _req, control) => control.waitForDeliveries());
  route('GET', '/clock', (_b, _req, control) => ({ now: control.now(), iso: new Date(control.now()).toISOString() }));
  route('POST', '/clock', (b, _req, control) => {
    if (typeof b.advanceMs === 'number') return { now: control.advanceClock(b.advanceMs) };
    if (b.set !== undefined) {
      const ms = typeof b.set === 'number' ? b.set : Date.parse(String(b.set));
      if (Number.isNaN(ms)) throw new ControlInputError('"set" must be epoch milliseconds or an ISO date');
      return { now: control.setClock(ms) };
    }
    throw new ControlInputError('give {"advanceMs": N} or {"set": epochMs | ISO date}');
  });
  route('POST', '/plan', (b, _req, control) => control.setPlan(String(b.plan ?? '')));
  route('POST', '/robots/run', (b, _req, control) => {
    const { delivery, ...run } = control.runRobot(b as never);
    return { ...run, deliveryId: delivery.id };
  });
  route('GET', '/robots/runs/:workflowId', (_b, req, control) => {
    const run = control.robotRun(param(req, 'workflowId'));
    if (!run) throw new ControlInputError(`no robot run ${param(req, 'workflowId')}`);
    return run;
  });
  route('POST', '/leads/:id/convert', (b, req, control) => control.convertLead(Number(param(req, 'id')), b));
  route('POST', '/deals/:id/move', (b, req, control) => control.moveDeal(Number(param(req, 'id')), Number(b.categoryId), { stageId: typeof b.stageId === 'string' ? b.stageId : undefined, ...userOf(b) }));
  route('POST', '/crm/:entity', (b, req, control) => ({ id: control.addRecord(crmEntity(param(req, 'entity')), objectOf(b.fields), userOf(b)) }));
  route('POST', '/crm/:entity/:id', (b, req, control) => control.updateRecord(crmEntity(param(req, 'entity')), Number(param(req, 'id')), objectOf(b.fields), userOf(b)));
  route('PUT', '/users/:userId/time-zone', (b, req, control) => control.setUserTimeZone(Number(param(req, 'userId')), String(b.timeZone ?? '')));
  route('PUT', '/users/:userId/crm/:entity', (b, req, control) => {
    const denied = Array.isArray(b.denied) ? b.denied.map(String) : [];
    const unknown = denied.filter((op) => !(CRM_OPERATIONS as readonly string[]).includes(op));
    if (unknown.length) throw new ControlInputError(`unknown CRM operation "${unknown[0]}": use read, add, update or delete`);
    control.restrictCrm(Number(param(req, 'userId')), crmEntity(param(req, 'entity')), denied as CrmOperation[]);
  });
  route('GET', '/collections/:name', (_b, req, control) => control.collection(param(req, 'name') as Collection));
}
