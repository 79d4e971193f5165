// event.bind / event.unbind / event.get / events (rest/lib/api/event.php; docs api-reference/events/*).
import { RestError, accessDenied } from '../errors.js';
import { phpInt, phpString, upperKeys } from '../params.js';
import type { MethodTable } from '../registry.js';

/** Events an application may bind, per scope (null: any app). */
export const EVENTS: Record<string, string | null> = {
  ONAPPINSTALL: null,
  ONAPPUNINSTALL: null,
  ONAPPUPDATE: null,
  ONAPPPAYMENT: null,
  ONCRMLEADADD: 'crm',
  ONCRMLEADUPDATE: 'crm',
  ONCRMLEADDELETE: 'crm',
  ONCRMDEALADD: 'crm',
  ONCRMDEALUPDATE: 'crm',
  ONCRMDEALDELETE: 'crm',
  ONCRMDEALMOVETOCATEGORY: 'crm',
  ONCRMCONTACTADD: 'crm',
  ONCRMCONTACTUPDATE: 'crm',
  ONCRMCONTACTDELETE: 'crm',
  ONCRMCOMPANYADD: 'crm',
  ONCRMCOMPANYUPDATE: 'crm',
  ONCRMCOMPANYDELETE: 'crm',
  ONCRMACTIVITYADD: 'crm',
  ONCRMACTIVITYUPDATE: 'crm',
  ONCRMACTIVITYDELETE: 'crm',
  ONCRMTIMELINECOMMENTADD: 'crm',
  ONTASKADD: 'task',
  ONTASKUPDATE: 'task',
  ONTASKDELETE: 'task',
  ONUSERADD: 'user',
};

/** HandlerHelper::checkCallback: a host with a dot after its first character, scheme http or https. */
export function checkHandlerUrl(url: unknown): void {
  let parsed: URL | undefined;
  try {
    parsed = new URL(String(url ?? ''));
  } catch {
    parsed = undefined;
  }
  if (!parsed || parsed.hostname.indexOf('.') <= 0) throw new RestError('ERROR_WRONG_HANDLER_URL', 'Wrong handler URL', 400);
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new RestError('ERROR_UNSUPPORTED_PROTOCOL', 'Unsupported handler protocol', 400);
}

const argumentNull = (name: string) => new RestError('ERROR_ARGUMENT', `Argument '${name}' is null or empty`, 400);

/** EVENT and EVENT_TYPE as event.bind and event.unbind both read and check them. */
function eventArguments(q: Record<string, unknown>): { event: string; offline: boolean } {
  const event = phpString(q.EVENT).toUpperCase();
  const eventType = phpString(q.EVENT_TYPE).toLowerCase() || 'online';
  if (event === '') throw argumentNull('EVENT');
  if (eventType !== 'online' && eventType !== 'offline') throw new RestError('ERROR_ARGUMENT', 'Value must be one of {online|offline}', 400);
  return { event, offline: eventType === 'offline' };
}

export const eventMethods: MethodTable = [
  {
    name: 'event.bind',
    scope: null,
    appOnly: 'authType',
    handler: (params, { portal, auth }) => {
      const q = upperKeys(params);
      const admin = portal.isAdmin(auth.userId);
      let authType = phpInt(q.AUTH_TYPE);
      let handler = phpString(q.HANDLER);
      if (authType > 0) {
        if (!admin && authType !== auth.userId) throw accessDenied('Event binding with AUTH_TYPE requires administrator access rights');
      } else if (!admin) {
        authType = auth.userId;
      }
      const { event, offline } = eventArguments(q);
      if (offline) {
        if (!admin) throw accessDenied('Offline events binding requires administrator access rights');
        handler = '';
        authType = 0;
      } else if (handler === '') {
        throw argumentNull('HANDLER');
      }
      if (handler) checkHandlerUrl(handler);
      if (!(event in EVENTS) || (EVENTS[event] !== null && !auth.scope.includes(EVENTS[event]!))) {
        throw new RestError('ERROR_EVENT_NOT_FOUND', 'Event not found', 400);
      }
      const clientId = auth.clientId!;
      if (portal.state.eventBindings.some((b) => b.clientId === clientId && b.event === event && b.handler === handler && b.authType === authType && b.offline === offline)) {
        throw new RestError('ERROR_CORE', 'Unable to set event handler: Handler already binded', 400);
      }
      portal.state.eventBindings.push({ id: portal.nextId('eventBinding'), clientId, event, handler, authType, offline });
      return true;
    },
  },
  {
    name: 'event.unbind',
    scope: null,
    appOnly: 'authType',
    handler: (params, { portal, auth }) => {
      const q = upperKeys(params);
      const admin = portal.isAdmin(auth.userId);
      let handler = phpString(q.HANDLER);
      const { event, offline } = eventArguments(q);
      let userFilter: number | undefined;
      if (offline) {
        if (!admin) throw accessDenied('Offline events unbinding requires administrator access rights');
        handler = '';
      } else {
        if (handler === '') throw argumentNull('HANDLER');
        if (q.AUTH_TYPE !== undefined) {
          if (!admin && phpInt(q.AUTH_TYPE) !== auth.userId) throw accessDenied('Event unbinding with AUTH_TYPE requires administrator access rights');
          userFilter = phpInt(q.AUTH_TYPE);
        } else if (!admin) {
          userFilter = auth.userId;
        }
      }
      const before = portal.state.eventBindings.length;
      portal.state.eventBindings = portal.state.eventBindings.filter(
        (b) => !(b.clientId === auth.clientId && b.event === event && b.handler === handler && (userFilter === undefined || b.authType === userFilter)),
      );
      return { count: before - portal.state.eventBindings.length };
    },
  },
  {
    name: 'event.get',
    scope: null,
    appOnly: 'authType',
    read: true,
    handler: (_params, { portal, auth }) => {
      const admin = portal.isAdmin(auth.userId);
      return portal.state.eventBindings
        .filter((b) => b.clientId === auth.clientId && (admin || b.authType === auth.userId))
        .sort((a, b) => a.id - b.id)
        .map((b) => (b.offline ? { event: b.event, connector_id: '', offline: 1 } : { event: b.event, handler: b.handler, auth_type: String(b.authType), offline: 0 }));
    },
  },
  {
    name: 'events',
    scope: null,
    read: true,
    handler: (params, { auth }) => {
      const full = phpString(upperKeys(params).FULL) !== '' && phpString(upperKeys(params).FULL) !== '0';
      return Object.entries(EVENTS)
        .filter(([, scope]) => full || scope === null || auth.scope.includes(scope))
        .map(([event]) => event);
    },
  },
];
