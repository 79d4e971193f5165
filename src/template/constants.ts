// The template's fixed vocabularies, apart from the schemas (schema.ts) so that code which only needs the words does
// not load the validation library.
export { LANGUAGES, type Lang } from '../i18n/lang.js';

export const CRM_ENTITIES = ['lead', 'deal', 'contact', 'company'] as const;
export type CrmEntity = (typeof CRM_ENTITIES)[number];

/** The built-in user field types of crm.userfield.types. */
export const FIELD_TYPES = [
  'string', 'integer', 'double', 'boolean', 'datetime', 'date', 'money', 'url', 'address',
  'enumeration', 'file', 'employee', 'crm_status', 'iblock_section', 'iblock_element', 'crm',
] as const;
