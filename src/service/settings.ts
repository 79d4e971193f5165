// A portal's own automation settings, kept with the portal in the store: its time zone, the re-call hour and hint,
// who hears about new leads and who stands in for a missing supervisor, and which rules are switched off. The
// service's environment only gives the defaults a newly installed portal starts with; the CLI (`autosalon
// settings`) and the Market application page change them, one portal at a time.
import { z } from 'zod';
import { tr } from '../i18n/index.js';
import { RECALL_HOUR, utcOffsetMinutes } from '../recall/index.js';
import type { PortalSettings } from './app-types.js';

// The shape is shared with the front end, which compiles app-types.ts too.
export type { PortalSettings };

export function isTimeZone(value: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: value });
    return true;
  } catch {
    return false;
  }
}

const userIds = z.array(z.number().int().positive()).max(50);

/** What a stored or submitted settings object must look like. */
export const portalSettingsSchema = z.strictObject({
  timeZone: z.string().refine(isTimeZone),
  recallHour: z.number().int().min(0).max(23),
  leadManagerIds: userIds,
  supervisorUserId: z.number().int().positive().optional(),
  recallHint: z.string().trim().min(1).max(1000).optional(),
  disabledRules: z.array(z.string().min(1).max(100)).max(200),
});

export function defaultSettings(overrides: Partial<PortalSettings> = {}): PortalSettings {
  return { timeZone: 'Europe/Moscow', recallHour: RECALL_HOUR, leadManagerIds: [], disabledRules: [], ...overrides };
}

/** Thrown for a setting that cannot be taken; the message says which and what it should look like. */
export class SettingsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SettingsError';
  }
}

/** The first problem of a settings object, in the reader's language, naming the setting and what it takes. */
function problemOf(value: Record<string, unknown>, issue: z.core.$ZodIssue): string {
  const t = tr().settings;
  const key = String(issue.path[0] ?? '');
  if (issue.code === 'unrecognized_keys') return t.unknownSetting(issue.keys[0] ?? '', SETTABLE.join(', '));
  const given = JSON.stringify(value[key] ?? null);
  switch (key) {
    case 'timeZone': return t.badTimeZone(String(value[key]));
    case 'recallHour': return t.badRecallHour(given);
    case 'leadManagerIds':
    case 'supervisorUserId': return t.badUserIds(key, given);
    case 'recallHint': return t.hintTooLong;
    default: return t.malformed(`${key}: ${issue.message}`);
  }
}

/** Checks a whole settings object (the UI's form, a stored row); unknown rule ids are refused when `ruleIds` is given. */
export function validateSettings(value: unknown, ruleIds?: readonly string[]): PortalSettings {
  const parsed = portalSettingsSchema.safeParse(value);
  if (!parsed.success) throw new SettingsError(problemOf((value ?? {}) as Record<string, unknown>, parsed.error.issues[0]));
  const settings = parsed.data;
  const unknown = ruleIds ? settings.disabledRules.filter((id) => !ruleIds.includes(id)) : [];
  if (unknown.length) throw new SettingsError(tr().settings.unknownRule(unknown[0], ruleIds?.join(', ') ?? ''));
  return { ...settings, leadManagerIds: [...new Set(settings.leadManagerIds)], disabledRules: [...new Set(settings.disabledRules)].sort() };
}

const SETTABLE = ['timeZone', 'recallHour', 'leadManagerIds', 'supervisorUserId', 'recallHint', 'rule.<id>'] as const;

function idList(text: string, key: string): number[] {
  const ids = text.split(/[\s,;]+/).filter(Boolean).map(Number);
  if (ids.some((n) => !Number.isInteger(n) || n < 1)) throw new SettingsError(tr().settings.badUserIds(key, text));
  return ids;
}

/**
 * Applies `key=value` assignments (the CLI's --set) to settings: `rule.<id>=on|off` switches one rule; an empty value
 * clears supervisorUserId and recallHint (the template's hint then applies again).
 */
