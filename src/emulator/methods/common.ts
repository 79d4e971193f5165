// System and user methods: app.info, feature.get, server.time, scope, method.get, profile, user.admin, user.current,
// user.get, department.get (docs: api-reference/common/system/*, common/users/profile.md, common/users/user-admin.md,
// user/*, departments/*).
import { RestError } from '../errors.js';
import { parseFilter, matches, sortRecords, splitKey, type FieldResolver, type ValueType } from '../filter.js';
import { isObject, phpTruthy, upperKeys } from '../params.js';
import type { Portal } from '../portal.js';
import { legacyPage, page, type MethodTable } from '../registry.js';
import type { DepartmentRow, UserRow } from '../state.js';
import { ALL_SCOPES } from '../seed.js';

/** The licence family: the plan code without its digits (ent10000 → ent). */
export const licenseFamily = (plan: string) => plan.replace(/\d+$/, '');

/** CRestProvider::$licenseList: the plan codes LICENSE may show; any other shows as "project". */
const LICENSE_TYPES = new Set([
  'project', 'corporation', 'company', 'company2', 'company3', 'team', 'demo', 'nfr', 'tf', 'crm', 'tasks', 'basic', 'start', 'std', 'pro', 'ent',
  'pro100', 'ent250', 'ent500', 'ent1000', 'ent2000', 'ent3000', 'ent4000', 'ent5000', 'ent6000', 'ent7000', 'ent8000', 'ent9000', 'ent10000',
  ...[1000, 2000, 3000, 4000, 5000, 6000, 7000, 8000, 9000, 10000].map((n) => `entholding${n}`),
]);

/** LICENSE of app.info: "{language}_{plan}" (getBitrix24LicenseName). */
const licenseName = (portal: Portal) => `${portal.lang}_${LICENSE_TYPES.has(portal.state.plan) ? portal.state.plan : 'project'}`;

function userOut(portal: Portal, u: UserRow): Record<string, unknown> {
  return {
    ID: String(u.ID),
    ACTIVE: u.ACTIVE,
    NAME: u.NAME,
    LAST_NAME: u.LAST_NAME,
    SECOND_NAME: u.SECOND_NAME,
    EMAIL: u.EMAIL,
    LAST_LOGIN: portal.datetime(u.DATE_REGISTER),
    DATE_REGISTER: portal.datetime(u.DATE_REGISTER),
    TIME_ZONE: u.TIME_ZONE ?? '',
    IS_ONLINE: 'N',
    PERSONAL_GENDER: u.PERSONAL_GENDER,
    PERSONAL_BIRTHDAY: '',
    WORK_POSITION: u.WORK_POSITION,
    UF_EMPLOYMENT_DATE: '',
    UF_DEPARTMENT: [...u.UF_DEPARTMENT],
    USER_TYPE: 'employee',
  };
}

const USER_FIELDS: Record<string, { type: ValueType; get: (u: UserRow) => unknown }> = {
  ID: { type: 'int', get: (u) => u.ID },
  ACTIVE: { type: 'bool', get: (u) => (u.ACTIVE ? 'Y' : 'N') },
  NAME: { type: 'string', get: (u) => u.NAME },
  LAST_NAME: { type: 'string', get: (u) => u.LAST_NAME },
  SECOND_NAME: { type: 'string', get: (u) => u.SECOND_NAME },
  EMAIL: { type: 'string', get: (u) => u.EMAIL },
  WORK_POSITION: { type: 'string', get: (u) => u.WORK_POSITION },
  UF_DEPARTMENT: { type: 'int', get: (u) => u.UF_DEPARTMENT },
  USER_TYPE: { type: 'string', get: () => 'employee' },
  IS_ONLINE: { type: 'string', get: () => 'N' },
};
const resolveUserField: FieldResolver<UserRow> = (field) => USER_FIELDS[field];

/** The database's shortest full-text token (Filter\Helper::FT_MIN_TOKEN_SIZE). */
const MIN_TOKEN_SIZE = 3;
/** Words as the full-text parser splits them: runs of letters, digits and "_" (Filter\Helper::splitWords). */
const words = (text: string) => text.toLocaleLowerCase().split(/[^\p{L}\d_]+/u).filter(Boolean);

