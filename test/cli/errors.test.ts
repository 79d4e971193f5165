// What a user sees when something is wrong before any portal answers: a clear message naming what is wrong and what
// to do, exit 1, no stack trace, no secret; with --json, one JSON object on stdout even then.
import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { asUserError } from '../../src/cli/session.js';
import { LostResponseError, PortalError } from '../../src/portal/client.js';
import { runCliAsync } from '../install/cli-run.js';
import { tempStateDir } from '../install/portal-checks.js';

const SECRET = 'k3yk3yk3yk3y';
const STACK = /\n\s+at /;

/** A port on 127.0.0.1 that nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('autosalon, when the portal cannot be reached or the input is wrong', () => {
  it('a portal nobody answers at: says so at once, without "lost answer" retries, a stack or the webhook secret', async () => {
    const port = await closedPort();
    const r = await runCliAsync(['verify', '--webhook', `https://127.0.0.1:${port}/rest/1/${SECRET}/`], { AUTOSALON_STATE_DIR: tempStateDir() });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`cannot reach the portal at https://127\\.0\\.0\\.1:${port}: nothing answers .*check the portal address`));
    expect(r.stderr).not.toMatch(/LOST_RESPONSE|may or may not|attempt/);
    expect(r.stderr).not.toMatch(STACK);
    expect(r.stdout + r.stderr).not.toContain(SECRET);
  });

  it('with --json, a failure is one JSON object on stdout too; a plain-http webhook is refused with what it should look like', async () => {
    const r = await runCliAsync(['install', '--tier', 'base', '--json', '--webhook', `http://portal.example.com/rest/1/${SECRET}/`], { AUTOSALON_STATE_DIR: tempStateDir() });
    expect(r.status).toBe(1);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0])).toEqual({ ok: false, exitCode: 1, error: expect.stringMatching(/^the webhook must start with https:\/\//) });
    expect(r.stderr).toMatch(/^error: the webhook must start with https:\/\//);
    expect(r.stdout + r.stderr).not.toContain(SECRET);
  });

  it('with --json, a mistyped flag is one JSON object on stdout too', async () => {
    const r = await runCliAsync(['verify', '--json', '--tierr', 'base'], {});
    expect(r.status).toBe(1);
    expect(JSON.parse(r.stdout)).toEqual({ ok: false, exitCode: 1, error: expect.stringMatching(/unknown option '--tierr'\n\(Did you mean --tier\?\)/) });
    expect(r.stderr).toMatch(/Did you mean --tier\?/);
  });

  it('npm start with B24_WEBHOOK_URL installs into that portal (its plan decides the tier) and says when it cannot reach it', async () => {
    const port = await closedPort();
    const r = await runCliAsync(['start'], { B24_WEBHOOK_URL: `https://127.0.0.1:${port}/rest/1/${SECRET}/`, AUTOSALON_STATE_DIR: tempStateDir() });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/B24_WEBHOOK_URL is set: installing into that portal/);
    expect(r.stderr).toMatch(/cannot reach the portal at https:\/\/127\.0\.0\.1:\d+: nothing answers/);
    expect(r.stderr).not.toMatch(STACK);
    expect(r.stdout + r.stderr).not.toContain(SECRET);
  });

  it('recalls --date with an impossible month names the flag and the expected form', async () => {
    const r = await runCliAsync(['recalls', '--date', '2027-13-01'], { AUTOSALON_STATE_DIR: tempStateDir() });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/--date must be a date such as 2027-02-01 \(got "2027-13-01"\)/);
    expect(r.stderr).not.toMatch(/Invalid time value|AUTOSALON_DEBUG/);
  });

  it('--version prints the version', async () => {
    const r = await runCliAsync(['--version'], {});
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });
});

describe('messages of portal errors', () => {
  const as = (kind: 'webhook' | 'app') => ({ redact: (text: string) => text, target: kind === 'app' ? { kind } as never : { kind, url: '' } as never });

  it('a refusal names what to do, for a webhook and for the application', () => {
    // A CRM method's refusal of a user without rights has an empty code, as the snapshot reader reports it.
    const noRights = new PortalError('crm.lead.userfield.list', '', 'reading the portal (uf_lead_ru): Access denied.', 400);
    expect(noRights.isAccessDenied).toBe(true);
    expect(asUserError(noRights, as('webhook')).message)
      .toBe('the portal refused: "reading the portal (uf_lead_ru): Access denied." (no code, crm.lead.userfield.list): the webhook\'s user lacks rights; create the incoming webhook as a portal administrator');
    expect(asUserError(noRights, as('app')).message).toMatch(/: the application lacks rights here; it must be installed by a portal administrator$/);
    const scope = new PortalError('crm.status.list', 'insufficient_scope', 'The request requires higher privileges than provided by the webhook token', 400);
    expect(asUserError(scope, as('webhook')).message).toMatch(/: the webhook lacks a permission this needs \(crm for the installer\): tick it in the incoming webhook's settings$/);
    const unknown = new PortalError('batch', 'NO_AUTH_FOUND', 'Wrong authorization data', 401);
    expect(asUserError(unknown, as('webhook')).message).toMatch(/: check the webhook URL \(its user id and secret\)$/);
    expect(asUserError(unknown, as('app')).message).toMatch(/: the access token is unknown or revoked; take new tokens from the application$/);
    expect(asUserError(new PortalError('crm.status.add', '', 'The field STATUS_ID is required.', 400), as('webhook')).message)
      .toBe('the portal refused: "The field STATUS_ID is required." (no code, crm.status.add)');
    // A free plan: REST needs a subscription; said in words.
    const free = new PortalError('batch', 'ACCESS_DENIED', 'REST is available only by subscription', 401);
    expect(asUserError(free, as('webhook')).message).toMatch(/: REST works only on paid plans and trials: on the free plan, start a trial \(or a paid plan\) first$/);
  });

  it('a lost answer is said once, with what to do', () => {
    expect(asUserError(new LostResponseError('batch', 'HTTP 502')).message)
      .toBe('no answer from the portal (HTTP 502); nothing is lost: run the same command again, it looks up what was done');
  });
});
