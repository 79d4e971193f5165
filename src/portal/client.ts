// The one door to Bitrix24: every REST call of the product goes through PortalClient, which wraps the
// official SDK (@bitrix24/b24jssdk) and adds what the product needs on top of it:
//  - errors with the portal's real code and text (the SDK drops CRM errors whose code is "");
//  - batch with the raw result / result_error maps, so `$result[...]` chains and per-command errors are exact;
//  - waiting out QUERY_LIMIT_EXCEEDED and OPERATION_TIME_LIMIT (the request was not executed, so repeating is safe);
//  - no blind repeat of a write whose response was lost: the caller gets LostResponseError and looks the object up;
//  - a count of HTTP requests.
import { ApiVersion, B24Hook, B24OAuth, RefreshTokenError, type AjaxResult } from '@bitrix24/b24jssdk';
import pRetry, { AbortError } from 'p-retry';
import qs from 'qs';
import { tr } from '../i18n/index.js';

export type RestParams = Record<string, unknown>;

/** A REST error as the portal reported it. `code` may be "" (many CRM methods send only a description). */
export class PortalError extends Error {
  constructor(
    readonly method: string,
    readonly code: string,
    readonly description: string,
    readonly status: number,
  ) {
    super(`${method}: ${code || 'error'}${description ? ` — ${description}` : ''}${status ? ` (HTTP ${status})` : ''}`);
    this.name = 'PortalError';
  }

  get isRateLimit(): boolean {
    return this.code === 'QUERY_LIMIT_EXCEEDED' || this.code === 'OPERATION_TIME_LIMIT';
  }

  get isAccessDenied(): boolean {
    // CRM methods refuse a user without rights with an empty code and only the text "Access denied.".
    return this.code === 'ACCESS_DENIED' || this.code === 'insufficient_scope' || this.code === 'INVALID_CREDENTIALS'
      || (this.code === '' && /\baccess denied\b/i.test(this.description));
  }
}

/** The request may or may not have been executed: a write must be looked up, never repeated blindly. */
export class LostResponseError extends PortalError {
  constructor(
    method: string,
    /** Why there is no answer: "HTTP 502", "econnreset", ... */
    readonly reason: string,
  ) {
    super(method, 'LOST_RESPONSE', `no answer from the portal (${reason}); the call may or may not have been executed`, 0);
    this.name = 'LostResponseError';
  }
}

/**
 * The request never reached the portal (nothing listens there, the name does not resolve, its TLS certificate is not
 * trusted): nothing was executed. It is a LostResponseError for callers that only distinguish "answered" from
 * "not answered" (looking up finds nothing), but it is not sent again: the cause does not pass in a few seconds.
 */
export class UnreachableError extends LostResponseError {
  constructor(method: string, origin: string, cause: string) {
    super(method, cause);
    Object.defineProperty(this, 'code', { value: 'UNREACHABLE' });
    this.message = tr().portal.unreachable(origin, cause);
    this.name = 'UnreachableError';
  }
}

/**
 * The portal accepted the request but did not answer within the time allowed (--timeout-ms): it may or may not have
 * executed it, like any lost answer, but asking again would only wait as long once more, so it is not repeated.
 */
export class TimeoutError extends LostResponseError {
  constructor(method: string, origin: string, readonly timeoutMs: number) {
    super(method, `no answer in ${timeoutMs} ms`);
    Object.defineProperty(this, 'code', { value: 'TIMEOUT' });
    this.message = tr().portal.timeout(origin, timeoutMs);
    this.name = 'TimeoutError';
  }
}

const TLS_ERROR = /CERT|SIGNATURE|SELF_SIGNED|ERR_TLS|ERR_SSL/;
const NOT_CONNECTED = ['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH'] as const;

/** Why a request could not reach the portal at all, or undefined when it may have been sent. */
function notConnected(code: string, message: string): string | undefined {
  if ((NOT_CONNECTED as readonly string[]).includes(code)) return tr().portal.notConnected[code as (typeof NOT_CONNECTED)[number]];
  if (TLS_ERROR.test(code)) return tr().portal.untrustedTls(message || code);
  return undefined;
}

export interface CallResult<T = unknown> {
  result: T;
  total?: number;
  next?: number;
  time?: Record<string, unknown>;
}

