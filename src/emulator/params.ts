// Request data the way CRestUtil::getRequestData builds it: the query string, replaced key by key with the POST data
// (JSON when the body is JSON, else PHP-style form data with bracket keys). Form and query values are strings;
// JSON keeps its types — which matters (AUTO_EXECUTE must be the string "1", not the number 1).
import qs from 'qs';

export type Params = Record<string, unknown>;

const QS_OPTIONS = { depth: 20, arrayLimit: 1000, parameterLimit: 100_000, allowDots: false } as const;

/** PHP parse_str. */
export function parseQueryString(text: string): Params {
  return qs.parse(text, QS_OPTIONS) as Params;
}

/** Form encoding with PHP bracket keys (`auth[domain]=…`, `document_id[0]=…`), as Bitrix24 sends to handlers. */
export function toFormBody(data: Record<string, unknown>): string {
  return qs.stringify(data, { encodeValuesOnly: false, arrayFormat: 'indices' });
}

export function requestParams(query: string, body: unknown, contentType: string | undefined): Params {
  const fromQuery = parseQueryString(query);
  let fromBody: Params = {};
  if (typeof body === 'string' || Buffer.isBuffer(body)) {
    const text = body.toString().trim();
    if (text !== '') {
      if ((contentType ?? '').includes('json')) {
        try {
          const parsed: unknown = JSON.parse(text);
          // A JSON body that is not an object is ignored, like a body that fails to decode.
          if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) fromBody = parsed as Params;
        } catch {
          fromBody = {};
        }
      } else {
        fromBody = parseQueryString(text);
      }
    }
  }
  return { ...fromQuery, ...fromBody };
}

export const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** The values of a PHP array (a list or a keyed map), in order; with `scalarAsList` a non-empty scalar is a one-item list. */
export function phpValues(value: unknown, scalarAsList = false): unknown[] {
  if (Array.isArray(value)) return value;
  if (isObject(value)) return Object.values(value);
  return scalarAsList && value !== '' && value !== null && value !== undefined ? [value] : [];
}

/** An object or a list (PHP array); lists become index-keyed maps. */
export function asPhpArray(value: unknown): Record<string, unknown> | undefined {
  if (Array.isArray(value)) return Object.fromEntries(value.map((v, i) => [String(i), v]));
  if (isObject(value)) return value;
  return undefined;
}

const capitalize = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);

/** CCrmRestHelper::resolveArrayParam: `name`, NAME, name, Name, arName. */
export function resolveParam(params: Params, name: string): unknown {
  const lower = name.toLowerCase();
  for (const key of [name, name.toUpperCase(), lower, capitalize(lower), `ar${capitalize(lower)}`]) {
    if (params[key] !== undefined && params[key] !== null) return params[key];
  }
  return undefined;
}

/** CCrmRestHelper::resolveEntityID: (int) of ID or id, 0 when absent. */
export function resolveId(params: Params): number {
  return phpInt(params.ID ?? params.id);
}

/** PHP (int) cast. */
export function phpInt(value: unknown): number {
  if (typeof value === 'number') return Number.isFinite(value) ? Math.trunc(value) : 0;
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (typeof value === 'string') {
    const m = /^\s*([+-]?\d+)/.exec(value);
    return m ? Number.parseInt(m[1], 10) : 0;
  }
  return 0;
}

/** PHP truthiness: "", "0", 0, false, null, [] are false; the string "false" is true. */
export function phpTruthy(value: unknown): boolean {
  if (value === undefined || value === null || value === false) return false;
  if (value === 0 || value === '' || value === '0') return false;
  if (Array.isArray(value)) return value.length > 0;
  if (isObject(value)) return Object.keys(value).length > 0;
  return true;
}

/** PHP string cast of a scalar ('' for null/arrays). */
export function phpString(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'boolean') return value ? '1' : '';
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return String(value);
  return '';
}

/** Upper-cases the top-level keys (array_change_key_case CASE_UPPER). */
export function upperKeys(params: Params): Params {
  const out: Params = {};
  for (const [k, v] of Object.entries(params)) out[k.toUpperCase()] = v;
  return out;
}
