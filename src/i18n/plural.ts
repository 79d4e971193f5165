// Plural forms by the language's own rules (Intl.PluralRules): Russian has one / few / many, English one / other.
import type { Lang } from './lang.js';

export interface PluralForms { one: string; few?: string; many?: string; other: string }

const rules = new Map<Lang, Intl.PluralRules>();

/** The form of `forms` for `n`, with every # replaced by n. */
export function plural(lang: Lang, n: number, forms: PluralForms): string {
  let rule = rules.get(lang);
  if (!rule) rules.set(lang, (rule = new Intl.PluralRules(lang)));
  const form = forms[rule.select(n) as keyof PluralForms] ?? forms.other;
  return form.replace(/#/g, String(n));
}
