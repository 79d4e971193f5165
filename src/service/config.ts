// Every setting of the automation service, read once from the environment (.env is loaded by the CLI).
// The automation settings (time zone, supervisor fallback, lead managers) are only the defaults a newly installed
// portal starts with: each portal keeps its own (settings.ts), changed by its administrator.
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { LANGUAGES, type Lang } from '../template/schema.js';
import { defaultSettings, isTimeZone, type PortalSettings } from './settings.js';
import { isPostgresUrl } from './store/describe.js';
import { parseSecretKey } from './store/secrets.js';

export interface AppCredentials { clientId: string; clientSecret: string }

/** The defaults of a new portal's settings, and the language of its messages when the install did not say. */
export interface AutomationSettings {
  /** A new portal's time zone when the portal does not show one: re-call dates, deadlines and displayed times are local to it. */
  timeZone: string;
  /** Who gets "supervisor" messages when the responsible user's department has no other head. */
  supervisorUserId?: number;
  /** Users told about every new lead (role lead_managers). */
  leadManagerIds: number[];
  /** Language of messages, tasks and to-dos when the install did not say. */
  lang: Lang;
}

export interface ServiceConfig {
  host: string;
  port: number;
  /** The address Bitrix24 calls: robot handlers and event bindings are registered under it. */
  publicUrl?: string;
  dbFile: string;
  /**
   * postgres://… (AUTOSALON_DATABASE_URL): the service's state in PostgreSQL, shared by any number of service processes;
   * absent: the SQLite file dbFile, for one process.
   */
  databaseUrl?: string;
  stateDir: string;
  /** The OAuth server that refreshes tokens (Bitrix24's, or the emulator's). */
  oauthUrl: string;
  app?: AppCredentials;
  automation: AutomationSettings;
  /** Seconds between reconciliation sweeps; 0 turns the periodic sweep off. */
  sweepIntervalSeconds: number;
  /** How far back each sweep looks before the previous one, to cover clock skew and slow commits. */
  sweepOverlapSeconds: number;
  /** Delay before the worker starts taking jobs (lets operators inspect a queue; used by the crash test). */
  workerStartDelayMs: number;
  /** How often an idle worker looks for due jobs. */
  workerPollMs: number;
  /** Refresh an access token this many seconds before it expires. */
  tokenRefreshMarginSeconds: number;
  /** How many portals the worker serves at once (one runner per portal at a time). */
  workerConcurrency: number;
  /**
   * The REST calls of a portal's jobs share batch requests, many jobs of the portal running side by side (default on).
   * Off: one job per portal at a time and one request per call — kept to compare (npm run bench).
   */
  restBatching: boolean;
  /** A request must arrive whole (headers and body) within this time, or its connection is closed. */
  requestTimeoutMs: number;
  /** An idle kept-alive connection is closed after this time. */
  keepAliveTimeoutMs: number;
  /** The key of the tokens at rest (AUTOSALON_SECRET_KEY); absent: the key file in the state directory. */
  secretKey?: Buffer;
  /** Older keys, while rotating (AUTOSALON_SECRET_KEY_PREVIOUS). */
  previousSecretKeys: Buffer[];
  logLevel: 'silent' | 'error' | 'warn' | 'info' | 'debug';
}

const ENV = {
  host: 'AUTOSALON_HOST',
  port: 'AUTOSALON_PORT',
  publicUrl: 'AUTOSALON_PUBLIC_URL',
  db: 'AUTOSALON_DB',
  databaseUrl: 'AUTOSALON_DATABASE_URL',
  stateDir: 'AUTOSALON_STATE_DIR',
  oauthUrl: 'B24_OAUTH_URL',
  clientId: 'B24_APP_CLIENT_ID',
  clientSecret: 'B24_APP_CLIENT_SECRET',
  timeZone: 'AUTOSALON_TIME_ZONE',
  supervisor: 'AUTOSALON_SUPERVISOR_USER_ID',
  leadManagers: 'AUTOSALON_LEAD_MANAGER_IDS',
  lang: 'AUTOSALON_LANG',
  sweepInterval: 'AUTOSALON_SWEEP_INTERVAL_SECONDS',
  sweepOverlap: 'AUTOSALON_SWEEP_OVERLAP_SECONDS',
  workerDelay: 'AUTOSALON_WORKER_START_DELAY_MS',
  workerPoll: 'AUTOSALON_WORKER_POLL_MS',
  refreshMargin: 'AUTOSALON_TOKEN_REFRESH_MARGIN_SECONDS',
  workerConcurrency: 'AUTOSALON_WORKER_CONCURRENCY',
  restBatching: 'AUTOSALON_REST_BATCHING',
  requestTimeout: 'AUTOSALON_REQUEST_TIMEOUT_MS',
  keepAliveTimeout: 'AUTOSALON_KEEP_ALIVE_TIMEOUT_MS',
  secretKey: 'AUTOSALON_SECRET_KEY',
  previousSecretKeys: 'AUTOSALON_SECRET_KEY_PREVIOUS',
  logLevel: 'AUTOSALON_LOG_LEVEL',
} as const;

