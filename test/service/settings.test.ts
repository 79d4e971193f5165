import { describe, expect, it } from 'vitest';
import { withLanguage } from '../../src/i18n/index.js';
import { applyAssignments, defaultSettings, validateSettings, zoneOfPortal } from '../../src/service/settings.js';

const RULES = ['lead.created.notify', 'deal.refusal'];

describe('portal settings', () => {
  it('key=value changes: zone, hour, lead managers, supervisor, hint, a rule off and on again; an empty value clears', () => {
    let s = applyAssignments(defaultSettings(), [
      'timeZone=Asia/Vladivostok', 'recallHour=9', 'leadManagerIds=1, 7,7', 'supervisorUserId=5', 'recallHint=Скидка 5%', 'rule.deal.refusal=off',
    ], RULES);
    expect(s).toEqual({ timeZone: 'Asia/Vladivostok', recallHour: 9, leadManagerIds: [1, 7], supervisorUserId: 5, recallHint: 'Скидка 5%', disabledRules: ['deal.refusal'] });
    s = applyAssignments(s, ['rule.deal.refusal=on', 'supervisorUserId=', 'recallHint='], RULES);
    expect(s).toEqual({ timeZone: 'Asia/Vladivostok', recallHour: 9, leadManagerIds: [1, 7], disabledRules: [] });
  });

  it('refuses what it cannot take, naming the setting and what it should look like', () => {
    const cases: [string, RegExp][] = [
      ['timeZone=Mars/Olympus', /timeZone must be an IANA time zone/],
      ['recallHour=25', /recallHour takes an hour from 0 to 23 \(got "25"\)/],
      ['recallHour=ten', /recallHour takes an hour from 0 to 23/],
      ['leadManagerIds=1,x', /leadManagerIds takes user IDs separated by commas/],
      ['rule.nope=off', /unknown rule "nope": the rules are lead.created.notify, deal.refusal/],
      ['rule.deal.refusal=maybe', /rule.deal.refusal takes on or off/],
      ['colour=red', /unknown setting "colour"; settable: timeZone/],
      ['justtext', /"justtext" is not key=value/],
    ];
    for (const [assignment, message] of cases) expect(() => applyAssignments(defaultSettings(), [assignment], RULES)).toThrow(message);
  });

  it('a whole settings object (what the application page sends) is checked the same way', () => {
    expect(() => validateSettings({ ...defaultSettings(), recallHour: -1 })).toThrow(/recallHour/);
    expect(() => validateSettings({ ...defaultSettings(), extra: 1 })).toThrow();
    expect(() => validateSettings({ ...defaultSettings(), disabledRules: ['x'] }, RULES)).toThrow(/unknown rule "x"/);
  });

  it('says it in the reader\'s language (the service answers each portal\'s page in its own)', () => {
    expect(() => withLanguage('ru', () => validateSettings({ ...defaultSettings(), recallHour: 30 }))).toThrow('recallHour — час от 0 до 23 (получено «30»)');
    expect(() => withLanguage('ru', () => applyAssignments(defaultSettings(), ['rule.nope=off'], RULES))).toThrow(/неизвестное правило «nope»/);
  });
});

describe('the portal\'s time zone as REST shows it', () => {
  it('the administrator\'s own zone first', () => {
    expect(zoneOfPortal('Europe/Berlin', '2027-01-15T12:00:00+03:00')).toBe('Europe/Berlin');
  });

  it('else the first well-known zone with the offset of the portal\'s clock at that moment', () => {
    expect(zoneOfPortal('', '2027-01-15T12:00:00+02:00')).toBe('Europe/Kaliningrad');
    expect(zoneOfPortal('', '2027-01-15T19:00:00+10:00')).toBe('Asia/Vladivostok');
    expect(zoneOfPortal('', '2027-01-15T04:00:00-05:00')).toBe('America/New_York');
    expect(zoneOfPortal('', '2027-07-15T12:00:00+01:00')).toBe('Europe/London');
  });

  it('undefined when neither tells (the service\'s default applies)', () => {
    expect(zoneOfPortal('', 'garbage')).toBeUndefined();
    expect(zoneOfPortal(undefined, '2027-01-15T12:00:00+13:45')).toBeUndefined();
  });
});
