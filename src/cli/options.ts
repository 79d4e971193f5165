import { tr } from '../i18n/index.js';
import { LANGUAGES, type Lang } from '../i18n/lang.js';
import type { Template } from '../template/model.js';
import { UserError } from './errors.js';

export function parseLang(value: string): Lang {
  if ((LANGUAGES as readonly string[]).includes(value)) return value as Lang;
  throw new UserError(tr().cli.unknownLanguage(value, LANGUAGES.join(tr().or)));
}

export function parseTier(template: Template, value: string): string {
  if (template.tiers.includes(value)) return value;
  throw new UserError(tr().errors.unknownTier(value, template.tiers.join(tr().or)));
}

/** A whole number from `min` to `max` given to `flag`; the message names the flag and what it got. */
export function parseInteger(value: string, flag: string, min: number, max: number): number {
  const n = /^\s*-?\d+\s*$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) throw new UserError(tr().cli.badInteger(flag, min, max, value));
  return n;
}

/** A TCP port for `flag` (0 lets the system pick a free one). */
export function parsePort(value: string, flag = '--port'): number {
  const n = /^\s*\d+\s*$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isInteger(n) || n > 65535) throw new UserError(tr().cli.badPort(flag, value));
  return n;
}