/** A setting with a wrong value: the message names the variable and what it should look like. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

const integer = (name: string, min: number, max = Number.MAX_SAFE_INTEGER) =>
  z.coerce.number({ error: `${name} must be a number` }).int(`${name} must be a whole number`)
    .min(min, `${name} must be at least ${min}`).max(max, `${name} must be at most ${max}`);

const userId = (name: string) => integer(name, 1);

function httpUrl(name: string) {
  return z.string().trim().transform((value, ctx) => {
    try {
      const url = new URL(value);
      if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new Error('scheme');
      return url.toString().replace(/\/+$/, '');
    } catch {
      ctx.addIssue({ code: 'custom', message: `${name} must be an http(s) URL such as https://autosalon.example.com (got "${value}")` });
      return z.NEVER;
    }
  });
}

/** What `autosalon serve` flags may override. */
export interface ConfigOverrides {
  host?: string;
  port?: number;
  publicUrl?: string;
  dbFile?: string;
  databaseUrl?: string;
  stateDir?: string;
  oauthUrl?: string;
  app?: AppCredentials;
  automation?: Partial<AutomationSettings>;
  sweepIntervalSeconds?: number;
  sweepOverlapSeconds?: number;
  workerStartDelayMs?: number;
  workerPollMs?: number;
  tokenRefreshMarginSeconds?: number;
  workerConcurrency?: number;
  restBatching?: boolean;
  requestTimeoutMs?: number;
  keepAliveTimeoutMs?: number;
  secretKey?: Buffer;
  logLevel?: ServiceConfig['logLevel'];
}

function postgresUrl(name: string) {
  return z.string().trim().refine(isPostgresUrl, {
    message: `${name} must be a PostgreSQL URL such as postgres://user:password@db.example.com:5432/autosalon (a password with : / @ # ? or % in it percent-encoded, # as %23)`,
  });
}

const blankToUndefined = (v: string | undefined) => (v === undefined || v.trim() === '' ? undefined : v.trim());

