// Opening a portal for a command: target from options and environment, the client, and redaction of its secrets
// from every message that may be printed.
import { connect, describeTarget, redact, resolveTarget, secretsOf, TargetError, type PortalTarget, type TargetInput } from '../portal/auth.js';
import type { PortalClient, PortalClientOptions } from '../portal/client.js';
import { InstallError } from './model.js';
import { defaultStateDir } from './state.js';

export interface SessionOptions extends TargetInput {
  stateDir?: string;
  publicUrl?: string;
}

export interface Session {
  target: PortalTarget;
  client: PortalClient;
  /** Safe to print. */
  description: string;
  stateDir: string;
  app?: { publicUrl?: string; clientId?: string };
  /** Removes the target's secrets from a text. */
  redact(text: string): string;
}

export function openSession(options: SessionOptions, clientOptions: PortalClientOptions = {}, env: NodeJS.ProcessEnv = process.env): Session {
  let target: PortalTarget;
  try {
    target = resolveTarget(options, env);
  } catch (error) {
    if (error instanceof TargetError) throw new InstallError(error.message);
    throw error;
  }
  const secrets = secretsOf(target);
  let client: PortalClient;
  try {
    client = connect(target, clientOptions);
  } catch (error) {
    throw new InstallError(redact((error as Error).message, secrets));
  }
  return {
    target,
    client,
    description: describeTarget(target),
    stateDir: options.stateDir ?? defaultStateDir(env),
    app: target.kind === 'app'
      ? { publicUrl: options.publicUrl ?? env.AUTOSALON_PUBLIC_URL, clientId: target.app.clientId || undefined }
      : undefined,
    redact: (text) => redact(text, secrets),
  };
}
