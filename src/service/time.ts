// Instants as the portal shows them: Bitrix24 datetime text with the zone's offset, and short local text.
import { formatLocalDate, formatUtcOffset, localDate, utcOffsetMinutes } from '../recall/index.js';

const pad = (n: number) => String(n).padStart(2, '0');

function localWallClock(ms: number, timeZone: string): { date: Date; offset: number } {
  const offset = utcOffsetMinutes(new Date(ms), timeZone);
  return { date: new Date(Math.floor(ms / 1000) * 1000 + offset * 60_000), offset };
}

/** 2027-01-15T13:00:00+03:00 — what REST datetime fields take. */
export function portalDateTime(ms: number, timeZone: string): string {
  const { date, offset } = localWallClock(ms, timeZone);
  return `${date.toISOString().slice(0, 19)}${formatUtcOffset(offset)}`;
}

/** 15.01.2027 13:00 — for messages. */
export function displayDateTime(ms: number, timeZone: string): string {
  const { date } = localWallClock(ms, timeZone);
  return `${pad(date.getUTCDate())}.${pad(date.getUTCMonth() + 1)}.${date.getUTCFullYear()} ${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}`;
}

/** 15.01.2027 — a date field for messages; date-only text (2027-01-15) is taken as it is. */
export function displayDate(value: string, timeZone: string): string {
  const plain = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
  if (plain) return `${plain[3]}.${plain[2]}.${plain[1]}`;
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) return value;
  const d = localDate(new Date(ms), timeZone);
  return `${pad(d.day)}.${pad(d.month)}.${d.year}`;
}

/** Today's date in the zone, YYYY-MM-DD. */
export function localToday(ms: number, timeZone: string): string {
  return formatLocalDate(localDate(new Date(ms), timeZone));
}

/** Parses a Bitrix24 datetime; undefined for empty or unreadable text. */
export function parsePortalTime(value: unknown): number | undefined {
  if (typeof value !== 'string' || value.trim() === '') return undefined;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : ms;
}