/**
 * FILTER.NAME_SEARCH, the quick search (Bitrix\Rest\Api\User::userGet → UserUtils::getUserSearchFilter, main/lib/userutils.php):
 * a number finds the user with that ID; other text is a full-text match on the user index, whose content is the
 * name, last name and position (UserTable::generateSearchUserContent, main/lib/UserTable.php): every word of three
 * letters or more must begin a word there (MATCH … AGAINST '+word*'; shorter words are left out). Text too short for
 * the index filters nothing. Undefined: no condition.
 */
function nameSearch(value: unknown): ((u: UserRow) => boolean) | undefined {
  const find = String(value ?? '').trim();
  if (/^\d+$/.test(find)) return (u) => u.ID === Number(find);
  const wanted = words(find).filter((w) => [...w].length >= MIN_TOKEN_SIZE);
  if ([...find].length < MIN_TOKEN_SIZE || wanted.length === 0) return undefined;
  return (u) => {
    const content = words(`${u.NAME} ${u.LAST_NAME} ${u.WORK_POSITION}`);
    return wanted.every((w) => content.some((c) => c.startsWith(w)));
  };
}

const DEPARTMENT_FIELDS: Record<string, { type: ValueType; get: (d: DepartmentRow) => unknown }> = {
  ID: { type: 'int', get: (d) => d.ID },
  NAME: { type: 'string', get: (d) => d.NAME },
  SORT: { type: 'int', get: (d) => d.SORT },
  PARENT: { type: 'int', get: (d) => d.PARENT },
  UF_HEAD: { type: 'int', get: (d) => d.UF_HEAD },
};
const resolveDepartmentField: FieldResolver<DepartmentRow> = (field) => DEPARTMENT_FIELDS[field];

function departmentOut(d: DepartmentRow): Record<string, unknown> {
  const out: Record<string, unknown> = { ID: String(d.ID), NAME: d.NAME, SORT: d.SORT };
  if (d.PARENT !== null) out.PARENT = String(d.PARENT);
  if (d.UF_HEAD !== null) out.UF_HEAD = String(d.UF_HEAD);
  return out;
}

