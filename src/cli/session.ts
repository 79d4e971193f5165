// What every command that talks to a portal shares: the target options, opening the session, asking for consent,
// and turning errors into messages the user can act on, with every secret removed.
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline/promises';
import { tr } from '../i18n/index.js';
import { InstallError } from '../install/model.js';
import { openSession, type Session, type SessionOptions } from '../install/session.js';
import { LostResponseError, PortalError, TimeoutError, UnreachableError } from '../portal/client.js';
import { compiledTemplate } from '../template/compiled.js';
import type { Template } from '../template/model.js';
import { UserError } from './errors.js';
import { timeoutOf, type TargetFlags } from './target.js';

export type { TargetFlags } from './target.js';

/**
 * The application's tokens from standard input, so they never show in `ps` or the shell history: the JSON Bitrix24
 * sends (access_token, refresh_token, domain, member_id) or KEY=VALUE lines (ACCESS_TOKEN=…, REFRESH_TOKEN=…, DOMAIN=…).
 */
export function parseTokens(text: string): { accessToken?: string; refreshToken?: string; domain?: string; memberId?: string } {
  const raw: Record<string, unknown> = {};
  const trimmed = text.trim();
  if (trimmed.startsWith('{')) {
    try {
      Object.assign(raw, JSON.parse(trimmed));
    } catch {
      throw new UserError(tr().cli.tokensNotParsed);
    }
  } else {
    for (const line of trimmed.split(/\r?\n/)) {
      const m = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$/.exec(line);
      if (m) raw[m[1]] = m[2].replace(/^(['"])(.*)\1$/, '$2');
    }
  }
  const pick = (...names: string[]) => {
    for (const [key, value] of Object.entries(raw)) {
      const k = key.toLowerCase().replace(/^b24_/, '');
      if (names.includes(k) && typeof value === 'string' && value) return value;
    }
    return undefined;
  };
  const tokens = { accessToken: pick('access_token', 'accesstoken'), refreshToken: pick('refresh_token', 'refreshtoken'), domain: pick('domain'), memberId: pick('member_id', 'memberid') };
  if (!tokens.accessToken && !tokens.refreshToken) throw new UserError(tr().cli.tokensNotParsed);
  return tokens;
}

function sessionOptions(flags: TargetFlags): SessionOptions {
  const fromStdin = flags.tokensStdin ? parseTokens(readFileSync(0, 'utf8')) : {};
  return {
    webhook: flags.webhook,
    accessToken: flags.accessToken ?? fromStdin.accessToken,
    refreshToken: flags.refreshToken ?? fromStdin.refreshToken,
    domain: flags.domain ?? fromStdin.domain,
    memberId: flags.memberId ?? fromStdin.memberId,
    publicUrl: flags.publicUrl,
    stateDir: flags.stateDir,
  };
}


/**
 * The template, loaded once per command: --template DIR, else the shipped one — as the build compiled it while its
 * files are unchanged, which spares parsing and validating YAML (and loading the libraries that do it) at start-up.
 */
export async function templateFor(flags: Pick<TargetFlags, 'template'>): Promise<Template> {
  const { DEFAULT_TEMPLATE_DIR } = await import('../template/compiled.js');
  if (!flags.template) {
    const compiled = compiledTemplate(DEFAULT_TEMPLATE_DIR);
    if (compiled) return compiled;
  }
  const { loadTemplate } = await import('../template/loader.js');
  return loadTemplate(flags.template ?? DEFAULT_TEMPLATE_DIR);
}

/** Opens the portal; rate-limit waits are told on stderr (`onWait` replaces that, for a progress display). */
export async function openForCli(flags: TargetFlags, onWait?: (text: string) => void): Promise<Session> {
  const say = onWait ?? ((text: string) => console.error(text));
  try {
    return await openSession(sessionOptions(flags), {
      timeoutMs: timeoutOf(flags),
      onWait: ({ method, code, attempt, ms }) => {
        const t = tr().cli;
        if (code === 'LOST_RESPONSE') say(t.askingAgain(method, attempt));
        // A full request-rate bucket drains in well under a minute: the first wait and every tenth are told.
        else if (code !== 'QUERY_LIMIT_EXCEEDED' || attempt === 1 || attempt % 10 === 0) say(t.portalBusy(code, method, attempt, ms));
      },
    });
  } catch (error) {
    throw asUserError(error);
  }
}

/** After a command: what the user should know, and the portal connection closed. */
export async function finish(session: Session): Promise<void> {
  for (const notice of session.notices()) console.error(notice);
  await session.close();
}

/** What the user can do about a portal's refusal, by its code (and whether a webhook or the application asked). */
function refusalHint(error: PortalError, kind: 'webhook' | 'app' | undefined): string {
  const t = tr().cli.hint;
  const app = kind === 'app';
  switch (error.code) {
    // The OAuth server refused to renew the tokens (RFC 6749 codes, as oauth.bitrix.info sends them).
    case 'invalid_client': return t.invalidClient;
    case 'invalid_grant': return t.invalidGrant;
    case 'NO_AUTH_FOUND':
    case 'INVALID_CREDENTIALS':
      return app ? t.tokenUnknown : t.webhookWrong;
    case 'insufficient_scope':
      return app ? t.appScope : t.webhookScope;
    case 'ACCESS_DENIED':
      if (/subscription/i.test(error.description)) return t.restNeedsSubscription;
      return app ? t.appRights : t.webhookRights;
    default:
      if (!error.isAccessDenied) return '';
      return app ? t.appRights : t.webhookRights;
  }
}

/** Errors the user can act on, with every secret removed. */
export function asUserError(error: unknown, session?: Pick<Session, 'redact' | 'target'>): Error {
  const clean = (text: string) => (session ? session.redact(text) : text);
  const t = tr().cli;
  const cause = { cause: error };
  if (error instanceof UserError) return new UserError(clean(error.message), error.exitCode, { cause: error.cause ?? error });
  if (error instanceof InstallError || error instanceof UnreachableError || error instanceof TimeoutError) return new UserError(clean(error.message), 1, cause);
  if (error instanceof LostResponseError) return new UserError(clean(t.noAnswer(error.reason)), 1, cause);
  if (error instanceof PortalError) {
    const hint = refusalHint(error, session?.target.kind);
    return new UserError(clean(t.portalRefused(error.method, error.code, error.description, hint)), 1, cause);
  }
  return new UserError(clean(error instanceof Error ? error.message : String(error)), 1, cause);
}

/**
 * Asks on the terminal; without one, refuses with what to add. `summary` says what needs consent and stays on screen
 * before the question; the question repeats the plan's counts.
 */
export async function confirmOnTerminal(question: string, yes: boolean, whatNeedsConsent: string, options: { flags?: string } = {}): Promise<boolean> {
  if (yes) return true;
  if (!process.stdin.isTTY) throw new UserError(tr().cli.needsYes(whatNeedsConsent, options.flags ?? '--yes'));
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    // Ctrl-C at the question is a "no": nothing has been changed yet.
    const interrupted = new Promise<string>((resolve) => rl.once('SIGINT', () => resolve('')));
    const answer = await Promise.race([rl.question(`${question} ${tr().cli.yesNo} `), interrupted]);
    return tr().cli.isYes(answer.trim());
  } finally {
    rl.close();
  }
}
