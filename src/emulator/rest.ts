// The REST pipeline, in CRestServer's order: rate limit (cloud front end) → method lookup (404) → authorisation →
// scope → app context → operating limit (429) → the method → envelope with the `time` block. Injected faults sit where
// the real ones would: a 503 at the front door, a 429 per method call, a lost or late answer after the work.
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
  /** The Authorization header, for a `Bearer` token. */
  authorization?: string;
}

/** The answer's format, chosen by the method name's suffix (settings/how-to-call-rest-api/general-principles.md). */
export type RestFormat = 'json' | 'xml';

export interface RestResponse {
  status: number;
  body: unknown;
  /** The method changed nothing (no state write needed). */
  read: boolean;
  format: RestFormat;
  /** Injected fault: the work is done, the answer is never sent. */
  lost?: boolean;
  /** Injected fault: the answer is sent this late. */
  delayMs?: number;
}

interface ParsedPath { method: string; format: RestFormat; webhook?: { userId: string; secret: string } }

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
    return { method: '', format: 'json' };
  }
  // ".json" or ".xml" after the method name picks the format; JSON is the default (general-principles.md).
  const suffix = /\.(json|xml)$/i.exec(method);
  const format: RestFormat = suffix?.[1].toLowerCase() === 'xml' ? 'xml' : 'json';
  if (suffix) method = method.slice(0, -suffix[0].length);
  return { method: method.toLowerCase(), format, webhook };
}

const xmlEscape = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');

function xmlValue(value: unknown): string {
  if (Array.isArray(value)) return xmlElements(Object.fromEntries(value.map((v, i) => [String(i), v])));
  if (value !== null && typeof value === 'object') return xmlElements(value as Record<string, unknown>);
  // PHP's string conversion: true is "1", false and null are "".
  if (value === true) return '1';
  if (value === false || value === null || value === undefined) return '';
  return xmlEscape(String(value));
}

function xmlElements(data: Record<string, unknown>): string {
  let out = '';
  for (const [key, value] of Object.entries(data)) {
    // An integer key (a list position) becomes <item>.
    const tag = /^(0|-?[1-9]\d*)$/.test(key) ? 'item' : key;
    out += `<${tag}>${xmlValue(value)}</${tag}>`;
  }
  return out;
}

/** The XML answer: the JSON answer's data under <response> (CRestServer::output / outputXml, rest/classes/general/rest.php). */
export function toXml(body: unknown): string {
  return xmlElements({ response: body });
}

const errorBody = (e: RestError) => e.toBody();

/**
 * The access token of an OAuth call: an `Authorization: Bearer` header, else the `auth` parameter, else
 * `access_token` (Auth::getAuthKey, rest/lib/oauth/auth.php); both parameters are removed from the method's input.
 */
function accessTokenOf(params: Params, authorization: string | undefined): string {
  const bearer = authorization && /^Bearer\s+/i.test(authorization) ? authorization.replace(/^Bearer\s+/i, '') : undefined;
  const fromParams = ['auth', 'access_token'].map((key) => params[key]).find((v) => v !== undefined && typeof v !== 'object');
  delete params.auth;
  delete params.access_token;
  const token = bearer ?? fromParams;
  return token === undefined || token === null ? '' : String(token);
}

export function authenticate(portal: Portal, params: Params, webhook: ParsedPath['webhook'], authorization?: string): AuthInfo {
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
  const token = accessTokenOf(params, authorization);
  if (!token) throw new RestError('NO_AUTH_FOUND', 'Wrong authorization data', 401);
  const row = state.tokens.find((t) => t.accessToken === token && !t.revoked);
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
      throw operationTimeLimit();
    }
    if (def.name !== 'batch' && portal.restFaults.refuseCall()) {
      portal.stats.injected429++;
      throw operationTimeLimit();
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

const operationTimeLimit = () => new RestError('OPERATION_TIME_LIMIT', 'Method is blocked due to operation time limit.', 429);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** One HTTP request to /rest/…: counted, rate-limited, delayed by the configured latency, then processed. */
export async function handleRest(portal: Portal, request: RestRequest): Promise<RestResponse> {
  portal.stats.httpRequests++;
  const parsed = parseRestPath(request.path);
  const format = parsed?.format ?? 'json';
  // An injected refusal stands in for the front end's, so the request is not counted by the bucket either.
  let refused = false;
  if (portal.restFaults.refuseRequest()) {
    portal.stats.injected503++;
    refused = true;
  } else if (portal.config.limits && !portal.bucket.take()) {
    portal.stats.rejected503++;
    refused = true;
  }
  if (portal.config.latencyMs > 0) await sleep(portal.config.latencyMs);
  // The front end answers before PHP sees the method name, so in JSON whatever the suffix.
  if (refused) return { status: 503, body: { error: 'QUERY_LIMIT_EXCEEDED', error_description: 'Too many requests' }, read: true, format: 'json' };
  const def = parsed && parsed.method ? findMethod(portal, parsed.method) : undefined;
  if (!parsed || !def) return { status: 404, body: errorBody(methodNotFound()), read: true, format };
  const params = requestParams(request.query, request.body, request.contentType);
  let auth: AuthInfo;
  try {
    auth = authenticate(portal, params, parsed.webhook, request.authorization);
  } catch (error) {
    if (error instanceof RestError) return { status: error.status, body: errorBody(error), read: true, format };
    throw error;
  }
  const fault = portal.restFaults.answer();
  if (fault.lost) portal.stats.lostAnswers++;
  if (fault.delayMs > 0) portal.stats.latencySpikes++;
  const outcome = await portal.events.withinHit(() => invoke(portal, def, params, auth, false));
  return { status: outcome.status, body: outcome.body, read: def.read === true, format, lost: fault.lost, delayMs: fault.delayMs };
}