export interface BatchCommand { method: string; params?: RestParams }

export interface BatchResult {
  result: Record<string, unknown>;
  errors: Record<string, PortalError>;
  total: Record<string, number>;
  next: Record<string, number>;
}

export interface OAuthTokens {
  accessToken: string;
  refreshToken: string;
  /** Unix seconds. */
  expires: number;
  domain: string;
  clientEndpoint: string;
  serverEndpoint: string;
  memberId: string;
  applicationToken?: string;
  scope?: string;
  userId?: number;
  status?: string;
}

export interface OAuthApp { clientId: string; clientSecret: string }

/** The client-side request budget (see PortalClient.budget). */
export interface RequestBudget {
  /** Requests that may go now (fractions refill continuously). */
  available: number;
  /** The most that can be saved up. */
  burst: number;
  /** ms until the next request may go, 0 when one may now. */
  nextInMs: number;
  /** ms per request refilled. */
  intervalMs: number;
}

/**
 * A request budget shared with other clients of the same portal (other service processes): asked before every
 * request this client sends. The client's own limiter counts only its own requests.
 */
export interface RequestGate {
  /** Takes one request from the shared budget: 0 when it may go now, else the ms to wait before asking again. */
  take(): Promise<number>;
  /** The shared budget as last seen (what the batching pipeline plans with). */
  budget(): RequestBudget;
}

export interface RetryPolicy {
  /** Attempts for a rate-limited request (503 / 429) before giving up. */
  limitAttempts: number;
  /** Attempts for a read whose response was lost. */
  readAttempts: number;
  minDelayMs: number;
  maxDelayMs: number;
}

export interface PortalClientOptions {
  /** Client-side leaky bucket of the SDK: burst and drain per second (Enterprise: 250 / 5). */
  rateLimit?: { burstLimit: number; drainRate: number };
  /**
   * The portal's own leaky bucket (docs limits.md): a 503 QUERY_LIMIT_EXCEEDED means it is full, and it drains
   * `drainPerSecond` requests a second, so one request gets through after 1/drain s. Default: the request-rate
   * limit's, else 2/s (every plan but Enterprise; waiting 0.5 s there too costs little). `burst` bounds the waits:
   * a full bucket is empty after burst/drain seconds.
   */
  portalBucket?: { burst: number; drainPerSecond: number };
  retry?: Partial<RetryPolicy>;
  /** A request the portal accepted but has not answered in this time is given up (TimeoutError); default 30 s. */
  timeoutMs?: number;
  /** A budget shared with other processes, taken before every request (see RequestGate). */
  gate?: RequestGate;
  /** Called after every retry wait, for progress output. */
  onWait?: (info: { method: string; code: string; attempt: number; ms?: number }) => void;
}

const DEFAULT_RETRY: RetryPolicy = { limitAttempts: 12, readAttempts: 4, minDelayMs: 500, maxDelayMs: 60_000 };
/** The SDK's own request timeout (abstract-http.ts), kept as the default. */
export const DEFAULT_TIMEOUT_MS = 30_000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const READ_METHOD = /\.(get|list|fields|types|items|current)$|^(scope|profile|server\.time|app\.info|feature\.get|user\.get|department\.get)$|\.get[A-Z]|\.configuration\.get$/;

/** Reads can be repeated after a lost response; everything else must be looked up instead. */
export function isReadMethod(method: string): boolean {
  return READ_METHOD.test(method);
}

type SdkClient = B24Hook | B24OAuth;

/** What callers of REST need: PortalClient itself, or the service's batching pipeline in front of it. */
export interface RestCaller {
  call<T = unknown>(method: string, params?: RestParams): Promise<CallResult<T>>;
  batch(commands: Record<string, BatchCommand>, options?: { halt?: boolean }): Promise<BatchResult>;
  listAll<T = Record<string, unknown>>(method: string, params?: RestParams, options?: ListOptions): Promise<T[]>;
}

const PAGE_SIZE = 50;
/** Bounded: 2000 pages of 50 is far beyond any portal this product configures. */
const MAX_PAGES = 2000;

export interface ListOptions {
  /** Where a page keeps its items when the result is an object ({ tasks: [...] }, { items: [...] }). */
  itemsKey?: string;
  /**
   * Pages read in the first request already: a caller that usually lists a few pages (the sweep) then needs one
   * request. Pages past the total are dropped, since a CRM list answers a page past its last with its first again.
   */
  firstPages?: number;
  /** Read no more than this many items. */
  max?: number;
}

