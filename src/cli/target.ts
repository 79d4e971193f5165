// The options every portal command takes (kept apart from session.ts so registering a command loads nothing heavy).
import type { Command } from 'commander';
import { tr } from '../i18n/index.js';
import { parseInteger } from './options.js';

/** The options every portal command takes: where the portal is, the template, and where local state lives. */
export function addTargetOptions(command: Command): Command {
  const t = tr().cli.option;
  return command
    .option('--webhook <url>', t.webhook)
    .option('--access-token <token>', t.accessToken)
    .option('--refresh-token <token>', t.refreshToken)
    .option('--tokens-stdin', t.tokensStdin)
    .option('--domain <host>', t.domain)
    .option('--member-id <id>', t.memberId)
    .option('--public-url <url>', t.publicUrl)
    .option('--template <dir>', t.template)
    .option('--state-dir <dir>', t.stateDir)
    .option('--timeout-ms <n>', t.timeoutMs);
}

export interface TargetFlags {
  webhook?: string;
  accessToken?: string;
  refreshToken?: string;
  tokensStdin?: boolean;
  domain?: string;
  memberId?: string;
  publicUrl?: string;
  template?: string;
  stateDir?: string;
  timeoutMs?: string;
}

/** The target and state flags of a suggested command, as this run was given them (never a secret: placeholders). */
export function targetArgs(flags: TargetFlags): string[] {
  const parts: string[] = [];
  if (flags.webhook) parts.push(tr().cli.webhookPlaceholder);
  if (flags.memberId) parts.push(`--member-id ${flags.memberId}`);
  if (flags.domain) parts.push(`--domain ${flags.domain}`);
  if (flags.accessToken || flags.refreshToken || flags.tokensStdin) parts.push('--tokens-stdin');
  if (flags.publicUrl) parts.push(`--public-url ${flags.publicUrl}`);
  if (flags.template) parts.push(`--template ${flags.template}`);
  if (flags.stateDir) parts.push(`--state-dir ${flags.stateDir}`);
  return parts;
}

/** --timeout-ms: how long a request may go unanswered (1 s to 10 min). */
export function timeoutOf(flags: Pick<TargetFlags, 'timeoutMs'>): number | undefined {
  return flags.timeoutMs === undefined ? undefined : parseInteger(flags.timeoutMs, '--timeout-ms', 1000, 600_000);
}
