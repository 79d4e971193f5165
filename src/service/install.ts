// Accepting an application install. The install request names a portal and carries its tokens, but anyone can
// POST such a request; so before anything is stored, the refresh token is exchanged at the configured OAuth server
// with this application's client secret. Only a token issued to this application passes, and the OAuth server's
// answer (not the request) says which portal (member_id, client_endpoint) the tokens belong to.
import { PortalClient } from '../portal/client.js';
import { tierForAppInfo, type Lang, type Template } from '../template/index.js';
import type { AppCredentials } from './config.js';
import { zoneOfPortal, type PortalSettings } from './settings.js';
import type { PortalRecord } from './store/types.js';

export interface InstallRequest {
  accessToken: string;
  refreshToken: string;
  memberId: string;
  domain: string;
  clientEndpoint: string;
  applicationToken: string;
  lang?: string;
}

/** Why an install was refused; `status` is the HTTP answer. */
export class InstallRefused extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
    this.name = 'InstallRefused';
  }
}

interface TokenAnswer {
  access_token?: string;
  refresh_token?: string;
  expires?: number | string;
  expires_in?: number | string;
  member_id?: string;
  client_endpoint?: string;
  domain?: string;
  scope?: string;
  user_id?: number | string;
  error?: string;
  error_description?: string;
}

const sameEndpoint = (a: string, b: string) => {
  try {
    const x = new URL(a);
    const y = new URL(b);
    return x.origin === y.origin && x.pathname.replace(/\/+$/, '') === y.pathname.replace(/\/+$/, '');
  } catch {
    return false;
  }
};

/**
 * The documented refresh request (POST form to {oauth}/oauth/token/). The SDK refreshes on its own later, but it
 * does not expose the member_id of the answer, which is the point here.
 */
async function exchangeRefreshToken(oauthUrl: string, app: AppCredentials, refreshToken: string): Promise<TokenAnswer> {
  let response: Response;
  try {
    response = await fetch(`${oauthUrl}/oauth/token/`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json' },
      body: new URLSearchParams({ grant_type: 'refresh_token', client_id: app.clientId, client_secret: app.clientSecret, refresh_token: refreshToken }),
      signal: AbortSignal.timeout(20_000),
    });
  } catch (error) {
    throw new InstallRefused(502, `the OAuth server ${oauthUrl} did not answer (${(error as Error).message}); the install was not stored — reinstall the application when it is reachable`);
  }
  let body: TokenAnswer;
  try {
    body = (await response.json()) as TokenAnswer;
  } catch {
    throw new InstallRefused(502, `the OAuth server ${oauthUrl} answered HTTP ${response.status} without JSON; check B24_OAUTH_URL`);
  }
  if (body.error || !response.ok) {
    throw new InstallRefused(401, `the install's tokens were refused by the OAuth server (${body.error ?? `HTTP ${response.status}`}${body.error_description ? `: ${body.error_description}` : ''}); `
      + 'they were not issued to this application — check B24_APP_CLIENT_ID / B24_APP_CLIENT_SECRET');
  }
  return body;
}

export interface VerifiedInstall {
  portal: PortalRecord;
  client: PortalClient;
  /** The portal's own time zone as REST shows it (settings.ts zoneOfPortal), when it shows one. */
  timeZone?: string;
}

/**
 * Verifies an install request — the tokens at the OAuth server, the portal they belong to, and that their user is an
 * administrator — reads the portal's plan and time zone, and returns the portal record to store (with the service's
 * default settings; the caller keeps an installed portal's own).
 */
