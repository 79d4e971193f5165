// Runs once before the test workers start: creates the shared test CA and trusts it in every worker (Node reads
// NODE_EXTRA_CA_CERTS only at process start, so it must be in the environment the workers are forked with), builds
// the front end when dist/web is missing or older than its sources (the browser tests and the pages serve it), and
// starts the PostgreSQL server the store and service tests run against on that backend (stopped after the run).
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureCertificates } from '../src/emulator/certs.js';
import { TEST_CERT_DIR } from './helpers/emulator.js';
import { startTestPostgres, TEST_PG_ENV } from './helpers/postgres.js';

const root = fileURLToPath(new URL('..', import.meta.url));

function webBuildIsCurrent(): boolean {
  const built = join(root, 'dist/web/index.html');
  if (!existsSync(built)) return false;
  const builtAt = statSync(built).mtimeMs;
  const sources = [join(root, 'src/service/app-types.ts'), ...readdirSync(join(root, 'src/web'), { recursive: true, encoding: 'utf8' })
    .filter((name) => !name.startsWith('node_modules') && /\.(ts|vue|css|html)$/.test(name) && !name.endsWith('.d.ts'))
    .map((name) => join(root, 'src/web', name))];
  return sources.every((file) => statSync(file).mtimeMs <= builtAt);
}

export default async function setup(): Promise<() => Promise<void>> {
  const { caCertPath } = await ensureCertificates(TEST_CERT_DIR);
  process.env.NODE_EXTRA_CA_CERTS = caCertPath;
  const postgres = await startTestPostgres();
  process.env[TEST_PG_ENV] = postgres.url;
  if (!webBuildIsCurrent()) {
    const { build } = await import('vite');
    await build({ configFile: join(root, 'src/web/vite.config.ts'), logLevel: 'warn' });
  }
  return () => postgres.stop();
}
