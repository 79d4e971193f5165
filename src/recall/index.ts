// The refusal re-call rule (spec section 5): pure, no I/O.

export interface LocalDate { year: number; month: number; day: number }

const partsFormatter = new Map<string, Intl.DateTimeFormat>();

function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let formatter = partsFormatter.get(timeZone);
  if (!formatter) {
    try {
      formatter = new Intl.DateTimeFormat('en-US', {
        timeZone, hourCycle: 'h23',
        year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric',
      });
    } catch {
      throw new RangeError(`unknown time zone "${timeZone}": use an IANA name such as Europe/Moscow or Asia/Tomsk`);
    }
    partsFormatter.set(timeZone, formatter);
  }
  return formatter;
}

function localParts(instant: Date, timeZone: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const p of formatterFor(timeZone).formatToParts(instant)) {
    if (p.type !== 'literal') out[p.type] = Number(p.value);
  }
  return out;
}

/** The calendar date of `instant` in `timeZone`. */
export function localDate(instant: Date, timeZone: string): LocalDate {
  const p = localParts(instant, timeZone);
  return { year: p.year, month: p.month, day: p.day };
}

/** Minutes the zone is ahead of UTC at `instant`. */
export function utcOffsetMinutes(instant: Date, timeZone: string): number {
  const p = localParts(instant, timeZone);
  const asUtc = Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second);
  return Math.round((asUtc - Math.floor(instant.getTime() / 1000) * 1000) / 60000);
}

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

/** The zone offset as Bitrix24 datetime text ends: +03:00, -03:30. */
export function formatUtcOffset(minutes: number): string {
  const abs = Math.abs(minutes);
  return `${minutes < 0 ? '-' : '+'}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
}

export function formatLocalDate(d: LocalDate): string {
  return `${pad(d.year, 4)}-${pad(d.month)}-${pad(d.day)}`;
}

/** The re-call day for a deal refused on local day `d`: days 1–15 → the 1st of next month, 16+ → the 15th. */
function recallDay(d: LocalDate): LocalDate {
  const nextMonth = d.month === 12 ? { year: d.year + 1, month: 1 } : { year: d.year, month: d.month + 1 };
  return { ...nextMonth, day: d.day <= 15 ? 1 : 15 };
}

/** The local re-call date (YYYY-MM-DD) for a deal that entered a failure stage at `failedAt`. */
export function recallDate(failedAt: Date, timeZone: string): string {
  if (Number.isNaN(failedAt.getTime())) throw new RangeError('the failure time is not a valid date');
  return formatLocalDate(recallDay(localDate(failedAt, timeZone)));
}

export const RECALL_HOUR = 10;

/** The hour (default 10:00) local on the re-call date, as Bitrix24 datetime text with the zone's offset (2027-02-01T10:00:00+07:00). */
export function recallDueAt(recallDateText: string, timeZone: string, hour = RECALL_HOUR): string {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(recallDateText);
  if (!m) throw new RangeError(`"${recallDateText}" is not a YYYY-MM-DD date`);
  const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (!Number.isInteger(hour) || hour < 0 || hour > 23) throw new RangeError(`the re-call hour must be 0–23 (got ${hour})`);
  const wallClock = Date.UTC(year, month - 1, day, hour);
  // The offset at the wall-clock instant may differ from the one at the real instant across a DST change.
  let offset = utcOffsetMinutes(new Date(wallClock), timeZone);
  offset = utcOffsetMinutes(new Date(wallClock - offset * 60000), timeZone);
  return `${recallDateText}T${pad(hour)}:00:00${formatUtcOffset(offset)}`;
}
