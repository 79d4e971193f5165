// The one message catalogue: Russian and English have the same messages with the same parameters, every message says
// something in its language, and the words a Bitrix24 administrator does not use are gone.
import { describe, expect, it } from 'vitest';
import { CATALOGUES, languageFrom } from '../../src/i18n/index.js';
import { plural } from '../../src/i18n/plural.js';

type Entry = { path: string; value: unknown };

function entries(node: unknown, path = ''): Entry[] {
  if (typeof node === 'function' || typeof node === 'string') return [{ path, value: node }];
  if (node && typeof node === 'object') return Object.entries(node).flatMap(([k, v]) => entries(v, path ? `${path}.${k}` : k));
  return [];
}

/** Arguments for the messages that take one of a few words (an entity, a noun, an action); the others get 3 or "X". */
const SAMPLES: Record<string, unknown[]> = {
  'title.field': ['deal', 'UF_CRM_X', 'Метка'],
  'title.card': ['deal', 'Ремонт'],
  'detail.labelChange': ['EDIT_FORM_LABEL', 'ru', 'a', 'b'],
  'detail.semanticsMismatch': ['stage', 'process', 'failure', 'C1:X'],
  'detail.systemMissing': ['status', 'NEW'],
  'detail.successExists': ['stage'],
  'detail.processBeforeSuccess': ['stage', 60],
  'detail.failureAfterSuccess': ['status', 60],
  'detail.notCounted': ['deals'],
  'detail.holdsItems': [2, 'leads'],
  'detail.unusedDefault': ['stage', 'deals'],
  'detail.newStage': ['failure', 30],
  'state.notJson': ['ledger', '/p', 'x'],
  'uninstall.holdsItems': [5, 'deals'],
  'uninstall.notCounted': ['leads'],
  'uninstall.valuesIn': [2, 'company'],
  'addStage.holdsItems': ['Сушка', 1, 'deals'],
  'export.badFieldName': ['lead', 'UF_X', 20],
  'export.badFieldType': ['lead', 'UF_X', 'resourcebooking'],
  'export.noItems': ['contact', 'UF_X'],
  'export.fieldDiffers': ['UF_X', 'lead', 'deal'],
  'export.baseDiffers': ['deal', 'shop'],
  'savedPlan.stepChanged': ['stage X', 'update', 'delete', 'name'],
  'savedPlan.stepNew': ['create', 'stage X', 'sort 10'],
  'cli.portalBusy': ['QUERY_LIMIT_EXCEEDED', 'batch', 2, 500],
  'cli.db.migrated': ['postgres://autosalon@db/autosalon', ['0001-service-tables', 'job queue schema 24']],
  'cli.db.replaces': [true, ['a.bitrix24.ru', 'b.bitrix24.ru']],
};

/** Every message as text: a function is called with its sample, else with 3s (counts), else with "X"s. */
function texts(catalogue: unknown): Map<string, string> {
  const out = new Map<string, string>();
  for (const { path, value } of entries(catalogue)) {
    if (typeof value === 'string') out.set(path, value);
    else if (typeof value === 'function') {
      const fn = value as (...args: unknown[]) => unknown;
      const args = (fill: unknown) => SAMPLES[path] ?? Array.from({ length: Math.max(fn.length, 1) }, () => fill);
      let text: unknown;
      try {
        text = fn(...args(3));
      } catch {
        text = fn(...args('X'));
      }
      // The one message that is not a text (isYes: does an answer mean yes) is checked on its own below.
      if (typeof text === 'string') out.set(path, text);
    }
  }
  return out;
}

const en = texts(CATALOGUES.en);
const ru = texts(CATALOGUES.ru);

/** Messages that are the same in both languages on purpose: option names, codes and value lists. */
const SAME_IN_BOTH = new Set(['tierSource.tier', 'tierSource.plan', 'cli.option.pipeline', 'cli.commander.didYouMean', 'cli.portals.header.1']);