export function applyAssignments(settings: PortalSettings, assignments: string[], ruleIds: readonly string[]): PortalSettings {
  const next: PortalSettings = { ...settings, leadManagerIds: [...settings.leadManagerIds], disabledRules: [...settings.disabledRules] };
  for (const assignment of assignments) {
    const eq = assignment.indexOf('=');
    if (eq < 1) throw new SettingsError(tr().settings.notKeyValue(assignment, SETTABLE.join(', ')));
    const key = assignment.slice(0, eq).trim();
    const value = assignment.slice(eq + 1).trim();
    if (key.startsWith('rule.')) {
      const id = key.slice(5);
      if (!ruleIds.includes(id)) throw new SettingsError(tr().settings.unknownRule(id, ruleIds.join(', ')));
      if (value !== 'on' && value !== 'off') throw new SettingsError(tr().settings.ruleOnOff(key, value));
      next.disabledRules = next.disabledRules.filter((r) => r !== id);
      if (value === 'off') next.disabledRules.push(id);
      continue;
    }
    switch (key) {
      case 'timeZone':
        next.timeZone = value;
        break;
      case 'recallHour':
        if (!/^\d{1,2}$/.test(value)) throw new SettingsError(tr().settings.badRecallHour(value));
        next.recallHour = Number(value);
        break;
      case 'leadManagerIds':
        next.leadManagerIds = value ? idList(value, key) : [];
        break;
      case 'supervisorUserId':
        next.supervisorUserId = value ? idList(value, key)[0] : undefined;
        break;
      case 'recallHint':
        next.recallHint = value || undefined;
        break;
      default:
        throw new SettingsError(tr().settings.unknownSetting(key, SETTABLE.join(', ')));
    }
  }
  return validateSettings(next, ruleIds);
}

// Zones tried, in order, for a portal whose clock shows a UTC offset but whose administrator set no zone of their
// own: Russia's zones first (most Bitrix24 portals of this product), then the other regions Bitrix24 serves.
const ZONES_BY_PREFERENCE = [
  'Europe/Kaliningrad', 'Europe/Moscow', 'Europe/Samara', 'Asia/Yekaterinburg', 'Asia/Omsk', 'Asia/Novosibirsk',
  'Asia/Krasnoyarsk', 'Asia/Irkutsk', 'Asia/Yakutsk', 'Asia/Vladivostok', 'Asia/Magadan', 'Asia/Kamchatka',
  'Europe/Minsk', 'Asia/Almaty', 'Asia/Tashkent', 'Asia/Tbilisi', 'Asia/Yerevan', 'Asia/Baku', 'Europe/Kyiv',
  'Europe/Berlin', 'Europe/London', 'UTC', 'America/New_York', 'America/Chicago', 'America/Denver', 'America/Los_Angeles',
  'America/Sao_Paulo', 'Asia/Dubai', 'Asia/Kolkata', 'Asia/Shanghai', 'Asia/Tokyo', 'Australia/Sydney',
];

/**
 * The portal's time zone as REST shows it: the installing administrator's own zone (`profile` TIME_ZONE) when they
 * set one; else the first well-known zone whose offset at that moment is the one `server.time` answers with (the
 * portal's clock); else undefined (the service's default applies, and the administrator can change it).
 */
export function zoneOfPortal(profileTimeZone: unknown, serverTime: unknown): string | undefined {
  if (typeof profileTimeZone === 'string' && profileTimeZone.trim() && isTimeZone(profileTimeZone.trim())) return profileTimeZone.trim();
  const m = typeof serverTime === 'string' ? /([+-])(\d{2}):(\d{2})$/.exec(serverTime.trim()) : null;
  const at = typeof serverTime === 'string' ? Date.parse(serverTime) : Number.NaN;
  if (!m || Number.isNaN(at)) return undefined;
  const offset = (m[1] === '-' ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3]));
  return ZONES_BY_PREFERENCE.find((zone) => utcOffsetMinutes(new Date(at), zone) === offset);
}
