// The one message catalogue of the CLI and the installer: every text a person reads, in Russian and English.
// The language is a process-wide choice of the person running the CLI (--lang, else the locale), so it is set once
// at start-up and read where a text is made; code that never sets it (tests) gets English. The service serves
// portals in different languages at once, so it runs a portal's work inside withLanguage(): the installer's and
// verify's texts a portal's administrator reads (the install's result, the drift) are then in that portal's language.
import { AsyncLocalStorage } from 'node:async_hooks';
import { LANGUAGES, type Lang } from './lang.js';
import { en, type Messages } from './en.js';
import { ru } from './ru.js';

export type { Messages };

export const CATALOGUES: Record<Lang, Messages> = { en, ru };

let current: Lang = 'en';
const scoped = new AsyncLocalStorage<Lang>();

export function setLanguage(lang: Lang): void {
  current = lang;
}

export function language(): Lang {
  return scoped.getStore() ?? current;
}

/** Runs `work` (and everything it awaits) with the messages in `lang`. */
export function withLanguage<T>(lang: Lang, work: () => T): T {
  return scoped.run(lang, work);
}

/** The messages in the chosen language. */
export function tr(): Messages {
  return CATALOGUES[language()];
}

/** The language asked for on the command line (--lang X or --lang=X), else the locale's (LC_ALL, LC_MESSAGES, LANG). */
export function languageFrom(argv: readonly string[], env: NodeJS.ProcessEnv): Lang {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = arg === '--lang' ? argv[i + 1] : arg.startsWith('--lang=') ? arg.slice('--lang='.length) : undefined;
    if (value && (LANGUAGES as readonly string[]).includes(value)) return value as Lang;
  }
  const locale = env.LC_ALL || env.LC_MESSAGES || env.LANG || '';
  return /^ru([_.@-]|$)/i.test(locale) ? 'ru' : 'en';
}
