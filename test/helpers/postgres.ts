// A real PostgreSQL server for the tests and the benchmark: Debian's postgresql package (initdb, pg_ctl), a new
// cluster in a temporary directory, listening on 127.0.0.1 on a free port, started once and stopped afterwards.
// initdb refuses to run as root, so as root the server runs as the `postgres` system user (which the package
// creates); otherwise as the current user. Durability is off (fsync, synchronous_commit) unless asked for: the data is
// thrown away.
import { execFileSync, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

export interface TestPostgres {
  /** postgres://… of the server's maintenance database (postgres), as its superuser. */
  url: string;
  stop(): Promise<void>;
}

/** The environment variable the test workers find the server in (set by test/global-setup.ts). */
export const TEST_PG_ENV = 'AUTOSALON_TEST_PG_URL';

/** initdb and pg_ctl: PG_BIN, else the newest Debian postgresql package, else pg_config --bindir. */
export function postgresBinDir(): string | undefined {
  if (process.env.PG_BIN && existsSync(join(process.env.PG_BIN, 'initdb'))) return process.env.PG_BIN;
  const debian = '/usr/lib/postgresql';
  if (existsSync(debian)) {
    const versions = readdirSync(debian).filter((v) => existsSync(join(debian, v, 'bin', 'initdb'))).sort((a, b) => Number(b) - Number(a));
    if (versions.length) return join(debian, versions[0], 'bin');
  }
  const bindir = spawnSync('pg_config', ['--bindir'], { encoding: 'utf8' });
  const dir = bindir.status === 0 ? bindir.stdout.trim() : '';
  return dir && existsSync(join(dir, 'initdb')) ? dir : undefined;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

/** `durable`: commits wait for the disk (fsync, synchronous commit), as a production server's do — for the bench. */
export async function startTestPostgres(options: { durable?: boolean } = {}): Promise<TestPostgres> {
  const bin = postgresBinDir();
  if (!bin) throw new Error('PostgreSQL server binaries (initdb, pg_ctl) were not found: install Debian\'s postgresql package (apt-get install postgresql) or set PG_BIN');
  const asRoot = process.getuid?.() === 0;
  const dir = mkdtempSync(join(tmpdir(), 'autosalon-pg-'));
  const data = join(dir, 'data');
  // The server's own user must own its directories; nobody else needs them.
  const owner = asRoot ? Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' })) : undefined;
  const group = asRoot ? Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' })) : undefined;
  if (owner !== undefined && group !== undefined) chownSync(dir, owner, group);
  const run = (command: string, args: string[]) => {
    const file = join(bin, command);
    const r = asRoot ? spawnSync('runuser', ['-u', 'postgres', '--', file, ...args], { encoding: 'utf8', cwd: dir }) : spawnSync(file, args, { encoding: 'utf8', cwd: dir });
    if (r.status !== 0) throw new Error(`${command} failed (${r.status}): ${r.stderr || r.stdout}`);
  };
  const user = 'autosalon';
  const passwordFile = join(dir, 'pw');
  const password = 'test';
  writeFileSync(passwordFile, `${password}\n`, { mode: 0o600 });
  if (owner !== undefined && group !== undefined) chownSync(passwordFile, owner, group);
  run('initdb', ['-D', data, '-U', user, '--auth=scram-sha-256', `--pwfile=${passwordFile}`, '-E', 'UTF8', '--locale=C', '--no-sync']);
  const port = await freePort();
  const serverOptions = [
    `-c listen_addresses=127.0.0.1`, `-c port=${port}`, `-c unix_socket_directories=${dir}`,
    ...(options.durable ? [] : ['-c fsync=off', '-c synchronous_commit=off', '-c full_page_writes=off']),
    '-c max_connections=300', '-c shared_buffers=64MB',
  ].join(' ');
  run('pg_ctl', ['-D', data, '-l', join(dir, 'server.log'), '-o', serverOptions, '-w', '-t', '60', 'start']);
  const url = `postgres://${user}:${password}@127.0.0.1:${port}/postgres`;
  let stopped = false;
  return {
    url,
    async stop() {
      if (stopped) return;
      stopped = true;
      try {
        run('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']);
      } finally {
        if (process.env.AUTOSALON_TEST_PG_LOG) console.error(readFileSync(join(dir, 'server.log'), 'utf8'));
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}

let counter = 0;

/**
 * A new, empty database on the test server, for one test (its name is unique in this process and run): the URL of
 * the server with that database. The server is the one test/global-setup.ts started.
 */
export async function createTestDatabase(serverUrl = process.env[TEST_PG_ENV]): Promise<string> {
  if (!serverUrl) throw new Error(`${TEST_PG_ENV} is not set: the PostgreSQL tests need the server test/global-setup.ts starts`);
  const name = `t_${process.pid}_${Date.now().toString(36)}_${++counter}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return url.toString();
}
