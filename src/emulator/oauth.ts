// The OAuth server (oauth.bitrix.info in the cloud): one for every portal of the emulator. The token endpoint answers
// refresh (and authorization-code) requests in the documented shape (docs: settings/oauth/index.md, auto-renewal.md,
// error-codes.md); a refresh token is found in whichever portal issued it, and the answer carries that portal's
// member_id and client_endpoint.
import { isObject, type Params } from './params.js';
import type { Portal } from './portal.js';
import type { RegisteredApp, TokenRow } from './state.js';

export interface OAuthAnswer {
  status: number;
  body: Record<string, unknown>;
  /** The portal whose tokens changed. */
  portal?: Portal;
}

const oauthError = (status: number, error: string, description: string): OAuthAnswer => ({ status, body: { error, error_description: description } });

export function tokenAnswer(portal: Portal, token: TokenRow): Record<string, unknown> {
  return {
    access_token: token.accessToken,
    client_endpoint: portal.clientEndpoint,
    domain: new URL(portal.oauthUrl).host,
    expires: Math.floor(token.expires / 1000),
    expires_in: portal.config.accessTokenTtlSeconds,
    member_id: portal.state.memberId,
    refresh_token: token.refreshToken,
    scope: token.scope.join(','),
    server_endpoint: portal.serverEndpoint,
    status: 'L',
    user_id: token.userId,
  };
}

/** GET or POST {oauthUrl}/oauth/token/ */
export function handleTokenRequest(portals: readonly Portal[], applications: readonly RegisteredApp[], params: Params): OAuthAnswer {
  const p = isObject(params) ? params : {};
  const grantType = String(p.grant_type ?? '');
  const clientId = String(p.client_id ?? '');
  const clientSecret = String(p.client_secret ?? '');
  if (!grantType || !clientId) return oauthError(400, 'invalid_request', 'grant_type and client_id are required');
  const registered = applications.find((a) => a.clientId === clientId);
  // settings/oauth/error-codes.md: invalid_client also when "the application may not be installed in Bitrix24".
  const installed = portals.some((portal) => portal.app(clientId)?.installed);
  if (!registered || registered.clientSecret !== clientSecret || !installed) return oauthError(401, 'invalid_client', 'Invalid client credentials');
  // No authorisation page is emulated, so no code was ever issued: every code is invalid (invalid_grant covers the
  // first exchange as well as renewals, error-codes.md).
  if (grantType === 'authorization_code') return oauthError(400, 'invalid_grant', 'The authorization code is invalid or has expired');
  if (grantType !== 'refresh_token') return oauthError(400, 'unsupported_grant_type', `grant_type "${grantType}" is not supported`);
  const refreshToken = String(p.refresh_token ?? '');
  for (const portal of portals) {
    const row = portal.state.tokens.find((t) => t.refreshToken === refreshToken && t.clientId === clientId);
    if (!row) continue;
    const app = portal.app(clientId);
    // Deleted from this portal: invalid_client, even while other portals keep the application.
    if (!app?.installed) return oauthError(401, 'invalid_client', 'Invalid client credentials');
    if (row.revoked || row.refreshUsed || row.refreshExpires <= portal.now()) break;
    // A refresh token is spent once exchanged: the app must store the new pair.
    row.refreshUsed = true;
    const token = portal.issueToken(app, row.userId);
    return { status: 200, body: tokenAnswer(portal, token), portal };
  }
  return oauthError(400, 'invalid_grant', 'The refresh token is invalid or has expired; the application must be authorised again');
}
