// The service's datetime text is built from src/recall's zone routines (one offset formatter, one local date).
import { describe, expect, it } from 'vitest';
import { displayDate, displayDateTime, localToday, portalDateTime } from '../../src/service/time.js';

const at = (iso: string) => Date.parse(iso);

describe('portalDateTime', () => {
  it('is the local wall clock with the zone offset, whole seconds', () => {
    expect(portalDateTime(at('2027-01-15T10:00:00.750Z'), 'Europe/Moscow')).toBe('2027-01-15T13:00:00+03:00');
    expect(portalDateTime(at('2027-01-15T10:00:00Z'), 'UTC')).toBe('2027-01-15T10:00:00+00:00');
  });

  it('keeps half-hour offsets and negative ones, and crosses the date line the local way', () => {
    expect(portalDateTime(at('2027-01-15T20:00:00Z'), 'Asia/Kolkata')).toBe('2027-01-16T01:30:00+05:30');
    expect(portalDateTime(at('2027-01-15T02:00:00Z'), 'America/St_Johns')).toBe('2027-01-14T22:30:00-03:30');
  });

  it('follows daylight saving time', () => {
    expect(portalDateTime(at('2027-07-15T10:00:00Z'), 'America/New_York')).toBe('2027-07-15T06:00:00-04:00');
    expect(portalDateTime(at('2027-01-15T10:00:00Z'), 'America/New_York')).toBe('2027-01-15T05:00:00-05:00');
  });
});

describe('local dates for people and lists', () => {
  it('localToday is the zone\'s calendar day, YYYY-MM-DD', () => {
    expect(localToday(at('2027-01-15T18:30:00Z'), 'Asia/Tomsk')).toBe('2027-01-16');
    expect(localToday(at('2027-01-15T18:30:00Z'), 'Europe/Kaliningrad')).toBe('2027-01-15');
  });

  it('displayDateTime and displayDate are the local day and time', () => {
    expect(displayDateTime(at('2027-01-15T20:05:00Z'), 'Asia/Kolkata')).toBe('16.01.2027 01:35');
    expect(displayDate('2027-03-09', 'Asia/Tomsk')).toBe('09.03.2027');
    expect(displayDate('2027-01-15T20:00:00+00:00', 'Asia/Tomsk')).toBe('16.01.2027');
    expect(displayDate('not a date', 'Asia/Tomsk')).toBe('not a date');
  });
});
