// `batch` (CRestProvider::methodsBatch + CRestUtil::processBatchStructure): up to 50 commands run in order, each a
// "method?query" string parsed like PHP parse_str (all values strings), with `$result[...]`, `$next[...]`,
// `$total[...]`, `$time[...]`, `$error[...]` references to earlier answers.
import { RestError, methodNotFound } from './errors.js';
import { isObject, parseQueryString, phpTruthy, upperKeys, type Params } from './params.js';
import type { MethodTable } from './registry.js';
import { findMethod, invoke } from './rest.js';

export const BATCH_MAX_LENGTH = 50;
const NOT_IN_BATCH = new Set(['batch', 'download', 'upload']);

type Maps = Record<'result' | 'next' | 'total' | 'time' | 'error', Map<string, unknown>>;

const REFERENCE = /\$(result|next|total|time|error)([^\s]*)/gi;

function resolvePath(maps: Maps, name: string, path: string[]): unknown {
  const map = maps[name as keyof Maps];
  let r: unknown = map ? Object.fromEntries(map) : null;
  for (const key of path) {
    // PHP isset(): a missing or null step stops the walk at the level reached so far.
    if (r !== null && typeof r === 'object' && (r as Record<string, unknown>)[key] !== undefined && (r as Record<string, unknown>)[key] !== null) {
      r = (r as Record<string, unknown>)[key];
    } else {
      break;
    }
  }
  return r;
}

/** processBatchElement: a whole-value reference becomes the raw value; an embedded one only a string or number. */
function substitute(value: string, maps: Maps): unknown {
  let out: unknown = value;
  for (const match of value.matchAll(REFERENCE)) {
    const path = [...match[2].matchAll(/\[([^\]]+)\]/g)].map((m) => m[1]);
    if (path.length === 0) continue;
    const r = resolvePath(maps, match[1], path);
    if (match[0] === value) {
      out = r;
    } else if (typeof out === 'string') {
      const text = typeof r === 'number' ? String(r) : r;
      if (typeof text !== 'string') continue;
      out = out.split(match[0]).join(text);
    }
  }
  return out;
}

function substituteStructure(params: unknown, maps: Maps): unknown {
  if (Array.isArray(params)) return params.map((v) => (typeof v === 'string' ? substitute(v, maps) : substituteStructure(v, maps)));
  if (!isObject(params)) return params;
  const out: Params = {};
  for (const [key, v] of Object.entries(params)) {
    const newKey = String(substitute(key, maps) ?? '');
    out[newKey] = typeof v === 'string' ? substitute(v, maps) : substituteStructure(v, maps);
  }
  return out;
}

/** A PHP array as json_encode writes it: [] when empty, a list for keys 0..n-1 in order, else an object. */
export function phpJson(map: Map<string, unknown>): unknown {
  if (map.size === 0) return [];
  const keys = [...map.keys()];
  if (keys.every((k, i) => k === String(i))) return [...map.values()];
  return Object.fromEntries(map);
}

export const batchMethods: MethodTable = [
  {
    name: 'batch',
    scope: null,
    handler: async (params, ctx) => {
      const q = upperKeys(params);
      const halt = phpTruthy(q.HALT);
      const maps: Maps = { result: new Map(), next: new Map(), total: new Map(), time: new Map(), error: new Map() };
      const cmd = q.CMD;
      const entries: [string, unknown][] = Array.isArray(cmd)
        ? cmd.map((c, i) => [String(i), c])
        : isObject(cmd)
          ? Object.entries(cmd)
          : [];
      let count = 0;
      for (const [key, call] of entries) {
        let res: Record<string, unknown>;
        if (count++ < BATCH_MAX_LENGTH) {
          if (typeof call !== 'string') continue;
          const q2 = call.indexOf('?');
          const method = (q2 >= 0 ? call.slice(0, q2) : call).trim();
          const query = q2 >= 0 ? call.slice(q2 + 1) : '';
          const commandParams = substituteStructure(parseQueryString(query), maps) as Params;
          if (NOT_IN_BATCH.has(method.toLowerCase())) {
            res = new RestError('ERROR_BATCH_METHOD_NOT_ALLOWED', 'Method is not allowed for batch usage', 405).toBody();
          } else {
            Object.assign(commandParams, ctx.auth.authParams);
            const def = findMethod(ctx.portal, method.toLowerCase());
            if (!def) {
              res = methodNotFound().toBody();
            } else {
              delete commandParams.auth;
              res = (await invoke(ctx.portal, def, commandParams, ctx.auth, true)).body;
            }
          }
        } else {
          res = new RestError('ERROR_BATCH_LENGTH_EXCEEDED', 'Max batch length exceeded', 400).toBody();
        }
        if (res.error !== undefined) {
          maps.error.set(key, { error: res.error, error_description: res.error_description });
        } else {
          for (const [k, v] of Object.entries(res)) maps[k as keyof Maps]?.set(key, v);
        }
        // The error entry replaced `error` with the whole (non-empty) array, so even an empty code halts.
        if (res.error !== undefined && halt) break;
      }
      return {
        result: phpJson(maps.result),
        result_error: phpJson(maps.error),
        result_total: phpJson(maps.total),
        result_next: phpJson(maps.next),
        result_time: phpJson(maps.time),
      };
    },
  },
];
