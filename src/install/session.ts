// Opening a portal for a command: target from options and environment, the client, and redaction of its secrets
// from every message that may be printed.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { tr } from '../i18n/index.js';
import { appCredentials, connect, describeTarget, oauthServerEndpoint, redact, resolveTarget, secretsOf, TargetError, type PortalTarget, type TargetInput } from '../portal/auth.js';
import type { PortalClient, PortalClientOptions } from '../portal/client.js';
import { InstallError } from './model.js';
import type { ServiceStore } from '../service/store/types.js';
import { defaultStateDir } from './state.js';

export interface SessionOptions extends TargetInput {
  stateDir?: string;
  publicUrl?: string;
  /** The automation service's database (AUTOSALON_DB, default <state dir>/service.sqlite): tokens by member_id. */
  dbFile?: string;
}

export interface Session {
  target: PortalTarget;
  client: PortalClient;
  /** Safe to print. */
  description: string;
  stateDir: string;
  app?: { publicUrl?: string; clientId?: string };
  /** Removes the target's secrets from a text. */
  redact(text: string): string;
  /** What the user should know after the command (no secrets). */
  notices(): string[];
  /** The portal's install lock shared with the service's processes (their PostgreSQL database), when there is one. */
  sharedLock?: <T>(work: () => Promise<T>) => Promise<T>;
  close(): Promise<void>;
}

/**
 * App mode from the automation service's store: --member-id alone names a portal whose tokens the service keeps.
 * Renewed tokens are written back at once, so the service goes on with the new pair.
 */
async function targetFromStore(options: SessionOptions, env: NodeJS.ProcessEnv): Promise<StoredTarget | undefined> {
  if (!options.memberId || options.accessToken || options.refreshToken || options.webhook || env.B24_ACCESS_TOKEN || env.B24_REFRESH_TOKEN) return undefined;
  // Loaded here only: the database drivers are needed for this case alone, and cost start-up time otherwise.
  const [{ openServiceStore }, { keysFromEnvironment }, { describeDatabase }] = await Promise.all([
    import('../service/store/open.js'), import('../service/secret-key.js'), import('../service/store/describe.js'),
  ]);
  const stateDir = options.stateDir ?? defaultStateDir(env);
  // The service's PostgreSQL database when AUTOSALON_DATABASE_URL names one (unless --db names a file), else its SQLite file.
  const databaseUrl = options.dbFile === undefined ? env.AUTOSALON_DATABASE_URL?.trim() || undefined : undefined;
  const dbFile = options.dbFile ?? env.AUTOSALON_DB ?? join(stateDir, 'service.sqlite');
  const where = databaseUrl ? describeDatabase(databaseUrl) : dbFile;
  if (!databaseUrl && !existsSync(dbFile)) {
    throw new InstallError(tr().target.noServiceDb(dbFile));
  }
  let store: ServiceStore;
  try {
    ({ store } = await openServiceStore({ dbFile, databaseUrl }, { keys: keysFromEnvironment(env, stateDir), readonly: Boolean(databaseUrl) }));
  } catch (error) {
    throw new InstallError(tr().target.serviceDbUnreadable(where, (error as Error).message));
  }
  const portal = await store.getPortal(options.memberId);
  if (!portal || !portal.refreshToken) {
    await store.close();
    throw new InstallError(tr().target.noStoredTokens(where, options.memberId));
  }
  const target: PortalTarget = {
    kind: 'app',
    tokens: {
      accessToken: portal.accessToken, refreshToken: portal.refreshToken, expires: portal.expires, domain: portal.domain,
      clientEndpoint: portal.clientEndpoint, serverEndpoint: oauthServerEndpoint(options, env), memberId: portal.memberId,
      applicationToken: portal.applicationToken, scope: portal.scope, userId: portal.userId,
    },
    app: appCredentials(options, env),
    onTokens: (t) => store.updateTokens(portal.memberId, {
      accessToken: t.accessToken, refreshToken: t.refreshToken, expires: t.expires, clientEndpoint: t.clientEndpoint, scope: t.scope ?? portal.scope,
    }),
  };
  // With PostgreSQL the service may run on other machines: the install lock is the database's too.
  const sharedLock = databaseUrl
    ? async <T>(work: () => Promise<T>): Promise<T> => {
      const r = await store.exclusive('install', portal.memberId, work);
      if (!r.ran) throw new InstallError(tr().target.installElsewhere(portal.memberId));
      return r.value;
    }
    : undefined;
  return { target, close: () => store.close(), sharedLock };
}

interface StoredTarget {
  target: PortalTarget;
  close: () => Promise<void>;
  sharedLock?: Session['sharedLock'];
}

export async function openSession(options: SessionOptions, clientOptions: PortalClientOptions = {}, env: NodeJS.ProcessEnv = process.env): Promise<Session> {
  let target: PortalTarget;
  let close = async () => undefined as void;
  let sharedLock: Session['sharedLock'];
  try {
    const stored = await targetFromStore(options, env);
    if (stored) ({ target, close, sharedLock } = stored);
    else target = resolveTarget(options, env);
  } catch (error) {
    if (error instanceof TargetError) throw new InstallError(error.message);
    throw error;
  }
  const secrets = secretsOf(target);
  const notices: string[] = [];
  if (target.kind === 'app' && !target.onTokens) {
    // Tokens given on the command line: Bitrix24 invalidates a refresh token once it is used, and there is nowhere
    // safe to keep the new pair, so the user is told instead of finding out later.
    target.onTokens = () => {
      if (!notices.length) notices.push(tr().target.tokensRenewed);
    };
  }
  let client: PortalClient;
  try {
    client = connect(target, clientOptions);
  } catch (error) {
    throw new InstallError(redact((error as Error).message, secrets));
  }
  return {
    target,
    client,
    description: describeTarget(target),
    stateDir: options.stateDir ?? defaultStateDir(env),
    app: target.kind === 'app'
      ? { publicUrl: options.publicUrl ?? env.AUTOSALON_PUBLIC_URL, clientId: target.app.clientId || undefined }
      : undefined,
    redact: (text) => redact(text, secrets),
    notices: () => [...notices],
    sharedLock,
    close,
  };
}
