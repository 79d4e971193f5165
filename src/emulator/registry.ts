// One registry of REST methods: name, scope, whether only an application may call it, and the handler.
import type { Portal } from './portal.js';
import type { Params } from './params.js';
import type { AppRow } from './state.js';

export interface AuthInfo {
  type: 'webhook' | 'oauth';
  userId: number;
  scope: string[];
  /** The app's client_id in app context; null for a webhook. */
  clientId: string | null;
  app: AppRow | null;
  /** The webhook or the app: what the operating limit is counted against. */
  entity: string;
  /** The auth keys of the request (copied into batch commands). */
  authParams: Params;
  accessToken: string | null;
}

export interface CallContext {
  portal: Portal;
  auth: AuthInfo;
  method: string;
  /** The `start` parameter of list methods (removed from the parameters, as CRestServer does). */
  start: number;
  inBatch: boolean;
}

/** A list answer: `result`, plus `total` and `next` lifted to the envelope. */
export class ListAnswer {
  constructor(
    readonly result: unknown,
    readonly total?: number,
    readonly next?: number,
  ) {}
}

export interface MethodDef {
  name: string;
  /** null: available to any authorised call (CRestUtil::GLOBAL_SCOPE). */
  scope: string | null;
  /**
   * App context only: an incoming webhook gets ACCESS_DENIED "Application context required" (true), or, from the
   * methods that check the authorisation type itself (event.*: AuthTypeException), WRONG_AUTH_TYPE ('authType').
   */
  appOnly?: true | 'authType';
  /** Reads do not change the portal (no state write after them). */
  read?: boolean;
  /** Plan feature that must be on, else the method does not exist for the portal (ERROR_METHOD_NOT_FOUND). */
  feature?: string | string[];
  handler: (params: Params, ctx: CallContext) => unknown;
}

export type MethodTable = MethodDef[];

export function buildRegistry(...tables: MethodTable[]): Map<string, MethodDef> {
  const map = new Map<string, MethodDef>();
  for (const table of tables) {
    for (const def of table) {
      // The server lower-cases method names before looking them up.
      const name = def.name.toLowerCase();
      if (map.has(name)) throw new Error(`emulator: method ${name} registered twice`);
      map.set(name, { ...def, name });
    }
  }
  return map;
}

export const PAGE_SIZE = 50;

/** Static pages of 50 at an exact offset (ORM lists: `start` is the offset); `next` only when more remain; start=-1 skips the count. */
export function page<T>(items: T[], start: number, map: (item: T) => unknown = (item) => item): ListAnswer {
  if (start < 0) return new ListAnswer(items.slice(0, PAGE_SIZE).map(map), 0);
  const slice = items.slice(start, start + PAGE_SIZE).map(map);
  const next = start + PAGE_SIZE < items.length ? start + PAGE_SIZE : undefined;
  return new ListAnswer(slice, items.length, next);
}

/**
 * Pages of the legacy CDBResult lists (crm.lead|deal|contact|company.list, crm.activity.list): `start` names page
 * floor(start/50)+1, and a page past the last one falls back to page 1 (IRestService::getNavData + CDBResult::NavQuery,
 * calculatePageNumber) — so a client that walks `start` until an empty page never stops; `next` is the way.
 */
export function legacyPage<T>(items: T[], start: number, map: (item: T) => unknown = (item) => item): ListAnswer {
  if (start < 0) return page(items, start, map);
  const pageCount = Math.ceil(items.length / PAGE_SIZE);
  let pageNumber = Math.floor(start / PAGE_SIZE) + 1;
  if (pageNumber > pageCount) pageNumber = 1;
  const offset = (pageNumber - 1) * PAGE_SIZE;
  const next = pageNumber < pageCount ? pageNumber * PAGE_SIZE : undefined;
  return new ListAnswer(items.slice(offset, offset + PAGE_SIZE).map(map), items.length, next);
}

/**
 * The page of a D7 controller answering a Page (RestManager: PageNavigation of 50, current page floor(start/50)+1):
 * the items under `key`, `next` while items remain; start=-1 skips the count.
 */
export function d7Page<T>(key: string, items: T[], start: number, map: (item: T) => unknown = (item) => item): ListAnswer {
  const offset = start > 0 ? Math.floor(start / PAGE_SIZE) * PAGE_SIZE : 0;
  const slice = items.slice(offset, offset + PAGE_SIZE).map(map);
  if (start === -1) return new ListAnswer({ [key]: slice });
  const next = offset + slice.length < items.length ? offset + slice.length : undefined;
  return new ListAnswer({ [key]: slice }, items.length, next);
}
