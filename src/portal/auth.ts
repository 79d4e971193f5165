// How the product reaches a portal: an incoming webhook (B24_WEBHOOK_URL) or the OAuth tokens of the installed
// application. Secrets never leave this module in printable form: describeTarget() and redact() are what output uses.
import { tr } from '../i18n/index.js';
import { PortalClient, type OAuthTokens, type PortalClientOptions } from './client.js';

export type PortalTarget =
  | { kind: 'webhook'; url: string }
  | {
    kind: 'app';
    tokens: OAuthTokens;
    app: { clientId: string; clientSecret: string };
    onTokens?: (tokens: OAuthTokens) => Promise<void> | void;
  };

export interface TargetInput {
  webhook?: string;
  accessToken?: string;
  refreshToken?: string;
  domain?: string;
  memberId?: string;
  clientId?: string;
  clientSecret?: string;
  oauthUrl?: string;
}

export class TargetError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TargetError';
  }
}

const DEFAULT_OAUTH_URL = 'https://oauth.bitrix.info';

/** Where expired tokens are renewed: --oauth-url, else B24_OAUTH_URL, else Bitrix24's OAuth server. */
export function oauthServerEndpoint(input: Pick<TargetInput, 'oauthUrl'>, env: NodeJS.ProcessEnv = process.env): string {
  return `${(input.oauthUrl ?? env.B24_OAUTH_URL ?? DEFAULT_OAUTH_URL).replace(/\/+$/, '')}/rest/`;
}

/** The application's client_id and client_secret: options, else B24_APP_CLIENT_ID / B24_APP_CLIENT_SECRET. */
export function appCredentials(input: Pick<TargetInput, 'clientId' | 'clientSecret'>, env: NodeJS.ProcessEnv = process.env): { clientId: string; clientSecret: string } {
  return { clientId: input.clientId ?? env.B24_APP_CLIENT_ID ?? '', clientSecret: input.clientSecret ?? env.B24_APP_CLIENT_SECRET ?? '' };
}

function appTarget(input: TargetInput, tokens: { accessToken?: string; refreshToken?: string; domain?: string }, env: NodeJS.ProcessEnv): PortalTarget {
  const t = tr().target;
  if (!tokens.domain) throw new TargetError(t.needsDomain);
  const host = tokens.domain.replace(/^https?:\/\//, '').replace(/\/.*$/, '');
  return {
    kind: 'app',
    tokens: {
      accessToken: tokens.accessToken ?? '',
      refreshToken: tokens.refreshToken ?? '',
      // Unknown expiry: treat the token as valid for now; an expired_token answer triggers a refresh.
      expires: tokens.accessToken ? Math.floor(Date.now() / 1000) + 3600 : 0,
      domain: host,
      clientEndpoint: `https://${host}/rest/`,
      serverEndpoint: oauthServerEndpoint(input, env),
      memberId: input.memberId ?? host,
    },
    app: appCredentials(input, env),
  };
}

function webhookTarget(url: string): PortalTarget {
  const t = tr().target;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new TargetError(t.webhookNotUrl);
  }
  if (parsed.protocol !== 'https:') throw new TargetError(t.webhookNotHttps);
  if (!/\/rest\/\d+\/[^/]+\/?$/.test(parsed.pathname)) throw new TargetError(t.webhookShape(parsed.origin));
  return { kind: 'webhook', url };
}

/**
 * Chooses the target: the application's tokens given on the command line (or standard input), else --webhook, else
 * tokens in the environment (B24_ACCESS_TOKEN / B24_REFRESH_TOKEN with B24_DOMAIN: not visible in `ps`), else
 * B24_WEBHOOK_URL (.env).
 */
export function resolveTarget(input: TargetInput, env: NodeJS.ProcessEnv = process.env): PortalTarget {
  const t = tr().target;
  if (input.accessToken || input.refreshToken) return appTarget(input, { ...input, domain: input.domain ?? env.B24_DOMAIN }, env);
  if (input.webhook) return webhookTarget(input.webhook);
  if (env.B24_ACCESS_TOKEN || env.B24_REFRESH_TOKEN) {
    if (env.B24_WEBHOOK_URL) throw new TargetError(t.bothInEnvironment);
    return appTarget(input, { accessToken: env.B24_ACCESS_TOKEN || undefined, refreshToken: env.B24_REFRESH_TOKEN || undefined, domain: input.domain ?? env.B24_DOMAIN }, env);
  }
  if (!env.B24_WEBHOOK_URL) throw new TargetError(t.noPortal);
  return webhookTarget(env.B24_WEBHOOK_URL);
}

export function connect(target: PortalTarget, options: PortalClientOptions = {}): PortalClient {
  if (target.kind === 'webhook') return PortalClient.fromWebhook(target.url, options);
  return PortalClient.fromOAuth(target.tokens, target.app, target.onTokens ?? (() => undefined), options);
}

/** The portal's address and mode, safe to print. */
export function describeTarget(target: PortalTarget): string {
  if (target.kind === 'webhook') return tr().target.describeWebhook(new URL(target.url).origin);
  return tr().target.describeApp(`https://${target.tokens.domain}`);
}

/** Every secret of a target, for redaction. */
export function secretsOf(target: PortalTarget): string[] {
  if (target.kind === 'webhook') {
    // The secret is the last path segment; removing it is enough to make the URL printable.
    const path = new URL(target.url).pathname.split('/').filter(Boolean);
    return [path[2] ?? ''].filter((s) => s.length >= 4);
  }
  return [target.tokens.accessToken, target.tokens.refreshToken, target.app.clientSecret].filter((s) => s.length >= 4);
}

/** Replaces every secret in a text (an error message, a log line) with "***". */
export function redact(text: string, secrets: string[]): string {
  let out = text;
  for (const secret of [...secrets].sort((a, b) => b.length - a.length)) out = out.split(secret).join('***');
  return out;
}