/**
 * The items of a paged list method (50 per page) and how many the portal has: the first page says how many there
 * are; the other pages are then read together, up to 50 of them in one batch, instead of one request each.
 */
export async function listPages<T = Record<string, unknown>>(
  rest: RestCaller, method: string, params: RestParams = {}, options: ListOptions = {},
): Promise<{ items: T[]; total?: number }> {
  const { itemsKey } = options;
  const max = options.max ?? PAGE_SIZE * MAX_PAGES;
  const page = (result: unknown) => (Array.isArray(result) ? result : itemsKey ? (result as Record<string, T[]> | undefined)?.[itemsKey] ?? [] : []) as T[];
  const speculative = Math.min(Math.max(1, options.firstPages ?? 1), 50, Math.ceil(max / PAGE_SIZE));
  let first: { items: T[][]; total?: number; next?: number };
  if (speculative === 1) {
    const r = await rest.call(method, { ...params, start: 0 });
    first = { items: [page(r.result)], total: r.total, next: r.next };
  } else {
    const r = await readPages(rest, method, params, Array.from({ length: speculative }, (_, i) => i * PAGE_SIZE));
    first = { items: r.pages.map(page), total: r.total.p0, next: r.next.p0 };
  }
  const items = [...first.items[0]];
  if (first.next === undefined || items.length >= max) return { items: items.slice(0, max), total: first.total };
  if (first.total === undefined) {
    // Without a total, the pages can only be followed one by one.
    for (let start: number | undefined = first.next; start !== undefined && items.length < max;) {
      const r: CallResult<unknown> = await rest.call(method, { ...params, start });
      items.push(...page(r.result));
      start = r.next;
    }
    return { items: items.slice(0, max) };
  }
  const total = first.total;
  first.items.slice(1).forEach((pageItems, i) => {
    if ((i + 1) * PAGE_SIZE < total) items.push(...pageItems);
  });
  const starts: number[] = [];
  for (let start = speculative * PAGE_SIZE; start < Math.min(total, max); start += PAGE_SIZE) starts.push(start);
  for (let i = 0; i < starts.length; i += 50) items.push(...(await readPages(rest, method, params, starts.slice(i, i + 50))).pages.flatMap(page));
  return { items: items.slice(0, max), total };
}

/** Every item of a paged list method (see listPages). */
export async function listAll<T = Record<string, unknown>>(rest: RestCaller, method: string, params: RestParams = {}, options: ListOptions = {}): Promise<T[]> {
  return (await listPages<T>(rest, method, params, options)).items;
}

/** The pages at these offsets, in one batch. */
async function readPages(rest: RestCaller, method: string, params: RestParams, starts: number[]): Promise<{ pages: unknown[]; total: Record<string, number>; next: Record<string, number> }> {
  const r = await rest.batch(Object.fromEntries(starts.map((start) => [`p${start}`, { method, params: { ...params, start } }])));
  const pages = starts.map((start) => {
    const error = r.errors[`p${start}`];
    if (error) throw error;
    return r.result[`p${start}`];
  });
  return { pages, total: r.total, next: r.next };
}

export class PortalClient {
  /** HTTP requests sent to the portal's REST endpoint (a batch is one). */
  httpRequests = 0;
  private readonly retry: RetryPolicy;
  private readonly bucket: { burst: number; drainPerSecond: number };
  private readonly timeoutMs: number;

  private constructor(
    private readonly sdk: SdkClient,
    readonly mode: 'webhook' | 'app',
    /** Stable identity of the portal: host[:port] for a webhook, member_id for an app. */
    readonly portalKey: string,
    /** The portal's address, without secrets. */
    readonly origin: string,
    private readonly options: PortalClientOptions,
  ) {
    this.retry = { ...DEFAULT_RETRY, ...options.retry };
    this.bucket = options.portalBucket
      ?? (options.rateLimit ? { burst: options.rateLimit.burstLimit, drainPerSecond: options.rateLimit.drainRate } : { burst: 50, drainPerSecond: 2 });
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const http = sdk.getHttpClient(ApiVersion.v2);
    http.ajaxClient.defaults.timeout = this.timeoutMs;
    http.ajaxClient.interceptors.request.use((config) => {
      this.httpRequests++;
      return config;
    });
  }

