import { LANGUAGES, type Lang } from '../template/schema.js';
import type { Template } from '../template/model.js';
import { UserError } from './errors.js';

export function parseLang(value: string): Lang {
  if ((LANGUAGES as readonly string[]).includes(value)) return value as Lang;
  throw new UserError(`unknown language "${value}": use ${LANGUAGES.join(' or ')}`);
}

export function parseTier(template: Template, value: string): string {
  if (template.tiers.includes(value)) return value;
  throw new UserError(`unknown tier "${value}": use ${template.tiers.join(' or ')}`);
}

/** A whole number from `min` to `max` given to `flag`; the message names the flag and what it got. */
export function parseInteger(value: string, flag: string, min: number, max: number): number {
  const n = /^\s*-?\d+\s*$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) throw new UserError(`${flag} must be a whole number from ${min} to ${max} (got "${value}")`);
  return n;
}

/** A TCP port for `flag` (0 lets the system pick a free one). */
export function parsePort(value: string, flag = '--port'): number {
  const n = /^\s*\d+\s*$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isInteger(n) || n > 65535) throw new UserError(`${flag} must be a port number 0–65535 (got "${value}")`);
  return n;
}
