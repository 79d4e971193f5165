// What Bitrix24 POSTs to the service, validated. Bodies are application/x-www-form-urlencoded with PHP-style
// bracket keys (auth[member_id], data[FIELDS][ID], document_id[0]); qs turns them into objects, zod checks them.
import { createHash, timingSafeEqual } from 'node:crypto';
import qs from 'qs';
import { z } from 'zod';

/** Parses a form body; bounded so a hostile body cannot build huge or deep objects. */
export function parseFormBody(body: string): Record<string, unknown> {
  return qs.parse(body, { depth: 6, parameterLimit: 500, arrayLimit: 100, allowPrototypes: false, allowDots: false }) as Record<string, unknown>;
}

const text = z.string().trim();
const id = z.union([z.string(), z.number()]).transform(String).pipe(z.string().regex(/^[1-9]\d{0,18}$/, 'an ID is a positive whole number'));
const memberId = z.string().trim().min(1, 'member_id is empty').max(100);
const applicationToken = z.string().trim().min(1, 'application_token is empty').max(200);
const numeric = z.union([z.string(), z.number()]).transform((v) => Number(v)).pipe(z.number().finite());

/** The auth block every event and robot call carries; tokens only when a user caused the change. */
const callAuth = z.object({
  member_id: memberId,
  application_token: applicationToken,
  domain: text.optional(),
  client_endpoint: text.optional(),
});

export const CRM_EVENTS = {
  ONCRMLEADADD: { entity: 'lead', kind: 'add' },
  ONCRMLEADUPDATE: { entity: 'lead', kind: 'update' },
  ONCRMDEALADD: { entity: 'deal', kind: 'add' },
  ONCRMDEALUPDATE: { entity: 'deal', kind: 'update' },
  ONCRMDEALMOVETOCATEGORY: { entity: 'deal', kind: 'update' },
} as const;
export type CrmEventName = keyof typeof CRM_EVENTS;

export const crmEventPayload = z.object({
  event: z.string().trim().transform((s) => s.toUpperCase()).pipe(
    z.enum(Object.keys(CRM_EVENTS) as [CrmEventName, ...CrmEventName[]], { error: (i) => `event "${String(i.input)}" is not a CRM event this service handles` }),
  ),
  event_handler_id: text.optional(),
  data: z.object({ FIELDS: z.object({ ID: id }) }),
  ts: numeric.optional(),
  auth: callAuth,
});
export type CrmEventPayload = z.infer<typeof crmEventPayload>;

export const uninstallPayload = z.object({
  event: z.literal('ONAPPUNINSTALL'),
  data: z.object({ CLEAN: text.optional(), LANGUAGE_ID: text.optional() }).optional(),
  auth: callAuth,
});

/** ONAPPINSTALL: the install event of an application without an interface, with both tokens. */
export const installEventPayload = z.object({
  event: z.literal('ONAPPINSTALL'),
  data: z.object({ LANGUAGE_ID: text.optional(), VERSION: text.optional() }).partial().optional(),
  auth: z.object({
    access_token: text.min(1, 'auth[access_token] is empty'),
    refresh_token: text.min(1, 'auth[refresh_token] is empty'),
    expires: numeric.optional(),
    expires_in: numeric.optional(),
    scope: text.optional(),
    domain: text.min(1, 'auth[domain] is empty'),
    client_endpoint: text.url('auth[client_endpoint] is not a URL'),
    member_id: memberId,
    user_id: numeric.optional(),
    application_token: applicationToken,
  }),
});

/** The install page of an application with an interface: tokens in the POST body, the portal in the query. */
export const installPagePayload = z.object({
  AUTH_ID: text.min(1, 'AUTH_ID is empty'),
  AUTH_EXPIRES: numeric.optional(),
  REFRESH_ID: text.min(1, 'REFRESH_ID is empty'),
  APPLICATION_TOKEN: applicationToken,
  APPLICATION_SCOPE: text.optional(),
  member_id: memberId,
});
export const installPageQuery = z.object({
  DOMAIN: text.min(1, 'DOMAIN is missing from the query string'),
  PROTOCOL: z.enum(['0', '1']).optional(),
  LANG: text.optional(),
});

/** The application's page opened in Bitrix24 (widget_data.md: the user's tokens and the application token in the body). */
export const appPagePayload = z.object({
  member_id: memberId,
  APPLICATION_TOKEN: applicationToken,
  AUTH_ID: text.min(1, 'AUTH_ID is empty'),
  /** A day to open the re-call list on (checked as a calendar date by the page route). */
  date: z.string().trim().max(40).optional(),
});

/** The call of an app robot (bizproc.robot.add HANDLER), per the server's CBPRestActivity. */
export const robotPayload = z.object({
  workflow_id: text.min(1, 'workflow_id is empty'),
  code: text.min(1, 'code is empty'),
  document_id: z.tuple([text, text, text.regex(/^(LEAD|DEAL)_\d+$/, 'document_id[2] must look like DEAL_5 or LEAD_7')]),
  document_type: z.array(text).optional(),
  event_token: text.min(1, 'event_token is empty').max(1000),
  properties: z.record(z.string(), z.unknown()).optional(),
  use_subscription: z.enum(['Y', 'N']).optional(),
  timeout_duration: numeric.optional(),
  ts: numeric.optional(),
  auth: callAuth,
});
export type RobotPayload = z.infer<typeof robotPayload>;

export function robotDocument(p: RobotPayload): { entity: 'lead' | 'deal'; id: string } {
  const [type, idText] = p.document_id[2].split('_');
  return { entity: type === 'LEAD' ? 'lead' : 'deal', id: idText };
}

/** A readable list of what is wrong with a body. */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .map((i) => {
      const path = i.path.map((p, n) => (n === 0 ? String(p) : `[${String(p)}]`)).join('');
      return path ? `${path}: ${i.message}` : i.message;
    })
    .join('; ');
}

/** Constant-time comparison of a presented application_token with the stored one. */
export function sameToken(presented: string, stored: string): boolean {
  if (!stored) return false;
  const a = createHash('sha256').update(presented).digest();
  const b = createHash('sha256').update(stored).digest();
  return timingSafeEqual(a, b);
}