  static fromWebhook(url: string, options: PortalClientOptions = {}): PortalClient {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new Error('the webhook URL is not a URL: it looks like https://your.bitrix24.ru/rest/1/secret/');
    }
    const sdk = B24Hook.fromWebhookUrl(url.replace(/\/+$/, ''), { restrictionParams: restrictionParams(options) });
    sdk.offClientSideWarning();
    return new PortalClient(sdk, 'webhook', parsed.host, parsed.origin, options);
  }

  static fromOAuth(
    tokens: OAuthTokens,
    app: OAuthApp,
    onTokens: (tokens: OAuthTokens) => Promise<void> | void,
    options: PortalClientOptions = {},
  ): PortalClient {
    const sdk = new B24OAuth(
      {
        applicationToken: tokens.applicationToken ?? '',
        userId: tokens.userId ?? 0,
        memberId: tokens.memberId,
        accessToken: tokens.accessToken,
        refreshToken: tokens.refreshToken,
        expires: tokens.expires,
        expiresIn: 3600,
        scope: tokens.scope ?? '',
        domain: tokens.domain,
        clientEndpoint: tokens.clientEndpoint,
        serverEndpoint: tokens.serverEndpoint,
        status: (tokens.status ?? 'L') as never,
      },
      { clientId: app.clientId, clientSecret: app.clientSecret },
      { restrictionParams: restrictionParams(options) },
    );
    sdk.offClientSideWarning();
    sdk.setCallbackRefreshAuth(async ({ b24OAuthParams: p }) => {
      await onTokens({
        ...tokens,
        accessToken: p.accessToken,
        refreshToken: p.refreshToken,
        expires: p.expires,
        clientEndpoint: p.clientEndpoint,
        serverEndpoint: p.serverEndpoint,
        scope: p.scope,
      });
    });
    return new PortalClient(sdk, 'app', tokens.memberId, new URL(tokens.clientEndpoint).origin, options);
  }

  /** One REST call; waits out rate limits; repeats a read whose answer was lost; throws PortalError. */
  async call<T = unknown>(method: string, params: RestParams = {}): Promise<CallResult<T>> {
    return this.request<T>(method, params, isReadMethod(method));
  }

  private async request<T>(method: string, params: RestParams, read: boolean): Promise<CallResult<T>> {
    let lostAttempts = 0;
    return pRetry(
      async () => {
        try {
          return await this.withinBucket<T>(method, params);
        } catch (error) {
          if (error instanceof UnreachableError || error instanceof TimeoutError) throw new AbortError(error);
          if (error instanceof LostResponseError) {
            lostAttempts++;
            if (!read || lostAttempts >= this.retry.readAttempts) throw new AbortError(error);
            throw error;
          }
          // The request-rate limit was waited out in withinBucket; only the operating limit (minutes) is retried here.
          if (error instanceof PortalError && error.code === 'OPERATION_TIME_LIMIT') throw error;
          throw new AbortError(error as Error);
        }
      },
      {
        retries: this.retry.limitAttempts,
        factor: 2,
        minTimeout: this.retry.minDelayMs,
        maxTimeout: this.retry.maxDelayMs,
        randomize: true,
        onFailedAttempt: ({ error, attemptNumber }) => {
          const code = error instanceof PortalError ? error.code : 'ERROR';
          this.options.onWait?.({ method, code, attempt: attemptNumber });
        },
      },
    );
  }

  /**
   * One request, waiting out a full request-rate bucket (503 QUERY_LIMIT_EXCEEDED) at the rate it drains: the refused
   * request was not executed and not counted, and 1/drain s later there is room for one more. No doubling: the portal
   * says exactly how fast it empties (docs limits.md).
   */
  private async withinBucket<T>(method: string, params: RestParams): Promise<CallResult<T>> {
    const ms = Math.ceil(1000 / this.bucket.drainPerSecond);
    // Enough waits for a full bucket to drain (burst/drain seconds), and some for other clients of the same portal.
    const attempts = Math.ceil(this.bucket.burst) + 10;
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.callOnce<T>(method, params);
      } catch (error) {
        if (!(error instanceof PortalError && error.code === 'QUERY_LIMIT_EXCEEDED') || attempt >= attempts) throw error;
        this.options.onWait?.({ method, code: error.code, attempt, ms });
        await sleep(ms);
      }
    }
  }

  /**
   * One batch request (at most 50 commands). Later commands may reference earlier results with
   * `$result[key][path]`; with `halt` the portal stops at the first failing command.
   */
  async batch(commands: Record<string, BatchCommand>, options: { halt?: boolean } = {}): Promise<BatchResult> {
    const keys = Object.keys(commands);
    if (keys.length === 0) return { result: {}, errors: {}, total: {}, next: {} };
    if (keys.length > 50) throw new Error(`a batch takes at most 50 commands (got ${keys.length})`);
    const cmd: Record<string, string> = {};
    for (const key of keys) {
      const { method, params } = commands[key];
      const query = qs.stringify(params ?? {}, { encodeValuesOnly: false });
      cmd[key] = query ? `${method}?${query}` : method;
    }
    // A batch is repeatable after a lost answer only when every command in it is a read.
    const allReads = keys.every((key) => isReadMethod(commands[key].method));
    // A command refused by a limit (QUERY_LIMIT_EXCEEDED, OPERATION_TIME_LIMIT) was not executed: a batch of reads is
    // asked again whole after a wait, as a refused call would be. Writes are left to the caller (their own keys).
    for (let attempt = 1; ; attempt++) {
      const answer = await this.batchOnce(commands, cmd, allReads, options);
      const limited = allReads ? Object.values(answer.errors).find((e) => e.isRateLimit) : undefined;
      if (!limited || attempt > this.retry.limitAttempts) return answer;
      const ms = Math.min(this.retry.maxDelayMs, this.retry.minDelayMs * 2 ** (attempt - 1));
      this.options.onWait?.({ method: limited.method, code: limited.code, attempt, ms });
      await sleep(ms);
    }
  }

  private async batchOnce(commands: Record<string, BatchCommand>, cmd: Record<string, string>, allReads: boolean, options: { halt?: boolean }): Promise<BatchResult> {
    const { result } = await this.request<{
      result: Record<string, unknown> | unknown[];
      result_error: Record<string, { error: string; error_description: string }> | unknown[];
      result_total: Record<string, number> | unknown[];
      result_next: Record<string, number> | unknown[];
    }>('batch', { halt: options.halt ? 1 : 0, cmd }, allReads);
    const asMap = <V>(value: Record<string, V> | unknown[] | undefined): Record<string, V> =>
      value && !Array.isArray(value) ? value : Array.isArray(value) ? (Object.fromEntries(value.map((v, i) => [String(i), v])) as Record<string, V>) : {};
    const errors: Record<string, PortalError> = {};
    for (const [key, e] of Object.entries(asMap(result.result_error))) {
      errors[key] = new PortalError(commands[key]?.method ?? key, String(e.error ?? ''), String(e.error_description ?? ''), 400);
    }
    return {
      result: asMap(result.result),
      errors,
      total: asMap(result.result_total),
      next: asMap(result.result_next),
    };
  }

  /** Every item of a paged list method (see listAll). */
  listAll<T = Record<string, unknown>>(method: string, params: RestParams = {}, options: ListOptions = {}): Promise<T[]> {
    return listAll<T>(this, method, params, options);
  }

  /**
   * The client-side request budget now (the SDK's leaky bucket): whole requests that may go at once, and in how many
   * ms the next one may when none can. A batching caller composes its batch only when a request can go, so commands
   * that arrive while it waits ride along instead of waiting for the one after.
   */
  budget(): RequestBudget {
    if (this.options.gate) return this.options.gate.budget();
    const stats = this.sdk.getHttpClient(ApiVersion.v2).getStats() as unknown as { tokens?: number; lastRefill?: number; drainRate?: number; burstLimit?: number };
    const { tokens, lastRefill, drainRate, burstLimit } = stats;
    if (tokens === undefined || lastRefill === undefined || !drainRate || !burstLimit) return { available: Infinity, burst: Infinity, nextInMs: 0, intervalMs: 0 };
    const available = Math.min(burstLimit, tokens + ((Date.now() - lastRefill) * drainRate) / 1000);
    const intervalMs = 1000 / drainRate;
    return { available, burst: burstLimit, nextInMs: available >= 1 ? 0 : Math.ceil((1 - available) * intervalMs), intervalMs };
  }

  /** How rate-limited and lost requests are retried (the batching pipeline follows the same policy per command). */
  get retryPolicy(): RetryPolicy {
    return this.retry;
  }

  /** Waits until the shared budget lets a request go (bounded: a budget held by others drains at its rate). */
  private async passGate(gate: RequestGate): Promise<void> {
    for (let attempt = 0; attempt < 10_000; attempt++) {
      const wait = await gate.take();
      if (wait <= 0) return;
      await sleep(wait);
    }
    throw new Error('the shared request budget never let a request go');
  }

  private async callOnce<T>(method: string, params: RestParams): Promise<CallResult<T>> {
    if (this.options.gate) await this.passGate(this.options.gate);
    let response: AjaxResult;
    try {
      response = (await this.sdk.actions.v2.call.make({ method, params })) as AjaxResult;
    } catch (error) {
      throw toPortalError(method, error, this.origin, this.timeoutMs);
    }
    if (!response.isSuccess) {
      const e = response.getErrors().next().value as { code?: string; message?: string; status?: number } | undefined;
      throw new PortalError(method, String(e?.code ?? ''), String(e?.message ?? ''), Number(e?.status ?? 0));
    }
    const data = response.getData() as { result: T; time?: Record<string, unknown> };
    const out: CallResult<T> = { result: data.result, time: data.time };
    if (response.isMore()) out.next = Number((response as unknown as { _data: { next: number } })._data.next);
    const total = response.getTotal();
    if (total || (data.result && Array.isArray(data.result))) out.total = total;
    return out;
  }
}

