// The REST pipeline, in CRestServer's order: rate limit (cloud front end) → method lookup (404) → authorisation →
// scope → app context → operating limit (429) → the method → envelope with the `time` block.
import { RestError, appContextRequired, methodNotFound, wrongAuthType } from './errors.js';
import { phpInt, requestParams, type Params } from './params.js';
import type { Portal } from './portal.js';
import { ListAnswer, type AuthInfo, type CallContext, type MethodDef } from './registry.js';
import { unixSeconds } from './time.js';

export interface RestRequest {
  /** Path after the origin, e.g. /rest/1/secret/crm.lead.list.json */
  path: string;
  query: string;
  body: unknown;
  contentType?: string;
}

export interface RestResponse {
  status: number;
  body: unknown;
  /** The method changed nothing (no state write needed). */
  read: boolean;
}

interface ParsedPath { method: string; webhook?: { userId: string; secret: string } }

export function parseRestPath(path: string): ParsedPath | undefined {
  const clean = path.replace(/\/{2,}/g, '/');
  const m = /^\/rest\/(.*)$/.exec(clean);
  if (!m) return undefined;
  const parts = m[1].split('/').filter(Boolean).map((p) => decodeURIComponent(p));
  let method: string;
  let webhook: ParsedPath['webhook'];
  if (parts.length === 3 && /^\d+$/.test(parts[0])) {
    webhook = { userId: parts[0], secret: parts[1] };
    method = parts[2];
  } else if (parts.length === 1) {
    method = parts[0];
  } else {
    return { method: '' };
  }
  method = method.replace(/\.json$/i, '').toLowerCase();
  return { method, webhook };
}

const errorBody = (e: RestError) => e.toBody();

export function authenticate(portal: Portal, params: Params, webhook: ParsedPath['webhook']): AuthInfo {
  const state = portal.state;
  if (webhook) {
    if (String(state.webhook.userId) !== webhook.userId || state.webhook.secret !== webhook.secret) {
      throw new RestError('INVALID_CREDENTIALS', 'Invalid request credentials', 401);
    }
    if (!portal.restAvailable) throw new RestError('ACCESS_DENIED', 'REST is available only by subscription.', 403);
    return {
      type: 'webhook',
      userId: state.webhook.userId,
      scope: state.webhook.scope,
      clientId: null,
      app: null,
      entity: `webhook:${state.webhook.userId}`,
      authParams: {},
      accessToken: null,
    };
  }
  const token = typeof params.auth === 'string' ? params.auth : '';
  delete params.auth;
  if (!token) throw new RestError('NO_AUTH_FOUND', 'Wrong authorization data', 401);
  const row = state.tokens.find((t) => t.accessToken === token);
  const app = row ? portal.app(row.clientId) : undefined;
  if (!row || !app) throw new RestError('NO_AUTH_FOUND', 'Wrong authorization data', 401);
  if (!portal.restAvailable) throw new RestError('ACCESS_DENIED', 'REST is available only on commercial plans.', 403);
  if (!app.installed) throw new RestError('APPLICATION_NOT_FOUND', 'Application not found', 401);
  if (row.expires <= portal.now()) throw new RestError('expired_token', 'The access token provided has expired', 401);
  return {
    type: 'oauth',
    userId: row.userId,
    scope: row.scope,
    clientId: app.clientId,
    app,
    entity: `app:${app.clientId}`,
    authParams: { auth: token },
    accessToken: token,
  };
}

/** Checks that the method exists for this portal (some exist only with a plan feature). */
export function findMethod(portal: Portal, name: string): MethodDef | undefined {
  const def = portal.registry.get(name);
  if (!def) return undefined;
  if (def.feature) {
    const features = Array.isArray(def.feature) ? def.feature : [def.feature];
    if (!features.some((f) => portal.feature(f))) return undefined;
  }
  return def;
}

export interface InvokeOutcome {
  status: number;
  body: Record<string, unknown>;
}

