import { describe, expect, it } from 'vitest';
import { parseTokens } from '../../src/cli/session.js';
import { describeTarget, redact, resolveTarget, secretsOf, TargetError } from '../../src/portal/auth.js';

describe('choosing the portal', () => {
  it('takes --webhook over B24_WEBHOOK_URL, and says what a webhook looks like when it is not one', () => {
    const t = resolveTarget({ webhook: 'https://a.bitrix24.ru/rest/1/abcdef123/' }, { B24_WEBHOOK_URL: 'https://b.bitrix24.ru/rest/1/zzzzzz/' });
    expect(t).toEqual({ kind: 'webhook', url: 'https://a.bitrix24.ru/rest/1/abcdef123/' });
    expect(() => resolveTarget({ webhook: 'https://a.bitrix24.ru/crm/' }, {})).toThrow(/expected https:\/\/a\.bitrix24\.ru\/rest\/<user id>\/<secret>\//);
    expect(() => resolveTarget({ webhook: 'not a url' }, {})).toThrow(TargetError);
    for (const url of ['http://a.bitrix24.ru/rest/1/abcdef123/', 'htps://a.bitrix24.ru/rest/1/abcdef123/']) {
      const error = (() => { try { resolveTarget({ webhook: url }, {}); } catch (e) { return e as Error; } })();
      expect(error).toBeInstanceOf(TargetError);
      expect(error!.message).toMatch(/must start with https:\/\//);
      expect(error!.message).not.toContain('abcdef123');
    }
  });

  it('with nothing configured, names every way to give a portal', () => {
    expect(() => resolveTarget({}, {})).toThrow(/--webhook .* B24_WEBHOOK_URL .* --tokens-stdin, B24_ACCESS_TOKEN \/ B24_REFRESH_TOKEN and --domain, or --member-id/);
  });

  it('app mode needs the domain, and takes the app credentials and OAuth server from the environment', () => {
    expect(() => resolveTarget({ accessToken: 'tok' }, {})).toThrow(/--domain/);
    const t = resolveTarget({ accessToken: 'tok', refreshToken: 'ref', domain: 'https://x.bitrix24.ru/', memberId: 'm1' }, {
      B24_APP_CLIENT_ID: 'local.1', B24_APP_CLIENT_SECRET: 'sec', B24_OAUTH_URL: 'https://oauth.example.com/',
    });
    expect(t).toMatchObject({
      kind: 'app', app: { clientId: 'local.1', clientSecret: 'sec' },
      tokens: { domain: 'x.bitrix24.ru', clientEndpoint: 'https://x.bitrix24.ru/rest/', serverEndpoint: 'https://oauth.example.com/rest/', memberId: 'm1' },
    });
  });

  it('takes the application\'s tokens from the environment (never visible in ps), after --webhook and before B24_WEBHOOK_URL', () => {
    const env = { B24_ACCESS_TOKEN: 'env-access', B24_REFRESH_TOKEN: 'env-refresh', B24_DOMAIN: 'x.bitrix24.ru' };
    expect(resolveTarget({}, env)).toMatchObject({ kind: 'app', tokens: { accessToken: 'env-access', refreshToken: 'env-refresh', domain: 'x.bitrix24.ru' } });
    expect(resolveTarget({ webhook: 'https://a.bitrix24.ru/rest/1/abcdef123/' }, env)).toMatchObject({ kind: 'webhook' });
    expect(resolveTarget({ accessToken: 'flag-access', domain: 'y.bitrix24.ru' }, env)).toMatchObject({ tokens: { accessToken: 'flag-access', domain: 'y.bitrix24.ru' } });
    expect(() => resolveTarget({}, { ...env, B24_WEBHOOK_URL: 'https://a.bitrix24.ru/rest/1/abcdef123/' })).toThrow(/both B24_WEBHOOK_URL and the application's tokens .* are set/);
    expect(() => resolveTarget({}, { B24_ACCESS_TOKEN: 'a' })).toThrow(/--domain your\.bitrix24\.ru \(or B24_DOMAIN\)/);
  });

  it('reads tokens given on standard input: Bitrix24\'s JSON or KEY=VALUE lines', () => {
    expect(parseTokens('{"access_token":"a1","refresh_token":"r1","domain":"x.bitrix24.ru","member_id":"m1","expires_in":3600}'))
      .toEqual({ accessToken: 'a1', refreshToken: 'r1', domain: 'x.bitrix24.ru', memberId: 'm1' });
    expect(parseTokens('export B24_ACCESS_TOKEN="a2"\nREFRESH_TOKEN=r2\n# comment\n')).toEqual({ accessToken: 'a2', refreshToken: 'r2', domain: undefined, memberId: undefined });
    expect(() => parseTokens('nothing useful')).toThrow(/--tokens-stdin reads the application's tokens from standard input/);
  });

  it('never lets a secret reach printable text', () => {
    const t = resolveTarget({ webhook: 'https://a.bitrix24.ru/rest/1/abcdef123/' }, {});
    expect(describeTarget(t)).toBe('https://a.bitrix24.ru (incoming webhook)');
    expect(redact('POST https://a.bitrix24.ru/rest/1/abcdef123/crm.status.add failed; code abcdef123', secretsOf(t)))
      .toBe('POST https://a.bitrix24.ru/rest/1/***/crm.status.add failed; code ***');
    const app = resolveTarget({ accessToken: 'access-1', refreshToken: 'refresh-1', domain: 'x.ru' }, { B24_APP_CLIENT_SECRET: 'client-secret' });
    expect(redact('access-1 refresh-1 client-secret', secretsOf(app))).toBe('*** *** ***');
  });
});
