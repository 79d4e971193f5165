// Dates and numbers as the portal's people read them.
import type { UiLang } from '../service/app-types.ts';

const pad = (n: number) => String(n).padStart(2, '0');

/** 2027-02-01 → 01.02.2027 */
export const displayDay = (date: string) => (/^(\d{4})-(\d{2})-(\d{2})$/.test(date) ? `${date.slice(8, 10)}.${date.slice(5, 7)}.${date.slice(0, 4)}` : date);

/** ms → 15.01.2027 09:30 in the zone. */
export function displayMoment(ms: number, timeZone: string, lang: UiLang): string {
  return new Intl.DateTimeFormat(lang === 'ru' ? 'ru-RU' : 'en-GB', { timeZone, day: '2-digit', month: '2-digit', year: 'numeric', hour: '2-digit', minute: '2-digit' }).format(ms);
}

/** ms → { day: 15.01.2027, time: 09:30 } in the zone. */
export function displayParts(ms: number, timeZone: string, lang: UiLang): { day: string; time: string } {
  const locale = lang === 'ru' ? 'ru-RU' : 'en-GB';
  return {
    day: new Intl.DateTimeFormat(locale, { timeZone, day: '2-digit', month: '2-digit', year: 'numeric' }).format(ms),
    time: new Intl.DateTimeFormat(locale, { timeZone, hour: '2-digit', minute: '2-digit' }).format(ms),
  };
}

export const percent = (part: number, whole: number) => (whole > 0 ? Math.round((part / whole) * 100) : 0);

/** 95 → "1 ч 35 мин" / "1 h 35 min" */
export function displayMinutes(minutes: number, lang: UiLang): string {
  const h = Math.floor(minutes / 60);
  const m = Math.round(minutes % 60);
  const [hu, mu] = lang === 'ru' ? ['ч', 'мин'] : ['h', 'min'];
  return h ? `${h} ${hu}${m ? ` ${m} ${mu}` : ''}` : `${m} ${mu}`;
}

export const hourLabel = (hour: number) => `${pad(hour)}:00`;
