// List filters of the legacy methods (crm.*.list, user.get, bizproc.workflow.template.list): a key may carry an
// operator prefix — `>=` `>` `<=` `<` `@` (IN) `!@` (NOT IN) `%` (substring) `=%`/`%=` (LIKE with %) `!%` `!%=`
// `=` (default) `!=`/`!` — and an array value without a prefix means IN (docs: crm-lead-list.md, user-get.md).
import { isObject } from './params.js';
import { parseDateTime } from './time.js';

export type ValueType = 'int' | 'float' | 'string' | 'datetime' | 'date' | 'bool';

export interface FieldSpec {
  type: ValueType;
  get: (record: never) => unknown;
}

export type FieldResolver<R> = (field: string) => { type: ValueType; get: (record: R) => unknown } | undefined;

type Operator = '=' | '!' | '>' | '>=' | '<' | '<=' | 'in' | '!in' | 'like' | '!like' | 'substr' | '!substr' | 'between' | '!between';

const PREFIXES: [string, Operator][] = [
  ['!%=', '!like'],
  ['>=', '>='],
  ['<=', '<='],
  ['!@', '!in'],
  ['!=', '!'],
  ['!%', '!substr'],
  ['=%', 'like'],
  ['%=', 'like'],
  ['>', '>'],
  ['<', '<'],
  ['@', 'in'],
  ['%', 'substr'],
  ['=', '='],
  ['!', '!'],
];

export interface Condition<R> {
  field: string;
  op: Operator;
  value: unknown;
  type: ValueType;
  get: (record: R) => unknown;
  /** CSqlUtil::PrepareWhere: a number compared with 0 by =, !, >= or <= also takes an empty (NULL) column as 0. */
  nullIsZero?: boolean;
}

export interface FilterOptions {
  /** Field names as written (the legacy CRM proxies look them up case-sensitively); default: upper-cased first. */
  exactNames?: boolean;
  /** The legacy SQL builder's rules (CSqlUtil::PrepareWhere), see Condition.nullIsZero. */
  legacySql?: boolean;
}

/** The operator prefix of a filter key (the first of `prefixes` that matches: longer ones are listed first). */
function splitPrefix(key: string, prefixes: [string, Operator][]): { op: Operator; field: string } {
  for (const [prefix, op] of prefixes) {
    if (key.startsWith(prefix)) return { op, field: key.slice(prefix.length) };
  }
  return { op: '=', field: key };
}

export const splitKey = (key: string) => splitPrefix(key, PREFIXES);

/** Conditions for the known fields; keys naming unknown fields are ignored, like the legacy CRM filters do. */
export function parseFilter<R>(filter: Record<string, unknown>, resolve: FieldResolver<R>, options: FilterOptions = {}): Condition<R>[] {
  const out: Condition<R>[] = [];
  for (const [key, value] of Object.entries(filter)) {
    const { op, field } = splitKey(key);
    const spec = options.exactNames ? resolve(field) : (resolve(field.toUpperCase()) ?? resolve(field));
    if (!spec) continue;
    out.push({ field, op, value, type: spec.type, get: spec.get, ...(options.legacySql ? { nullIsZero: true } : {}) });
  }
  return out;
}

function normalize(value: unknown, type: ValueType, timeZone: string): string | number | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'boolean') return type === 'bool' ? (value ? 'Y' : 'N') : value ? 1 : 0;
  switch (type) {
    case 'int':
    case 'float': {
      if (value === '') return null;
      const n = Number(value);
      return Number.isNaN(n) ? String(value) : n;
    }
    case 'datetime': {
      if (typeof value === 'number') return value;
      return parseDateTime(value, timeZone) ?? null;
    }
    case 'date': {
      const ms = parseDateTime(value, timeZone);
      return ms === undefined ? null : ms;
    }
    default:
      return String(value);
  }
}

function likeToRegExp(pattern: string): RegExp {
  const escaped = pattern.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/%/g, '.*').replace(/_/g, '.');
  return new RegExp(`^${escaped}$`, 'i');
}

function compareOne(actual: string | number | null, op: Operator, expected: unknown, type: ValueType, timeZone: string): boolean {
  const list = Array.isArray(expected) ? expected : typeof expected === 'string' && (op === 'in' || op === '!in') ? expected.split(',') : [expected];
  switch (op) {
    case '=':
    case 'in':
      return list.some((e) => equal(actual, normalize(e, type, timeZone)));
    case '!':
    case '!in':
      return !list.some((e) => equal(actual, normalize(e, type, timeZone)));
    case 'substr':
    case '!substr': {
      const hit = actual !== null && list.some((e) => String(actual).toLowerCase().includes(String(e ?? '').toLowerCase()));
      return op === 'substr' ? hit : !hit;
    }
    case 'like':
    case '!like': {
      const hit = actual !== null && list.some((e) => likeToRegExp(String(e ?? '')).test(String(actual)));
      return op === 'like' ? hit : !hit;
    }
    case 'between':
    case '!between': {
      const [low, high] = list.map((e) => normalize(e, type, timeZone));
      const hit = actual !== null && low !== null && high !== null && low !== undefined && high !== undefined && actual >= low && actual <= high;
      return op === 'between' ? hit : !hit;
    }
    default: {
      const e = normalize(list[0], type, timeZone);
      if (actual === null || e === null) return false;
      if (op === '>') return actual > e;
      if (op === '>=') return actual >= e;
      if (op === '<') return actual < e;
      return actual <= e;
    }
  }
}

