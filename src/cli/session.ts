// What every command that talks to a portal shares: the target options, opening the session, asking for consent,
// and turning errors into messages the user can act on, with every secret removed.
import { createInterface } from 'node:readline/promises';
import type { Command } from 'commander';
import { InstallError } from '../install/model.js';
import { openSession, type Session, type SessionOptions } from '../install/session.js';
import { LostResponseError, PortalError, UnreachableError } from '../portal/client.js';
import { UserError } from './errors.js';

/** The options every portal command takes: where the portal is and where local state lives. */
export function addTargetOptions(command: Command): Command {
  return command
    .option('--webhook <url>', 'incoming webhook of an admin (default: B24_WEBHOOK_URL from the environment or .env)')
    .option('--access-token <token>', 'app mode: OAuth access token of the installed application')
    .option('--refresh-token <token>', 'app mode: OAuth refresh token (renews an expired access token)')
    .option('--domain <host>', 'app mode: the portal address, e.g. your.bitrix24.ru')
    .option('--member-id <id>', 'app mode: the portal\'s member_id, which keys its local state (give it with tokens too, to share the ledger of the automation service\'s installs); alone, it takes the tokens the service stored (AUTOSALON_DB)')
    .option('--public-url <url>', 'app mode: public URL of the automation service (default: AUTOSALON_PUBLIC_URL)')
    .option('--state-dir <dir>', 'local state: ledger, journal, backups (default: AUTOSALON_STATE_DIR or .autosalon)');
}

export interface TargetFlags {
  webhook?: string;
  accessToken?: string;
  refreshToken?: string;
  domain?: string;
  memberId?: string;
  publicUrl?: string;
  stateDir?: string;
}

function sessionOptions(flags: TargetFlags): SessionOptions {
  return {
    webhook: flags.webhook, accessToken: flags.accessToken, refreshToken: flags.refreshToken, domain: flags.domain,
    memberId: flags.memberId, publicUrl: flags.publicUrl, stateDir: flags.stateDir,
  };
}

/** Opens the portal; progress of rate-limit waits goes to stderr. */
export async function openForCli(flags: TargetFlags): Promise<Session> {
  try {
    return await openSession(sessionOptions(flags), {
      onWait: ({ method, code, attempt }) => console.error(code === 'LOST_RESPONSE'
        ? `  no answer from the portal to ${method}: asking again (attempt ${attempt})`
        : `  the portal answered ${code} to ${method}: waiting, attempt ${attempt}`),
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
  const app = kind === 'app';
  switch (error.code) {
    // The OAuth server refused to renew the tokens (RFC 6749 codes, as oauth.bitrix.info sends them).
    case 'invalid_client': return 'check B24_APP_CLIENT_ID and B24_APP_CLIENT_SECRET (the application\'s client_id and client_secret), or, if the application was deleted from the portal, install it again';
    case 'invalid_grant': return 'the refresh token is used up or expired; take new tokens from the application, or use --member-id with the automation service\'s database';
    case 'NO_AUTH_FOUND':
    case 'INVALID_CREDENTIALS':
      return app ? 'the access token is unknown or revoked; take new tokens from the application' : 'check the webhook URL (its user id and secret)';
    case 'insufficient_scope':
      return app
        ? 'the application lacks a scope this needs (crm, bizproc, user, department, im, task): add it in the application\'s settings and install it again'
        : 'the webhook lacks a scope this needs (crm for the installer): tick it in the incoming webhook\'s settings';
    default:
      if (!error.isAccessDenied) return '';
      return app
        ? 'the application lacks rights here; it must be installed by a portal administrator'
        : 'the webhook\'s user lacks rights; create the incoming webhook as a portal administrator';
  }
}

/** Errors the user can act on, with every secret removed. */
export function asUserError(error: unknown, session?: Pick<Session, 'redact' | 'target'>): Error {
  const clean = (text: string) => (session ? session.redact(text) : text);
  if (error instanceof UserError) return new UserError(clean(error.message), error.exitCode);
  if (error instanceof InstallError || error instanceof UnreachableError) return new UserError(clean(error.message));
  if (error instanceof LostResponseError) {
    return new UserError(clean(`no answer from the portal (${error.reason}); nothing is lost: run the same command again, it looks up what was done`));
  }
  if (error instanceof PortalError) {
    const hint = refusalHint(error, session?.target.kind);
    return new UserError(clean(`the portal refused: ${error.message}${hint ? `: ${hint}` : ''}`));
  }
  return new UserError(clean(error instanceof Error ? error.message : String(error)));
}

/** Asks on the terminal; without one, refuses with what to add. */
export async function confirmOnTerminal(question: string, yes: boolean, whatNeedsConsent: string): Promise<boolean> {
  if (yes) return true;
  if (!process.stdin.isTTY) {
    throw new UserError(`${whatNeedsConsent}; nothing was changed. Add --yes to apply it without asking.`);
  }
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await rl.question(`${question} [y/N] `);
    return /^y(es)?$/i.test(answer.trim());
  } finally {
    rl.close();
  }
}
