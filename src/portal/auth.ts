// How the product reaches a portal: an incoming webhook (B24_WEBHOOK_URL) or the OAuth tokens of the installed
// application. Secrets never leave this module in printable form: describeTarget() and redact() are what output uses.
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

/** Chooses the target from explicit options first, then the environment (.env). */
export function resolveTarget(input: TargetInput, env: NodeJS.ProcessEnv = process.env): PortalTarget {
  if (input.accessToken || input.refreshToken) {
    if (!input.domain) throw new TargetError('app mode needs the portal address: add --domain your.bitrix24.ru');
    if (!input.accessToken && !input.refreshToken) throw new TargetError('app mode needs --access-token (and --refresh-token to renew it)');
    const host = input.domain.replace(/^https?:\/\//, '').replace(/\/.*$/, '');
    return {
      kind: 'app',
      tokens: {
        accessToken: input.accessToken ?? '',
        refreshToken: input.refreshToken ?? '',
        // Unknown expiry: treat the token as valid for now; an expired_token answer triggers a refresh.
        expires: input.accessToken ? Math.floor(Date.now() / 1000) + 3600 : 0,
        domain: host,
        clientEndpoint: `https://${host}/rest/`,
        serverEndpoint: oauthServerEndpoint(input, env),
        memberId: input.memberId ?? host,
      },
      app: appCredentials(input, env),
    };
  }
  const url = input.webhook ?? env.B24_WEBHOOK_URL;
  if (!url) {
    throw new TargetError(
      'no portal to talk to: pass --webhook https://your.bitrix24.ru/rest/1/SECRET/ or set B24_WEBHOOK_URL in .env '
      + '(an installed application: --access-token, --refresh-token and --domain)',
    );
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new TargetError('the webhook is not a URL: it looks like https://your.bitrix24.ru/rest/1/SECRET/');
  }
  if (parsed.protocol !== 'https:') {
    throw new TargetError('the webhook must start with https:// (Bitrix24 and its SDK take webhooks over HTTPS only): it looks like https://your.bitrix24.ru/rest/1/SECRET/');
  }
  if (!/\/rest\/\d+\/[^/]+\/?$/.test(parsed.pathname)) {
    throw new TargetError(`the webhook URL of ${parsed.origin} does not look like an incoming webhook: expected ${parsed.origin}/rest/<user id>/<secret>/`);
  }
  return { kind: 'webhook', url };
}

export function connect(target: PortalTarget, options: PortalClientOptions = {}): PortalClient {
  if (target.kind === 'webhook') return PortalClient.fromWebhook(target.url, options);
  return PortalClient.fromOAuth(target.tokens, target.app, target.onTokens ?? (() => undefined), options);
}

/** The portal's address and mode, safe to print. */
export function describeTarget(target: PortalTarget): string {
  if (target.kind === 'webhook') return `${new URL(target.url).origin} (incoming webhook)`;
  return `https://${target.tokens.domain} (application)`;
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