export async function verifyInstall(
  request: InstallRequest,
  options: { app?: AppCredentials; oauthUrl: string; template: Template; defaultLang: Lang; now: number; settings: PortalSettings },
): Promise<VerifiedInstall> {
  const { app, oauthUrl } = options;
  if (!app) {
    throw new InstallRefused(503, 'the service has no application credentials: set B24_APP_CLIENT_ID and B24_APP_CLIENT_SECRET (from the application\'s settings in Bitrix24) and reinstall');
  }
  const fresh = await exchangeRefreshToken(oauthUrl, app, request.refreshToken);
  if (!fresh.access_token || !fresh.refresh_token || !fresh.member_id) {
    throw new InstallRefused(502, 'the OAuth server\'s answer lacks access_token, refresh_token or member_id; check B24_OAUTH_URL');
  }
  const clientEndpoint = fresh.client_endpoint || request.clientEndpoint;
  // The portal's address comes from the OAuth server's answer; the request's own words for it must agree.
  if (fresh.member_id !== request.memberId || !sameEndpoint(clientEndpoint, request.clientEndpoint) || !sameHost(request.domain, clientEndpoint)) {
    throw new InstallRefused(401, 'the install names a different portal than its tokens belong to; nothing was stored');
  }
  const lang: Lang = request.lang === 'en' || request.lang === 'ru' ? request.lang : options.defaultLang;
  const expires = Number(fresh.expires) || Math.floor(options.now / 1000) + (Number(fresh.expires_in) || 3600);
  const portal: PortalRecord = {
    memberId: fresh.member_id,
    domain: new URL(clientEndpoint).host,
    clientEndpoint,
    accessToken: fresh.access_token,
    refreshToken: fresh.refresh_token,
    expires,
    scope: fresh.scope ?? '',
    userId: Number(fresh.user_id) || 0,
    applicationToken: request.applicationToken,
    lang,
    tier: options.template.tiers[0],
    plan: '',
    installedAt: options.now,
    installState: 'installing',
    settings: options.settings,
  };
  const client = PortalClient.fromOAuth(
    { accessToken: portal.accessToken, refreshToken: portal.refreshToken, expires, domain: portal.domain, clientEndpoint: portal.clientEndpoint,
      serverEndpoint: `${oauthUrl}/rest/`, memberId: portal.memberId, applicationToken: portal.applicationToken, scope: portal.scope, userId: portal.userId },
    app,
    (t) => {
      portal.accessToken = t.accessToken;
      portal.refreshToken = t.refreshToken;
      portal.expires = t.expires;
    },
  );
  // One request: the plan (app.info answers only in an application context), whether the tokens' user may manage
  // applications (profile ADMIN, the same as user.admin), the user's own zone and the portal's clock.
  const read = await client.batch({ info: { method: 'app.info' }, profile: { method: 'profile' }, time: { method: 'server.time' } }).catch((error: Error) => {
    throw new InstallRefused(502, `the portal did not answer with the new tokens (${error.message}); nothing was stored — reinstall the application`);
  });
  const failed = read.errors.info ?? read.errors.profile;
  if (failed) throw new InstallRefused(502, `the portal refused to say who installs and on which plan (${failed.message}); nothing was stored — reinstall the application`);
  const profile = read.result.profile as { ID?: unknown; ADMIN?: unknown; TIME_ZONE?: unknown };
  if (profile.ADMIN !== true && profile.ADMIN !== 'Y' && profile.ADMIN !== 'true') {
    throw new InstallRefused(403, 'only a Bitrix24 administrator can install or set up Autosalon: ask your portal administrator; nothing was changed');
  }
  portal.userId = Number(profile.ID) || portal.userId;
  const info = read.result.info as { LICENSE?: string; LICENSE_TYPE?: string; LICENSE_FAMILY?: string };
  const { tier, plan } = tierForAppInfo(options.template, { licenseType: info.LICENSE_TYPE, licenseFamily: info.LICENSE_FAMILY, license: info.LICENSE });
  portal.tier = tier;
  portal.plan = plan;
  return { portal, client, timeZone: zoneOfPortal(profile.TIME_ZONE, read.result.time) };
}

/** `domain` (host[:port], as Bitrix24 sends it) is the host of the endpoint. */
function sameHost(domain: string, endpoint: string): boolean {
  try {
    return new URL(`https://${domain}`).host === new URL(endpoint).host && !/[\s/?#@]/.test(domain);
  } catch {
    return false;
  }
}

/** Who a user of the portal is, by the frame token Bitrix24 gave the application page. */
export interface PageUser { userId: number; admin: boolean }

/**
 * Asks the portal (at its verified, stored endpoint: the token goes nowhere else) who holds the frame's AUTH_ID, with
 * `profile` (ID and ADMIN, the same as user.admin). A token the portal refuses means the page is stale.
 */
export async function identifyUser(clientEndpoint: string, authId: string): Promise<PageUser> {
  let response: Response;
  try {
    response = await fetch(`${clientEndpoint.replace(/\/+$/, '')}/profile.json`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json' },
      body: new URLSearchParams({ auth: authId }),
      signal: AbortSignal.timeout(20_000),
    });
  } catch (error) {
    throw new InstallRefused(502, `the portal ${new URL(clientEndpoint).host} did not answer (${(error as Error).message}); open the application again in a minute`);
  }
  const body = (await response.json().catch(() => ({}))) as { result?: { ID?: unknown; ADMIN?: unknown }; error?: string; error_description?: string };
  if (!response.ok || body.error || !body.result) {
    const why = body.error ? `${body.error}${body.error_description ? `: ${body.error_description}` : ''}` : `HTTP ${response.status}`;
    const status = response.status === 401 || /token|auth/i.test(body.error ?? '') ? 401 : 502;
    throw new InstallRefused(status, `the portal did not accept the page's token (${why}): open the application again from Bitrix24`);
  }
  const admin = body.result.ADMIN === true || body.result.ADMIN === 'Y' || body.result.ADMIN === 'true';
  return { userId: Number(body.result.ID) || 0, admin };
}
