// Tokens at rest: every access, refresh and application token is stored encrypted with AES-256-GCM under the
// service's secret key (AUTOSALON_SECRET_KEY, or the key file `npm start` / a first `serve` generate), bound to its
// portal and column so a stored value cannot be moved to another row. Each value names the key it was written with,
// so a key can be rotated: start once with the new key in AUTOSALON_SECRET_KEY and the old one in
// AUTOSALON_SECRET_KEY_PREVIOUS, and every value is re-encrypted with the new key.
import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes } from 'node:crypto';
import { ConfigError } from '../config.js';

const VERSION = 'v1';
/** The known text encrypted into the database, so a wrong key is told at start, not at the first token read. */
const CHECK_TEXT = 'autosalon-secret-key-check';
const CHECK_CONTEXT = 'meta|key_check';

export interface SecretKeys {
  current?: Buffer;
  /** Keys the database may still hold values under (rotation). */
  previous: Buffer[];
  /** Makes and keeps a new key; called only for a database that holds no encrypted value yet. */
  generate?: () => Buffer;
}

/** 32 bytes, given as base64 (44 characters) or hex (64 characters). */
export function parseSecretKey(text: string, name: string): Buffer {
  const value = text.trim();
  const hex = /^[0-9a-f]{64}$/i.test(value);
  if (!hex && !/^[A-Za-z0-9+/_-]{43}=?$/.test(value)) {
    throw new ConfigError(`${name} must be 32 random bytes written as base64 (44 characters) or hex (64 characters); make one with: openssl rand -base64 32`);
  }
  return Buffer.from(value, hex ? 'hex' : 'base64');
}

export const newSecretKey = (): Buffer => randomBytes(32);

const keyId = (key: Buffer) => createHash('sha256').update(key).digest('hex').slice(0, 8);

export class TokenCipher {
  private readonly byId = new Map<string, Buffer>();
  readonly keyId: string;

  constructor(private readonly key: Buffer, previous: Buffer[] = []) {
    this.keyId = keyId(key);
    for (const k of [key, ...previous]) this.byId.set(keyId(k), k);
  }

  /** `context` is where the value lives (portal and column): a value decrypts only there. */
  encrypt(plain: string, context: string): string {
    if (plain === '') return '';
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    cipher.setAAD(Buffer.from(context));
    const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    return [VERSION, this.keyId, iv.toString('base64url'), cipher.getAuthTag().toString('base64url'), body.toString('base64url')].join('.');
  }

  decrypt(stored: string, context: string): string {
    if (stored === '') return '';
    const [version, id, iv, tag, body] = stored.split('.');
    const key = this.byId.get(id ?? '');
    if (version !== VERSION || !key || !iv || !tag || body === undefined) {
      throw new ConfigError(`a stored token was written with a secret key this service does not have (key ${id ?? '?'}): set AUTOSALON_SECRET_KEY (and, while rotating, AUTOSALON_SECRET_KEY_PREVIOUS) to the keys the database was written with`);
    }
    const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
    decipher.setAAD(Buffer.from(context));
    decipher.setAuthTag(Buffer.from(tag, 'base64url'));
    try {
      return Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]).toString('utf8');
    } catch {
      throw new ConfigError(`a stored token does not decrypt (${context}): the database was changed outside the service, or the value was moved between rows`);
    }
  }

  /** A key for another use of the secret key (HKDF-SHA256): never the key itself. */
  derive(purpose: string): Buffer {
    return Buffer.from(hkdfSync('sha256', this.key, Buffer.alloc(0), `autosalon|${purpose}`, 32));
  }

  /** The value was written with an older key. */
  isStale(stored: string): boolean {
    return stored !== '' && stored.split('.')[1] !== this.keyId;
  }
}

export interface CipherSetup {
  cipher: TokenCipher;
  /** The check value to store when it changed (new database, first encryption, rotation). */
  check?: string;
  /** Stored values must be rewritten: they are plain text (a database from before encryption) or under an old key. */
  rewrite: boolean;
}

/**
 * The cipher for a database, from its stored check value and the keys given: a database without one (new, or from
 * before encryption) takes the current key or a generated one; a database with one must be readable by the current
 * key or, while rotating, a previous one. `where` names the database in messages.
 */
export function setUpCipher(storedCheck: string | undefined, keys: SecretKeys, where: string): CipherSetup {
  if (storedCheck === undefined) {
    const key = keys.current ?? keys.generate?.();
    if (!key) throw new ConfigError(`no secret key for the tokens in ${where}: set AUTOSALON_SECRET_KEY (openssl rand -base64 32)`);
    const cipher = new TokenCipher(key);
    return { cipher, check: cipher.encrypt(CHECK_TEXT, CHECK_CONTEXT), rewrite: true };
  }
  if (!keys.current) {
    throw new ConfigError(`${where} holds encrypted tokens, but no secret key was given: set AUTOSALON_SECRET_KEY to the key it was written with `
      + '(npm start and a first serve keep a generated one in secret.key in the state directory)');
  }
  const cipher = new TokenCipher(keys.current, keys.previous);
  const readable = (() => {
    try {
      return cipher.decrypt(storedCheck, CHECK_CONTEXT) === CHECK_TEXT;
    } catch {
      return false;
    }
  })();
  if (!readable) {
    throw new ConfigError(`AUTOSALON_SECRET_KEY is not the key ${where} was written with: set the right one; to change keys, put the new key in `
      + 'AUTOSALON_SECRET_KEY and the old one in AUTOSALON_SECRET_KEY_PREVIOUS for one start');
  }
  if (!cipher.isStale(storedCheck)) return { cipher, rewrite: false };
  return { cipher, check: cipher.encrypt(CHECK_TEXT, CHECK_CONTEXT), rewrite: true };
}
