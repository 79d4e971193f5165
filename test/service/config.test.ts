import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadServiceConfig } from '../../src/service/config.js';

describe('loadServiceConfig', () => {
  it('has working defaults', () => {
    const c = loadServiceConfig({});
    expect(c).toMatchObject({
      host: '127.0.0.1', port: 3000, oauthUrl: 'https://oauth.bitrix.info', dbFile: resolve('.autosalon/service.sqlite'),
      sweepIntervalSeconds: 300, app: undefined, restBatching: true,
      automation: { timeZone: 'Europe/Moscow', leadManagerIds: [], supervisorUserId: undefined, lang: 'ru' },
    });
  });

  it('reads every setting from the environment; flags win', () => {
    const c = loadServiceConfig({
      AUTOSALON_STATE_DIR: '/srv/as', AUTOSALON_TIME_ZONE: 'Asia/Tomsk', AUTOSALON_SUPERVISOR_USER_ID: '9', AUTOSALON_LEAD_MANAGER_IDS: '3, 4;5',
      AUTOSALON_SWEEP_INTERVAL_SECONDS: '60', B24_OAUTH_URL: 'https://oauth.example/', B24_APP_CLIENT_ID: 'local.1', B24_APP_CLIENT_SECRET: 's',
      AUTOSALON_PUBLIC_URL: 'https://hooks.example.com/autosalon/', AUTOSALON_PORT: '8080', AUTOSALON_REST_BATCHING: 'OFF',
    }, { port: 0 });
    expect(c).toMatchObject({
      port: 0, dbFile: '/srv/as/service.sqlite', oauthUrl: 'https://oauth.example', publicUrl: 'https://hooks.example.com/autosalon',
      sweepIntervalSeconds: 60, app: { clientId: 'local.1', clientSecret: 's' }, restBatching: false,
      automation: { timeZone: 'Asia/Tomsk', supervisorUserId: 9, leadManagerIds: [3, 4, 5] },
    });
  });

  it('names every wrong variable and what it should look like', () => {
    let error: unknown;
    try {
      loadServiceConfig({
        AUTOSALON_TIME_ZONE: 'Moscow', AUTOSALON_LEAD_MANAGER_IDS: '3,bob', AUTOSALON_PORT: 'x', B24_APP_CLIENT_ID: 'local.1', AUTOSALON_PUBLIC_URL: 'ftp://x',
        AUTOSALON_REST_BATCHING: 'maybe',
      });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as Error).message;
    expect(message).toMatch(/AUTOSALON_TIME_ZONE "Moscow" is not a time zone/);
    expect(message).toMatch(/AUTOSALON_LEAD_MANAGER_IDS must be a comma-separated list/);
    expect(message).toMatch(/AUTOSALON_PORT must be a number/);
    expect(message).toMatch(/set both B24_APP_CLIENT_ID and B24_APP_CLIENT_SECRET/);
    expect(message).toMatch(/AUTOSALON_PUBLIC_URL must be an http\(s\) URL/);
    expect(message).toMatch(/AUTOSALON_REST_BATCHING must be on or off/);
  });

  it('takes a PostgreSQL URL with a host or a socket directory, and refuses a malformed one without repeating it', () => {
    expect(loadServiceConfig({ AUTOSALON_DATABASE_URL: 'postgres://autosalon:pw@db.example.com:5432/autosalon' }).databaseUrl).toBe('postgres://autosalon:pw@db.example.com:5432/autosalon');
    expect(loadServiceConfig({ AUTOSALON_DATABASE_URL: 'postgres://autosalon@/autosalon?host=/run/postgresql' }).databaseUrl).toBe('postgres://autosalon@/autosalon?host=/run/postgresql');
    for (const url of ['postgres:/autosalon:s3cret@127.0.0.1/autosalon', 'postgres://autosalon:s3#cret@127.0.0.1/autosalon', 'mysql://autosalon:s3cret@db/x']) {
      expect(() => loadServiceConfig({ AUTOSALON_DATABASE_URL: url })).toThrow(/AUTOSALON_DATABASE_URL must be a PostgreSQL URL such as .* # as %23/);
      expect(() => loadServiceConfig({ AUTOSALON_DATABASE_URL: url })).not.toThrow(/s3/);
    }
  });
});

describe('the service log', () => {
  it('writes one line per message: a line break a request carried cannot forge a line', async () => {
    const { createLogger } = await import('../../src/service/log.js');
    const lines: string[] = [];
    createLogger('info', (line) => lines.push(line)).warn('portal evil.ru\n2027-01-01T00:00:00.000Z info  forged\u2028x');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/portal evil\.ru\\n2027-01-01T00:00:00\.000Z info {2}forged\\u2028x$/);
  });
});