/** Runs one method for an authorised caller: scope, app context, operating limit, handler, envelope. */
export async function invoke(portal: Portal, def: MethodDef, params: Params, auth: AuthInfo, inBatch: boolean): Promise<InvokeOutcome> {
  const startedAt = portal.now();
  const startedReal = performance.now();
  const limiterKey = `${auth.type}|${auth.entity}|${def.name}`;
  try {
    if (def.scope && !auth.scope.includes(def.scope)) {
      // An OAuthException, so HTTP 401 (CRestServer::checkAuth; the docs' table says 403). A batch command's check
      // (CRestServerBatchItem::checkAuth) gives no description.
      const description = inBatch ? '' : `The request requires higher privileges than provided by the ${auth.type === 'webhook' ? 'webhook token' : 'access token'}`;
      throw new RestError('insufficient_scope', description, 401);
    }
    if (def.appOnly && auth.type !== 'oauth') throw def.appOnly === 'authType' ? wrongAuthType() : appContextRequired();
    // batch itself is exempt (LoadLimiter::$ignoreMethod); its commands are counted one by one.
    const limited = portal.config.limits && def.name !== 'batch';
    if (limited && portal.operating.isBlocked(limiterKey)) {
      portal.stats.rejected429++;
      throw new RestError('OPERATION_TIME_LIMIT', 'Method is blocked due to operation time limit.', 429);
    }
    let start = 0;
    if (params.start !== undefined) {
      start = phpInt(params.start);
      delete params.start;
    }
    portal.stats.calls[def.name] = (portal.stats.calls[def.name] ?? 0) + 1;
    const ctx: CallContext = { portal, auth, method: def.name, start, inBatch };
    const processStart = performance.now();
    const output = await def.handler(params, ctx);
    const processing = (performance.now() - processStart) / 1000;
    const simulated = Math.max(processing, portal.callCost(def.name));
    if (limited) portal.operating.record(limiterKey, simulated);

    const body: Record<string, unknown> = {};
    if (output instanceof ListAnswer) {
      body.result = output.result;
      if (output.next !== undefined) body.next = output.next;
      if (output.total !== undefined) body.total = output.total;
    } else {
      body.result = output === undefined ? null : output;
    }
    const finishedAt = startedAt + Math.max(performance.now() - startedReal, simulated * 1000);
    const time: Record<string, unknown> = {
      start: unixSeconds(startedAt),
      finish: unixSeconds(finishedAt),
      duration: (finishedAt - startedAt) / 1000,
      processing: simulated,
      date_start: portal.datetime(startedAt),
      date_finish: portal.datetime(finishedAt),
    };
    if (portal.config.limits) {
      const resetAt = portal.operating.resetAt(limiterKey);
      if (resetAt !== undefined) time.operating_reset_at = resetAt;
      time.operating = portal.operating.used(limiterKey);
    }
    body.time = time;
    return { status: 200, body };
  } catch (error) {
    if (error instanceof RestError) return { status: error.status, body: errorBody(error) };
    const message = error instanceof Error ? error.message : String(error);
    console.error(`emulator: ${def.name} failed: ${error instanceof Error ? error.stack : message}`);
    return { status: 500, body: { error: 'INTERNAL_SERVER_ERROR', error_description: `Internal server error: ${message}` } };
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** One HTTP request to /rest/…: counted, rate-limited, delayed by the configured latency, then processed. */
export async function handleRest(portal: Portal, request: RestRequest): Promise<RestResponse> {
  portal.stats.httpRequests++;
  if (portal.config.limits && !portal.bucket.take()) {
    portal.stats.rejected503++;
    if (portal.config.latencyMs > 0) await sleep(portal.config.latencyMs);
    return { status: 503, body: { error: 'QUERY_LIMIT_EXCEEDED', error_description: 'Too many requests' }, read: true };
  }
  if (portal.config.latencyMs > 0) await sleep(portal.config.latencyMs);
  const parsed = parseRestPath(request.path);
  const def = parsed && parsed.method ? findMethod(portal, parsed.method) : undefined;
  if (!parsed || !def) return { status: 404, body: errorBody(methodNotFound()), read: true };
  const params = requestParams(request.query, request.body, request.contentType);
  let auth: AuthInfo;
  try {
    auth = authenticate(portal, params, parsed.webhook);
  } catch (error) {
    if (error instanceof RestError) return { status: error.status, body: errorBody(error), read: true };
    throw error;
  }
  const outcome = await portal.events.withinHit(() => invoke(portal, def, params, auth, false));
  return { status: outcome.status, body: outcome.body, read: def.read === true };
}