/** Reads the service settings from `env` (process.env by default); throws ConfigError naming each bad variable. */
export function loadServiceConfig(env: Record<string, string | undefined> = process.env, overrides: ConfigOverrides = {}): ServiceConfig {
  const get = (key: string) => blankToUndefined(env[key]);
  const problems: string[] = [];
  const secretKey = (text: string | undefined, name: string): Buffer | undefined => {
    if (text === undefined) return undefined;
    try {
      return parseSecretKey(text, name);
    } catch (error) {
      problems.push((error as Error).message);
      return undefined;
    }
  };
  const parse = <T>(schema: z.ZodType<T>, value: unknown, fallback: T): T => {
    if (value === undefined) return fallback;
    const r = schema.safeParse(value);
    if (r.success) return r.data;
    problems.push(r.error.issues.map((i) => i.message).join('; '));
    return fallback;
  };

  const stateDir = resolve(overrides.stateDir ?? get(ENV.stateDir) ?? '.autosalon');
  const timeZone = overrides.automation?.timeZone ?? get(ENV.timeZone) ?? 'Europe/Moscow';
  if (!isTimeZone(timeZone)) problems.push(`${ENV.timeZone} "${timeZone}" is not a time zone: use an IANA name such as Europe/Moscow`);
  const lang = overrides.automation?.lang ?? get(ENV.lang) ?? 'ru';
  if (!(LANGUAGES as readonly string[]).includes(lang)) problems.push(`${ENV.lang} must be ${LANGUAGES.join(' or ')} (got "${lang}")`);

  const leadManagerIds = overrides.automation?.leadManagerIds ?? parse(
    z.string().transform((s, ctx) => {
      const ids = s.split(/[\s,;]+/).filter(Boolean).map(Number);
      if (ids.some((n) => !Number.isInteger(n) || n < 1)) {
        ctx.addIssue({ code: 'custom', message: `${ENV.leadManagers} must be a comma-separated list of user IDs such as 1,7,12 (got "${s}")` });
        return z.NEVER;
      }
      return ids;
    }),
    get(ENV.leadManagers),
    [] as number[],
  );

  const clientId = overrides.app?.clientId ?? get(ENV.clientId);
  const clientSecret = overrides.app?.clientSecret ?? get(ENV.clientSecret);
  if (Boolean(clientId) !== Boolean(clientSecret)) {
    problems.push(`set both ${ENV.clientId} and ${ENV.clientSecret} (the application's client_id and client_secret), or neither`);
  }

  const config: ServiceConfig = {
    host: overrides.host ?? get(ENV.host) ?? '127.0.0.1',
    port: overrides.port ?? parse(integer(ENV.port, 0, 65535), get(ENV.port), 3000),
    publicUrl: overrides.publicUrl !== undefined
      ? parse(httpUrl('--public-url'), overrides.publicUrl, undefined)
      : parse(httpUrl(ENV.publicUrl), get(ENV.publicUrl), undefined),
    dbFile: resolve(overrides.dbFile ?? get(ENV.db) ?? join(stateDir, 'service.sqlite')),
    // An explicit SQLite file (--db) chooses SQLite even where the environment names a PostgreSQL database.
    databaseUrl: parse(postgresUrl(ENV.databaseUrl), overrides.databaseUrl ?? (overrides.dbFile === undefined ? get(ENV.databaseUrl) : undefined), undefined),
    stateDir,
    oauthUrl: parse(httpUrl(ENV.oauthUrl), overrides.oauthUrl ?? get(ENV.oauthUrl), 'https://oauth.bitrix.info'),
    app: clientId && clientSecret ? { clientId, clientSecret } : undefined,
    automation: {
      timeZone,
      supervisorUserId: overrides.automation?.supervisorUserId ?? parse(userId(ENV.supervisor), get(ENV.supervisor), undefined),
      leadManagerIds,
      lang: lang as Lang,
    },
    sweepIntervalSeconds: overrides.sweepIntervalSeconds ?? parse(integer(ENV.sweepInterval, 0), get(ENV.sweepInterval), 300),
    sweepOverlapSeconds: overrides.sweepOverlapSeconds ?? parse(integer(ENV.sweepOverlap, 0), get(ENV.sweepOverlap), 120),
    workerStartDelayMs: overrides.workerStartDelayMs ?? parse(integer(ENV.workerDelay, 0), get(ENV.workerDelay), 0),
    workerPollMs: overrides.workerPollMs ?? parse(integer(ENV.workerPoll, 10), get(ENV.workerPoll), 500),
    tokenRefreshMarginSeconds: overrides.tokenRefreshMarginSeconds ?? parse(integer(ENV.refreshMargin, 0, 3000), get(ENV.refreshMargin), 60),
    workerConcurrency: overrides.workerConcurrency ?? parse(integer(ENV.workerConcurrency, 1, 256), get(ENV.workerConcurrency), 8),
    restBatching: overrides.restBatching ?? parse(
      z.enum(['on', 'off'], { error: `${ENV.restBatching} must be on or off` }).transform((v) => v === 'on'),
      get(ENV.restBatching)?.toLowerCase(),
      true,
    ),
    requestTimeoutMs: overrides.requestTimeoutMs ?? parse(integer(ENV.requestTimeout, 100, 600_000), get(ENV.requestTimeout), 15_000),
    keepAliveTimeoutMs: overrides.keepAliveTimeoutMs ?? parse(integer(ENV.keepAliveTimeout, 100, 600_000), get(ENV.keepAliveTimeout), 5_000),
    secretKey: overrides.secretKey ?? secretKey(get(ENV.secretKey), ENV.secretKey),
    previousSecretKeys: (get(ENV.previousSecretKeys) ?? '').split(',').filter((k) => k.trim()).map((k) => secretKey(k, ENV.previousSecretKeys)).filter((k): k is Buffer => k !== undefined),
    logLevel: overrides.logLevel ?? parse(z.enum(['silent', 'error', 'warn', 'info', 'debug'], { error: `${ENV.logLevel} must be silent, error, warn, info or debug` }), get(ENV.logLevel), 'info'),
  };
  if (problems.length) throw new ConfigError(`the service settings are wrong:\n  - ${problems.join('\n  - ')}`);
  return config;
}

/** A new portal's settings: the service's defaults. */
export function settingsDefaults(config: Pick<ServiceConfig, 'automation'>): PortalSettings {
  const { timeZone, supervisorUserId, leadManagerIds } = config.automation;
  return defaultSettings({ timeZone, leadManagerIds, ...(supervisorUserId ? { supervisorUserId } : {}) });
}

/** The environment variables the service reads, for help texts. */
export const SERVICE_ENV = ENV;
