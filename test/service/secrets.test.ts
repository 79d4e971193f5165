import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { defaultSettings } from '../../src/service/settings.js';
import { serviceKeys, secretKeyFile } from '../../src/service/secret-key.js';
import { parseSecretKey, TokenCipher } from '../../src/service/store/secrets.js';
import { SqliteStore } from '../../src/service/store/sqlite.js';
import type { PortalRecord } from '../../src/service/store/types.js';

const KEY_A = Buffer.alloc(32, 1);
const KEY_B = Buffer.alloc(32, 2);
let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'autosalon-secrets-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const portal: PortalRecord = {
  memberId: 'm1', domain: 'a.bitrix24.ru', clientEndpoint: 'https://a.bitrix24.ru/rest/', accessToken: 'at-1', refreshToken: 'rt-1',
  expires: 100, scope: 'crm', userId: 1, applicationToken: 'app-1', lang: 'ru', tier: 'crm_plus', plan: 'pro', installedAt: 1,
  installState: 'installed', settings: defaultSettings(),
};

describe('tokens at rest', () => {
  it('a value decrypts only with its key and only in its place (portal and column)', () => {
    const cipher = new TokenCipher(KEY_A);
    const sealed = cipher.encrypt('secret-token', 'm1|access_token');
    expect(sealed).not.toContain('secret-token');
    expect(cipher.decrypt(sealed, 'm1|access_token')).toBe('secret-token');
    expect(() => cipher.decrypt(sealed, 'm2|access_token')).toThrow(/does not decrypt/);
    expect(() => new TokenCipher(KEY_B).decrypt(sealed, 'm1|access_token')).toThrow(/secret key this service does not have/);
  });

  it('a key must be 32 bytes in base64 or hex', () => {
    expect(parseSecretKey(KEY_A.toString('base64'), 'K')).toEqual(KEY_A);
    expect(parseSecretKey(KEY_A.toString('hex'), 'K')).toEqual(KEY_A);
    expect(() => parseSecretKey('too-short', 'AUTOSALON_SECRET_KEY')).toThrow(/AUTOSALON_SECRET_KEY must be 32 random bytes .* openssl rand -base64 32/);
  });

  it('a database written with one key refuses another, and says how to rotate; with the old one as previous, it is re-encrypted', async () => {
    const file = join(dir, 'service.sqlite');
    let store = await SqliteStore.open(file, { keys: { current: KEY_A, previous: [] } });
    await store.savePortal(portal);
    await store.close();
    await expect(SqliteStore.open(file, { keys: { current: KEY_B, previous: [] } })).rejects.toThrow(/AUTOSALON_SECRET_KEY is not the key .* AUTOSALON_SECRET_KEY_PREVIOUS/);
    await expect(SqliteStore.open(file, { keys: { previous: [] } })).rejects.toThrow(/holds encrypted tokens, but no secret key was given/);
    store = await SqliteStore.open(file, { keys: { current: KEY_B, previous: [KEY_A] } });
    expect(store.tokensRotated).toBe(true);
    expect(await store.getPortal('m1')).toMatchObject({ accessToken: 'at-1', refreshToken: 'rt-1', applicationToken: 'app-1' });
    await store.close();
    // Rotated: the new key alone reads it, the old one no longer does.
    store = await SqliteStore.open(file, { keys: { current: KEY_B, previous: [] } });
    expect(store.tokensRotated).toBe(false);
    expect(await store.getPortal('m1')).toMatchObject({ applicationToken: 'app-1' });
    await store.close();
    await expect(SqliteStore.open(file, { keys: { current: KEY_A, previous: [] } })).rejects.toThrow(/is not the key/);
  });

  it('without AUTOSALON_SECRET_KEY a new database gets a generated key file of mode 0600, used from then on', async () => {
    const generated: string[] = [];
    const keys = serviceKeys({ stateDir: dir, previousSecretKeys: [] }, (file) => generated.push(file));
    const store = await SqliteStore.open(join(dir, 'service.sqlite'), { keys });
    await store.savePortal(portal);
    await store.close();
    expect(generated).toEqual([secretKeyFile(dir)]);
    expect(statSync(secretKeyFile(dir)).mode & 0o777).toBe(0o600);
    const again = await SqliteStore.open(join(dir, 'service.sqlite'), { keys: serviceKeys({ stateDir: dir, previousSecretKeys: [] }) });
    expect(await again.getPortal('m1')).toMatchObject({ refreshToken: 'rt-1' });
    await again.close();
  });
});
