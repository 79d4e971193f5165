// The emulator's clock and the way Bitrix24 writes dates: datetime as `YYYY-MM-DDThh:mm:ss±hh:mm` in the portal's
// time zone; date fields of legacy CRM methods through CRestUtil::ConvertDate, which adds the zone offset to local
// midnight (so 2024-08-30 in +02:00 comes back as "2024-08-30T02:00:00+02:00", as the docs' examples show).
import { utcOffsetMinutes } from '../recall/index.js';

export class Clock {
  private offsetMs = 0;

  constructor(private readonly base: () => number = Date.now) {}

  now(): number {
    return this.base() + this.offsetMs;
  }

  /** Moves the portal's time forward (or back) by `ms`. */
  advance(ms: number): void {
    this.offsetMs += ms;
  }

  set(epochMs: number): void {
    this.offsetMs = epochMs - this.base();
  }

  get offset(): number {
    return this.offsetMs;
  }

  restoreOffset(offsetMs: number): void {
    this.offsetMs = offsetMs;
  }
}

const pad = (n: number, width = 2) => String(Math.trunc(n)).padStart(width, '0');

function offsetText(minutes: number): string {
  const sign = minutes < 0 ? '-' : '+';
  const abs = Math.abs(minutes);
  return `${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
}

/** PHP `date('c')` in the portal's time zone. */
export function formatDateTime(epochMs: number, timeZone: string): string {
  const offset = utcOffsetMinutes(new Date(epochMs), timeZone);
  const local = new Date(Math.floor(epochMs / 1000) * 1000 + offset * 60_000);
  return (
    `${pad(local.getUTCFullYear(), 4)}-${pad(local.getUTCMonth() + 1)}-${pad(local.getUTCDate())}` +
    `T${pad(local.getUTCHours())}:${pad(local.getUTCMinutes())}:${pad(local.getUTCSeconds())}${offsetText(offset)}`
  );
}

/** Epoch ms of local midnight of `date` (YYYY-MM-DD) in `timeZone`. */
export function localMidnight(date: string, timeZone: string): number {
  const [y, m, d] = date.split('-').map(Number);
  const wall = Date.UTC(y, m - 1, d);
  let offset = utcOffsetMinutes(new Date(wall), timeZone);
  offset = utcOffsetMinutes(new Date(wall - offset * 60_000), timeZone);
  return wall - offset * 60_000;
}

/** A date field as legacy CRM REST returns it (CRestUtil::ConvertDate quirk). */
export function formatDateField(date: string, timeZone: string): string {
  const midnight = localMidnight(date, timeZone);
  return formatDateTime(midnight + utcOffsetMinutes(new Date(midnight), timeZone) * 60_000, timeZone);
}

const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const RU_DATE = /^(\d{2})\.(\d{2})\.(\d{4})(?:\s+(\d{2}):(\d{2})(?::(\d{2}))?)?$/;
const LOCAL_DATETIME = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2}))?$/;

/**
 * Parses what clients send for date/datetime values, as PHP strtotime would in the portal's zone: ISO with an
 * offset, a bare date (local midnight), a local date-time without offset, or the site format DD.MM.YYYY[ HH:MI:SS].
 * Returns epoch ms, or undefined when the text is not a date.
 */
export function parseDateTime(value: unknown, timeZone: string): number | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) return value * 1000;
  if (typeof value !== 'string') return undefined;
  const text = value.trim();
  if (text === '') return undefined;
  let m = ISO_DATE.exec(text);
  if (m) return localMidnight(text, timeZone);
  m = RU_DATE.exec(text);
  if (m) {
    const base = localMidnight(`${m[3]}-${m[2]}-${m[1]}`, timeZone);
    return base + (Number(m[4] ?? 0) * 3600 + Number(m[5] ?? 0) * 60 + Number(m[6] ?? 0)) * 1000;
  }
  m = LOCAL_DATETIME.exec(text);
  if (m) {
    const base = localMidnight(`${m[1]}-${m[2]}-${m[3]}`, timeZone);
    return base + (Number(m[4]) * 3600 + Number(m[5]) * 60 + Number(m[6] ?? 0)) * 1000;
  }
  const parsed = Date.parse(text);
  return Number.isNaN(parsed) ? undefined : parsed;
}

/** The local calendar date (YYYY-MM-DD) of an instant. */
export function localDateText(epochMs: number, timeZone: string): string {
  return formatDateTime(epochMs, timeZone).slice(0, 10);
}

/** Unix seconds with microseconds, like PHP microtime(true). */
export const unixSeconds = (epochMs: number) => Math.round(epochMs * 1000) / 1_000_000;

/** Whether a time zone name can be used: the emulator takes IANA names, as Bitrix24 does. */
export function isTimeZone(timeZone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone });
    return true;
  } catch {
    return false;
  }
}

/** What to say of a time zone that is not one (after the option's name). */
export const TIME_ZONE_HINT = 'takes an IANA time zone name such as Europe/Moscow or Asia/Vladivostok';