describe('the message catalogue', () => {
  it('has the same messages in Russian and English, each function with the same number of parameters', () => {
    expect([...ru.keys()].sort()).toEqual([...en.keys()].sort());
    for (const { path, value } of entries(CATALOGUES.en)) {
      const other = entries(CATALOGUES.ru).find((e) => e.path === path)!.value;
      if (typeof value === 'function') expect([path, (other as (...a: unknown[]) => unknown).length]).toEqual([path, value.length]);
    }
    expect(en.size).toBeGreaterThan(300);
  });

  it('fills in every message: no empty text, no undefined or NaN from a missing parameter', () => {
    for (const [path, text] of [...en, ...ru]) {
      expect([path, text.trim().length > 0]).toEqual([path, true]);
      expect([path, /undefined|NaN|\[object /.test(text)]).toEqual([path, false]);
    }
  });

  it('says every Russian message in Russian', () => {
    // Without a Cyrillic letter a message may hold only codes, option names, addresses and marks, never an English word.
    const words = (text: string) => text.replace(/--[a-z-]+|\b[A-Z][A-Z0-9_]{2,}\b|https?:\S+|\b[a-z]+(\.[a-z]+)+\b|\b(repair|shop|wash|leads|pipeline|process|failure|ru|en)\b/g, '');
    const notRussian = [...ru].filter(([path, text]) => !SAME_IN_BOTH.has(path) && !/[а-яё]/i.test(text) && /[a-z]{3,}/i.test(words(text)));
    expect(notRussian).toEqual([]);
  });

  it('uses the words a Bitrix24 administrator uses, not the code\'s', () => {
    const all = [...en.values()].join('\n');
    expect(all).not.toMatch(/app mode|the new pipeline's own|batch: [A-Z_]+|ledger\.json/);
  });

  it('takes yes in the person\'s language at the question', () => {
    expect(['д', 'да', 'Да', 'y'].map((a) => CATALOGUES.ru.cli.isYes(a))).toEqual([true, true, true, true]);
    expect(['', 'н', 'нет', 'n'].map((a) => CATALOGUES.ru.cli.isYes(a))).toEqual([false, false, false, false]);
    expect(['y', 'yes', 'YES', '', 'no'].map((a) => CATALOGUES.en.cli.isYes(a))).toEqual([true, true, true, false, false]);
  });

  it('counts in Russian by Russian rules', () => {
    const forms = { one: '# сделка', few: '# сделки', many: '# сделок', other: '# сделки' };
    expect([1, 2, 5, 11, 21, 22, 25].map((n) => plural('ru', n, forms))).toEqual(['1 сделка', '2 сделки', '5 сделок', '11 сделок', '21 сделка', '22 сделки', '25 сделок']);
    expect(CATALOGUES.ru.summary.dryRun(1)).toBe('Пробный запуск: ничего не изменено (1 запрос на чтение портала).');
    expect(CATALOGUES.en.summary.dryRun(2)).toBe('Dry run: nothing was changed (2 requests to read the portal).');
  });
});

describe('the language of the messages', () => {
  it('is --lang when given, else the locale\'s (LC_ALL, then LC_MESSAGES, then LANG), English otherwise', () => {
    expect(languageFrom(['install', '--lang', 'ru'], { LANG: 'en_US.UTF-8' })).toBe('ru');
    expect(languageFrom(['install', '--lang=en'], { LANG: 'ru_RU.UTF-8' })).toBe('en');
    expect(languageFrom(['verify'], { LANG: 'ru_RU.UTF-8' })).toBe('ru');
    expect(languageFrom(['verify'], { LC_ALL: 'en_GB.UTF-8', LANG: 'ru_RU.UTF-8' })).toBe('en');
    expect(languageFrom(['verify'], { LC_MESSAGES: 'ru_RU', LANG: 'C' })).toBe('ru');
    expect(languageFrom(['verify'], { LANG: 'C.UTF-8' })).toBe('en');
    expect(languageFrom(['verify'], {})).toBe('en');
    // An unknown --lang is left to the command, which names the languages it takes.
    expect(languageFrom(['install', '--lang', 'de'], { LANG: 'ru_RU.UTF-8' })).toBe('ru');
  });
});
