// Where the service's secret key comes from: AUTOSALON_SECRET_KEY, else the key file in the state directory, which
// `npm start` and a first `autosalon serve` create (mode 0600) when the database holds no encrypted token yet.
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, loadServiceConfig, type ServiceConfig } from './config.js';
import { newSecretKey, parseSecretKey, type SecretKeys } from './store/secrets.js';

export const SECRET_KEY_FILE = 'secret.key';

export function secretKeyFile(stateDir: string): string {
  return join(stateDir, SECRET_KEY_FILE);
}

/** The state directory, created (or narrowed) so only its owner enters it: it holds the database and the key. */
export function privateStateDir(stateDir: string): void {
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  if ((statSync(stateDir).mode & 0o077) !== 0) chmodSync(stateDir, 0o700);
}

/**
 * The keys of the tokens at rest. `onGenerated` is told the path of a key made now (a new database without
 * AUTOSALON_SECRET_KEY); without it no key is made, and a database that needs one is an error naming the setting.
 */
export function serviceKeys(config: Pick<ServiceConfig, 'secretKey' | 'previousSecretKeys' | 'stateDir'>, onGenerated?: (file: string) => void): SecretKeys {
  const file = secretKeyFile(config.stateDir);
  let current = config.secretKey;
  if (!current && existsSync(file)) {
    if ((statSync(file).mode & 0o077) !== 0) chmodSync(file, 0o600);
    try {
      current = parseSecretKey(readFileSync(file, 'utf8'), file);
    } catch (error) {
      throw new ConfigError(`the key file ${file} is damaged (${(error as Error).message}); restore it, or set AUTOSALON_SECRET_KEY`);
    }
  }
  return {
    current,
    previous: config.previousSecretKeys,
    generate: onGenerated && (() => {
      const key = newSecretKey();
      privateStateDir(config.stateDir);
      writeFileSync(file, `${key.toString('base64')}\n`, { mode: 0o600, flag: 'wx' });
      onGenerated(file);
      return key;
    }),
  };
}

/** The keys a tool opening the service's database reads (AUTOSALON_SECRET_KEY[_PREVIOUS], else the state directory's key file). */
export function keysFromEnvironment(env: Record<string, string | undefined>, stateDir: string): SecretKeys {
  return serviceKeys({ ...loadServiceConfig(env, { stateDir }), stateDir });
}
