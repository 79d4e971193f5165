// The application page's session: after the service has checked what Bitrix24 posted (the application token, and who
// the user is), the page gets a short-lived signed statement of the portal, the user and whether they administer it.
// It carries no token; it is signed with a key derived from the service's secret key, so a page of one portal cannot
// be turned into another portal's, a user into an administrator, or an old page kept alive.
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { UiLang } from './app-types.js';

export interface AppSession {
  memberId: string;
  userId: number;
  admin: boolean;
  lang: UiLang;
  /** ms */
  expiresAt: number;
}

/** As long as Bitrix24's own frame token lives (AUTH_EXPIRES 3600): then the application is opened again. */
export const SESSION_TTL_MS = 3_600_000;

export const SESSION_KEY_PURPOSE = 'app-session';

const mac = (key: Buffer, body: string) => createHmac('sha256', key).update(body).digest();

export function signSession(key: Buffer, session: AppSession): string {
  const body = Buffer.from(JSON.stringify([session.memberId, session.userId, session.admin ? 1 : 0, session.lang, session.expiresAt])).toString('base64url');
  return `${body}.${mac(key, body).toString('base64url')}`;
}

/** The session a page presents: valid, expired (a genuine one, out of time), or not one this service signed. */
export function readSession(key: Buffer, token: string, now: number): { session: AppSession } | { expired: true } | undefined {
  const [body, signature, extra] = token.split('.');
  if (!body || !signature || extra !== undefined) return undefined;
  const expected = mac(key, body);
  const given = Buffer.from(signature, 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
  let fields: unknown;
  try {
    fields = JSON.parse(Buffer.from(body, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
  if (!Array.isArray(fields) || fields.length !== 5) return undefined;
  const [memberId, userId, admin, lang, expiresAt] = fields as [unknown, unknown, unknown, unknown, unknown];
  if (typeof memberId !== 'string' || typeof userId !== 'number' || typeof expiresAt !== 'number' || (lang !== 'ru' && lang !== 'en')) return undefined;
  if (expiresAt <= now) return { expired: true };
  return { session: { memberId, userId, admin: admin === 1, lang, expiresAt } };
}