export const commonMethods: MethodTable = [
  {
    name: 'app.info',
    scope: null,
    read: true,
    handler: (_params, { portal, auth }) => {
      // CRestProvider::appInfo: a webhook (password) gets its scopes and the licence; an app gets its own record.
      if (!auth.app) return { SCOPE: [...auth.scope], LICENSE: licenseName(portal) };
      const app = auth.app;
      const plan = portal.state.plan;
      return {
        ID: app.id,
        CODE: app.code,
        VERSION: app.version,
        STATUS: 'L',
        // installation-finish.md: INSTALLED stays false until the installer page calls installFinish.
        INSTALLED: app.installed && !app.setupPending,
        PAYMENT_EXPIRED: 'N',
        DAYS: null,
        LANGUAGE_ID: portal.lang,
        LICENSE: licenseName(portal),
        LICENSE_TYPE: plan,
        LICENSE_FAMILY: licenseFamily(plan),
      };
    },
  },
  {
    name: 'feature.get',
    scope: null,
    read: true,
    handler: (params, { portal }) => {
      const code = String(upperKeys(params).CODE ?? '').trim();
      if (!code) throw new RestError('CODE_EMPTY', "CODE can't be empty", 400);
      return { value: portal.feature(code) ? 'Y' : 'N' };
    },
  },
  {
    name: 'server.time',
    scope: null,
    read: true,
    handler: (_params, { portal }) => portal.datetime(portal.now()),
  },
  {
    name: 'scope',
    scope: null,
    read: true,
    handler: (params, { auth }) => (phpTruthy(upperKeys(params).FULL) ? [...ALL_SCOPES] : [...auth.scope]),
  },
  {
    name: 'method.get',
    scope: null,
    read: true,
    handler: (params, { portal, auth }) => {
      const name = String(params.name ?? params.NAME ?? '').toLowerCase();
      const def = portal.registry.get(name);
      const available = !!def && (!def.scope || auth.scope.includes(def.scope)) && !(def.appOnly && auth.type !== 'oauth');
      return { isExisting: !!def, isAvailable: available };
    },
  },
  {
    name: 'profile',
    scope: null,
    read: true,
    handler: (_params, { portal, auth }) => {
      // CRestProvider::getProfile: TIME_ZONE is the user's own zone (b_user.TIME_ZONE), "" when the user set none.
      const u = portal.user(auth.userId)!;
      return { ID: String(u.ID), ADMIN: u.ADMIN, NAME: u.NAME, LAST_NAME: u.LAST_NAME, PERSONAL_GENDER: u.PERSONAL_GENDER, TIME_ZONE: u.TIME_ZONE ?? '' };
    },
  },
  {
    // CRestUtil::isAdmin (rest/classes/general/rest_util.php): on the cloud, the right to configure Bitrix24 — the
    // portal's administrators; the same value as profile's ADMIN.
    name: 'user.admin',
    scope: null,
    read: true,
    handler: (_params, { portal, auth }) => portal.isAdmin(auth.userId),
  },
  {
    name: 'user.current',
    scope: 'user',
    read: true,
    handler: (_params, { portal, auth }) => userOut(portal, portal.user(auth.userId)!),
  },
  {
    // Bitrix\Rest\Api\User::userGet (rest/lib/api/user.php): keys in any case; FILTER, when an array, replaces the
    // whole query as the filter; a sort only with both SORT and ORDER; SELECT picks columns (no forced ID); an empty
    // page is a bare [] (no total: setNavData runs only `if ($result)`).
    name: 'user.get',
    scope: 'user',
    read: true,
    handler: (params, { portal, start }) => {
      const query = upperKeys(params);
      const filter = isObject(query.FILTER) ? query.FILTER : query;
      // NAME_SEARCH takes no operator prefix (prepareUserFilter clears it).
      const searchKey = Object.keys(filter).find((key) => splitKey(key).field.toUpperCase() === 'NAME_SEARCH');
      const search = searchKey === undefined ? undefined : nameSearch(filter[searchKey]);
      const conditions = parseFilter(filter, resolveUserField);
      let users = portal.state.users.filter((u) => matches(u, conditions, portal.timeZone) && (!search || search(u)));
      if (typeof query.SORT === 'string' && query.SORT !== '' && typeof query.ORDER === 'string' && query.ORDER !== '') {
        users = sortRecords(users, { [query.SORT]: query.ORDER }, resolveUserField, portal.timeZone);
      }
      const select = Array.isArray(query.SELECT) ? query.SELECT.map(String) : [];
      const pick = (row: Record<string, unknown>) =>
        select.length === 0 || select.includes('*') ? row : Object.fromEntries(Object.entries(row).filter(([key]) => select.includes(key) || (key.startsWith('UF_') && select.includes('UF_*'))));
      const answer = page(users, start, (u) => pick(userOut(portal, u)));
      return (answer.result as unknown[]).length === 0 ? [] : answer;
    },
  },
  {
    name: 'department.get',
    scope: 'department',
    read: true,
    handler: (params, { portal, start }) => {
      // CIntranetRestService::departmentGet: FILTER (or the top level) with the field names as written.
      const query = isObject(params.FILTER) ? params.FILTER : params;
      const filter: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(query)) if (['ID', 'NAME', 'SORT', 'PARENT', 'UF_HEAD'].includes(k)) filter[k] = v;
      const conditions = parseFilter(filter, resolveDepartmentField, { exactNames: true });
      let rows = portal.state.departments.filter((d) => matches(d, conditions, portal.timeZone));
      const upper = Object.fromEntries(Object.entries(query).map(([k, v]) => [k.toUpperCase(), v]));
      const sortField = typeof upper.SORT === 'string' && DEPARTMENT_FIELDS[upper.SORT.toUpperCase()] ? upper.SORT.toUpperCase() : 'ID';
      rows = sortRecords(rows, { [sortField]: String(upper.ORDER ?? 'ASC') }, resolveDepartmentField, portal.timeZone);
      // CIBlockSection::GetList pages like the other CDBResult lists.
      return legacyPage(rows, start, departmentOut);
    },
  },
];
