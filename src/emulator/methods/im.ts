// im.notify.system.add / im.notify.personal.add (CIMRestService::notifyAdd; docs api-reference/chats/notifications/*).
// Notifications are readable through the control API (collection "notifications").
import { createHash } from 'node:crypto';
import { RestError } from '../errors.js';
import { isObject, phpInt, phpTruthy, upperKeys } from '../params.js';
import type { CallContext, MethodTable } from '../registry.js';

/** CIMMessageParamAttach::GetAttachByJson: an array, or a string that decodes to one; anything else is no attach. */
function attachOf(value: unknown): unknown[] | Record<string, unknown> | undefined {
  let decoded = value;
  if (typeof value === 'string') {
    try {
      decoded = JSON.parse(value);
    } catch {
      return undefined;
    }
  }
  return Array.isArray(decoded) || isObject(decoded) ? decoded : undefined;
}

function notifyAdd(kind: 'system' | 'personal') {
  return (params: Record<string, unknown>, ctx: CallContext) => {
    const q = upperKeys(params);
    const userId = phpInt(q.TO ?? q.USER_ID);
    if (userId <= 0) throw new RestError('USER_ID_EMPTY', "User ID can't be empty", 400);
    const message = typeof q.MESSAGE === 'string' ? q.MESSAGE.trim() : '';
    if (message === '') throw new RestError('MESSAGE_EMPTY', "Message can't be empty", 400);
    const messageOut = typeof q.MESSAGE_OUT === 'string' ? q.MESSAGE_OUT.trim() : '';
    const attach = attachOf(q.ATTACH);
    if (attach !== undefined && JSON.stringify(attach).length > 60_000) {
      throw new RestError('ATTACH_OVERSIZE', 'You have exceeded the maximum allowable size of attach', 400);
    }
    if (attach === undefined && phpTruthy(q.ATTACH)) throw new RestError('ATTACH_ERROR', 'Incorrect attach params', 400);
    const portal = ctx.portal;
    const app = ctx.auth.app;
    // Tags are kept only in app context, prefixed per app: MP|<md5(client_id)[0..5]>|TAG.
    const appKey = app ? createHash('md5').update(app.clientId).digest('hex').slice(0, 5) : '';
    const tag = app && typeof q.TAG === 'string' && q.TAG !== '' ? `MP|${appKey}|${q.TAG}` : '';
    const subTag = app && typeof q.SUB_TAG === 'string' && q.SUB_TAG !== '' ? `MP|${appKey}|${q.SUB_TAG}` : '';
    // A system notice from an app is shown under the app's name: "<app>#BR#<message>", and so is its e-mail text.
    const shown = kind === 'system' && app ? `${app.code}#BR#${message}` : message;
    const shownOut = kind === 'system' && app && messageOut !== '' ? `${app.code}#BR#${messageOut}` : messageOut;
    // A new notification with the same tag replaces the older ones in that user's notifications.
    if (tag) portal.state.notifications = portal.state.notifications.filter((n) => !(n.userId === userId && n.tag === tag));
    const id = portal.nextId('notification');
    portal.state.notifications.push({
      id,
      kind,
      userId,
      fromUserId: kind === 'personal' ? ctx.auth.userId : null,
      message,
      messageOut: shownOut,
      shownMessage: shown,
      tag,
      subTag,
      clientId: ctx.auth.clientId,
      at: portal.now(),
    });
    return id;
  };
}

export const imMethods: MethodTable = [
  { name: 'im.notify.system.add', scope: 'im', handler: notifyAdd('system') },
  { name: 'im.notify.personal.add', scope: 'im', handler: notifyAdd('personal') },
];