function equal(a: string | number | null, b: string | number | null): boolean {
  if (a === null || a === '') return b === null || b === '';
  if (b === null) return false;
  if (typeof a === 'number' && typeof b === 'number') return a === b;
  return String(a) === String(b);
}

const NULL_AS_ZERO_OPS = new Set<Operator>(['=', '!', '>=', '<=']);

export function matches<R>(record: R, conditions: Condition<R>[], timeZone: string): boolean {
  return conditions.every((c) => {
    const raw = c.get(record);
    const values = Array.isArray(raw) ? raw : [raw];
    const normalized = values.map((v) => normalize(v, c.type, timeZone));
    if (normalized.length === 0) normalized.push(null);
    if (c.nullIsZero && (c.type === 'int' || c.type === 'float') && NULL_AS_ZERO_OPS.has(c.op) && !Array.isArray(c.value) && normalize(c.value, c.type, timeZone) === 0) {
      for (let i = 0; i < normalized.length; i++) if (normalized[i] === null) normalized[i] = 0;
    }
    // A negative operator must hold for every value of a multiple field; a positive one for any.
    const negative = c.op === '!' || c.op === '!in' || c.op === '!substr' || c.op === '!like' || c.op === '!between';
    return negative
      ? normalized.every((v) => compareOne(v, c.op, c.value, c.type, timeZone))
      : normalized.some((v) => compareOne(v, c.op, c.value, c.type, timeZone));
  });
}

/** Sorts by `{FIELD: "ASC"|"DESC"}` (case-insensitive), with ID ascending as the tie-breaker. */
export function sortRecords<R>(records: R[], order: Record<string, unknown>, resolve: FieldResolver<R>, timeZone: string): R[] {
  const keys = Object.entries(order)
    .map(([field, dir]) => ({ spec: resolve(field.toUpperCase()) ?? resolve(field), desc: String(dir).toUpperCase() === 'DESC' }))
    .filter((k): k is { spec: NonNullable<ReturnType<FieldResolver<R>>>; desc: boolean } => k.spec !== undefined);
  const idSpec = resolve('ID');
  if (idSpec && !keys.some((k) => k.spec === idSpec)) keys.push({ spec: idSpec, desc: false });
  return [...records].sort((a, b) => {
    for (const { spec, desc } of keys) {
      const va = normalize(first(spec.get(a)), spec.type, timeZone);
      const vb = normalize(first(spec.get(b)), spec.type, timeZone);
      if (va === vb) continue;
      if (va === null) return desc ? 1 : -1;
      if (vb === null) return desc ? -1 : 1;
      const cmp = typeof va === 'number' && typeof vb === 'number' ? va - vb : String(va).localeCompare(String(vb));
      if (cmp !== 0) return desc ? -cmp : cmp;
    }
    return 0;
  });
}

const first = (v: unknown) => (Array.isArray(v) ? v[0] : v);

// ---- D7 ORM filters (crm.item.list): nested groups joined by `logic` (AND by default), and the ORM's prefixes,
// which add `><` (between) and `!=%` to the legacy set. ----

const ORM_PREFIXES: [string, Operator][] = [['!><', '!between'], ['!=%', '!like'], ['><', 'between'], ...PREFIXES];

export const splitOrmKey = (key: string) => splitPrefix(key, ORM_PREFIXES);

export interface FilterGroup<R> {
  logic: 'AND' | 'OR';
  items: (Condition<R> | FilterGroup<R>)[];
}

/** A filter tree; numeric keys hold sub-filters, `logic`/`LOGIC` joins a level; unknown fields are skipped. */
export function parseOrmFilter<R>(filter: Record<string, unknown>, resolve: FieldResolver<R>): FilterGroup<R> {
  const group: FilterGroup<R> = { logic: 'AND', items: [] };
  for (const [key, value] of Object.entries(filter)) {
    if (key.toUpperCase() === 'LOGIC') {
      group.logic = String(value).toUpperCase() === 'OR' ? 'OR' : 'AND';
      continue;
    }
    if (/^\d+$/.test(key)) {
      const sub = Array.isArray(value) ? Object.fromEntries(value.map((v, i) => [String(i), v])) : value;
      if (isObject(sub)) group.items.push(parseOrmFilter(sub, resolve));
      continue;
    }
    const { op, field } = splitOrmKey(key);
    const spec = resolve(field);
    if (spec) group.items.push({ field, op, value, type: spec.type, get: spec.get });
  }
  return group;
}

export function matchesGroup<R>(record: R, group: FilterGroup<R>, timeZone: string): boolean {
  if (group.items.length === 0) return true;
  const test = (item: Condition<R> | FilterGroup<R>) => ('items' in item ? matchesGroup(record, item, timeZone) : matches(record, [item], timeZone));
  return group.logic === 'OR' ? group.items.some(test) : group.items.every(test);
}
