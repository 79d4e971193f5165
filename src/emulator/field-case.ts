// Field names of the universal CRM methods (crm.item.*): camelCase outside, UPPER_CASE inside, converted the way
// Bitrix\Crm\Service\Converter does it — with a case cache seeded by the type's standard field names
// (preprocessUpperFieldNames), so `begindate` ↔ BEGINDATE and `TITLE` is taken as an UPPER name, and with the
// "special" rule for user fields (UF_CRM_1721244707107 ↔ ufCrm_1721244707107) that keeps odd names reversible.

const UNDERSCORE_MARK = '~~~';

/** StringHelper::snake2camel + lcfirst. */
function snakeToCamel(text: string): string {
  const words = text.toLowerCase().split('_').join(' ');
  const joined = words.replace(/(^|\s)(\S)/g, (_m, space: string, ch: string) => space + ch.toUpperCase()).replace(/ /g, '');
  return joined.charAt(0).toLowerCase() + joined.slice(1);
}

/** Converter TO_UPPER | TO_SNAKE_DIGIT. */
function toSnakeUpper(text: string): string {
  return text
    .replace(/(\d+)([A-Za-z])/g, '$1_$2')
    .replace(/([A-Za-z])(\d)/g, '$1_$2')
    .replace(/([^_])([A-Z])/g, '$1_$2')
    .toLowerCase()
    .toUpperCase();
}

export class FieldCase {
  /** camelCase → UPPER_CASE, like InMemoryCaseCache (one map keyed by the camel name). */
  private readonly cache = new Map<string, string>();

  constructor(upperNames: Iterable<string>) {
    for (const name of upperNames) this.toCamel(name);
  }

  private camelOf(upper: string): string | undefined {
    for (const [camel, value] of this.cache) if (value === upper) return camel;
    return undefined;
  }

  /** convertFieldNameFromCamelCaseToUpperCase. */
  toUpper(name: string): string {
    if (this.camelOf(name) !== undefined) return name;
    const cached = this.cache.get(name);
    if (cached !== undefined) return cached;
    let upper: string;
    const plain = /^[A-Za-z_]+$/.test(name) || /^ufCrm\d{1,4}_[\d_]+$/.test(name) || /^ufCrm\d{1,4}[A-Za-z_]+$/.test(name);
    if (!plain && /^uf/i.test(name)) {
      if (/^ufCrm_/i.test(name)) upper = `UF_CRM_${name.slice(6)}`;
      else if (/^ufCrm/i.test(name)) upper = `UF_CRM${name.slice(5)}`;
      else upper = `UF_${name.slice(2)}`;
    } else {
      upper = toSnakeUpper(name);
    }
    this.cache.set(name, upper);
    return upper;
  }

  /** convertFieldNameFromUpperCaseToCamelCase. */
  toCamel(name: string): string {
    const cached = this.camelOf(name);
    if (cached !== undefined) return cached;
    let camel: string;
    const plain = /^[A-Z_]+$/.test(name) || /^UF_CRM_\d{1,4}_[\d_]+$/.test(name) || /^UF_CRM_\d{1,4}_[A-Z_]+$/.test(name);
    if (!plain && /^UF_/i.test(name)) {
      if (/^UF_CRM_/i.test(name)) camel = `ufCrm_${name.slice(7)}`;
      else if (/^UF_CRM/i.test(name)) camel = `ufCrm${name.slice(6)}`;
      else camel = `uf${name.slice(3)}`;
    } else {
      camel = snakeToCamel(name.replace(/(\d)(_)(\d)/g, `$1${UNDERSCORE_MARK}$3`)).replace(/(\d)(~~~)(\d)/g, '$1_$3');
    }
    // Another field already owns this camel name: keep the UPPER one.
    if (this.cache.has(camel)) camel = name;
    this.cache.set(camel, name);
    return camel;
  }
}
