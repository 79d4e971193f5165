// How a D7 controller action (Main\Engine, e.g. crm.item.*, crm.category.*, crm.activity.todo.*, tasks.task.*) gets its
// parameters: by name as written, typed by the action's signature; a missing or mistyped one is error "100"
// (main/lib/engine/binder.php, autowire/binder.php). Its own errors carry their code with HTTP 400.
import { RestError } from './errors.js';
import { isObject, phpInt, phpString, type Params } from './params.js';

/** An error a D7 controller added: its code (or "0"), HTTP 400. */
export const d7Error = (code: string, message: string) => new RestError(code, message, 400);

export const missingParameter = (name: string) => d7Error('100', `Could not find value for parameter {${name}}`);

/** A required parameter of any type. */
export function bindValue(params: Params, name: string): unknown {
  const value = params[name];
  if (value === undefined || value === null) throw missingParameter(name);
  return value;
}

export function bindInt(params: Params, name: string): number {
  const value = bindValue(params, name);
  const numeric = typeof value === 'number' || (typeof value === 'string' && value.trim() !== '' && !Number.isNaN(Number(value)));
  if (!numeric) throw d7Error('100', `Invalid value {${phpString(value) || 'Array'}} to match with parameter {${name}}. Should be value of type int.`);
  return phpInt(value);
}

/** An `array` parameter: a list becomes an index-keyed map; `fallback` is the signature's default. */
export function bindArray(params: Params, name: string, fallback?: Record<string, unknown>): Record<string, unknown> {
  const value = params[name];
  if ((value === undefined || value === null) && fallback) return fallback;
  bindValue(params, name);
  if (Array.isArray(value)) return Object.fromEntries(value.map((v, i) => [String(i), v]));
  if (isObject(value)) return value;
  throw d7Error('100', `Invalid value {${phpString(value)}} to match with parameter {${name}}. Should be value of type array.`);
}

export function bindString(params: Params, name: string, fallback: string): string {
  const value = params[name];
  if (value === undefined || value === null) return fallback;
  if (typeof value !== 'string') throw d7Error('100', `Invalid value {${phpString(value) || 'Array'}} to match with parameter {${name}}. Should be value of type string.`);
  return value;
}
