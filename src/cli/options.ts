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
