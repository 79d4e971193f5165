import { describe, expect, it } from 'vitest';
import { formatUtcOffset, recallDate, recallDueAt } from '../../src/recall/index.js';

// Noon UTC keeps these dates the same local day in Moscow.
const at = (iso: string) => new Date(`${iso}T12:00:00Z`);
const MSK = 'Europe/Moscow';

describe('recallDate', () => {
  it.each([
    ['2027-01-01', '2027-02-01'],
    ['2027-01-14', '2027-02-01'],
    ['2027-01-15', '2027-02-01'],
    ['2027-01-16', '2027-02-15'],
    ['2027-01-31', '2027-02-15'],
    ['2027-04-30', '2027-05-15'],
    ['2028-02-15', '2028-03-01'],
    ['2028-02-28', '2028-03-15'],
    ['2028-02-29', '2028-03-15'],
    ['2027-02-28', '2027-03-15'],
    ['2027-12-01', '2028-01-01'],
    ['2027-12-15', '2028-01-01'],
    ['2027-12-16', '2028-01-15'],
    ['2027-12-31', '2028-01-15'],
  ])('refused on %s → re-call on %s', (day, expected) => {
    expect(recallDate(at(day), MSK)).toBe(expected);
  });

  it('uses the local day: a failure at 23:30 UTC on the 15th is the 16th in Asia/Tomsk (UTC+7)', () => {
    expect(recallDate(new Date('2027-01-15T23:30:00Z'), 'Asia/Tomsk')).toBe('2027-02-15');
    // Kaliningrad (UTC+2) is past midnight at that instant too: 01:30 on the 16th.
    expect(recallDate(new Date('2027-01-15T23:30:00Z'), 'Europe/Kaliningrad')).toBe('2027-02-15');
  });

  it('splits one instant across zones: 17:30 UTC on the 15th is the 16th in Tomsk, still the 15th in Kaliningrad', () => {
    const instant = new Date('2027-01-15T17:30:00Z');
    expect(recallDate(instant, 'Asia/Tomsk')).toBe('2027-02-15');
    expect(recallDate(instant, 'Europe/Kaliningrad')).toBe('2027-02-01');
  });

  it('rolls 31 December 23:30 UTC into January in Tomsk, and keeps December in Kaliningrad until local midnight', () => {
    expect(recallDate(new Date('2027-12-31T23:30:00Z'), 'Asia/Tomsk')).toBe('2028-02-01');
    expect(recallDate(new Date('2027-12-31T21:30:00Z'), 'Europe/Kaliningrad')).toBe('2028-01-15');
  });

  it('rejects an unknown time zone with a message naming it', () => {
    expect(() => recallDate(at('2027-01-01'), 'Mars/Olympus')).toThrow(/unknown time zone "Mars\/Olympus"/);
  });
});

describe('recallDueAt', () => {
  it('is 10:00 local with the zone offset', () => {
    expect(recallDueAt('2027-02-01', 'Asia/Tomsk')).toBe('2027-02-01T10:00:00+07:00');
    expect(recallDueAt('2027-02-15', 'Europe/Kaliningrad')).toBe('2027-02-15T10:00:00+02:00');
    expect(recallDueAt('2027-02-01', 'UTC')).toBe('2027-02-01T10:00:00+00:00');
  });

  it('follows daylight saving time where the zone has it', () => {
    expect(recallDueAt('2027-01-15', 'Europe/Berlin')).toBe('2027-01-15T10:00:00+01:00');
    expect(recallDueAt('2027-07-15', 'Europe/Berlin')).toBe('2027-07-15T10:00:00+02:00');
    expect(recallDueAt('2027-04-01', 'America/New_York')).toBe('2027-04-01T10:00:00-04:00');
  });
});

describe('formatUtcOffset', () => {
  it('writes whole, half and three-quarter hour offsets on both sides of UTC as ±HH:MM', () => {
    expect(formatUtcOffset(0)).toBe('+00:00');
    expect(formatUtcOffset(180)).toBe('+03:00');
    expect(formatUtcOffset(345)).toBe('+05:45');
    expect(formatUtcOffset(-210)).toBe('-03:30');
    expect(formatUtcOffset(-600)).toBe('-10:00');
  });
});