function restrictionParams(options: PortalClientOptions) {
  return {
    rateLimit: { ...(options.rateLimit ?? { burstLimit: 50, drainRate: 2 }), adaptiveEnabled: true },
    // The SDK retries unclear errors, network errors included, which could repeat a create; this client decides.
    maxRetries: 1,
    retryOnNetworkError: false,
  };
}

interface SdkErrorLike {
  code?: string;
  message?: string;
  status?: number;
  originalError?: { response?: { status?: number; data?: unknown }; code?: string; message?: string };
}

/** The SDK loses the portal's text for errors whose code is ""; the raw response still has it. */
function toPortalError(method: string, error: unknown, origin: string, timeoutMs: number): PortalError {
  const e = error as SdkErrorLike;
  // The OAuth server refused to renew the access token (invalid_grant, invalid_client): an answer, not a lost one.
  const refusal = [error, e?.originalError].find((x): x is RefreshTokenError => x instanceof RefreshTokenError);
  if (refusal && refusal.status >= 400 && refusal.status < 500) {
    return new PortalError(method, String(refusal.code), `the access token has expired and the OAuth server refused to renew it: ${refusal.message}`, refusal.status);
  }
  const raw = e?.originalError?.response;
  if (!raw) {
    const cause = notConnected(String(e?.originalError?.code ?? e?.code ?? ''), String(e?.originalError?.message ?? e?.message ?? ''));
    if (cause) return new UnreachableError(method, origin, cause);
  }
  if (raw && raw.data && typeof raw.data === 'object' && 'error' in raw.data) {
    const body = raw.data as { error?: unknown; error_description?: unknown };
    return new PortalError(method, String(body.error ?? ''), String(body.error_description ?? ''), raw.status ?? e.status ?? 0);
  }
  if (raw?.status && raw.status >= 500) return new LostResponseError(method, `HTTP ${raw.status}`);
  const code = String(e?.code ?? '');
  if (!raw && code === 'REQUEST_TIMEOUT') return new TimeoutError(method, origin, timeoutMs);
  if (!raw && ['NETWORK_ERROR', 'REQUEST_TIMEOUT', 'ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'ECONNABORTED', 'ERR_NETWORK', 'EPIPE'].includes(code)) {
    return new LostResponseError(method, code.toLowerCase().replace(/_/g, ' '));
  }
  if (!raw && e?.originalError) return new LostResponseError(method, e.originalError.code ?? e.originalError.message ?? 'transport error');
  return new PortalError(method, code, String(e?.message ?? error), Number(e?.status ?? 0));
}
