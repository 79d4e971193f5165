// Test support: an in-process emulator that uses the shared test CA (created once by test/global-setup.ts, trusted
// by every test worker through NODE_EXTRA_CA_CERTS).
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEmulator, type EmulatorOptions, type RunningEmulator } from '../../src/emulator/index.js';

/** Where the test CA and server certificate live (shared by all test runs on this machine). */
export const TEST_CERT_DIR = join(tmpdir(), 'autosalon-test-ca');

export function startTestEmulator(options: EmulatorOptions = {}): Promise<RunningEmulator> {
  return startEmulator({ certDir: TEST_CERT_DIR, ...options });
}

/** POSTs JSON to a REST method of the emulator (webhook auth) and returns status and body, without any client logic. */
export async function rawCall(
  emulator: Pick<RunningEmulator, 'webhookUrl'>,
  method: string,
  params: Record<string, unknown> = {},
): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${emulator.webhookUrl}${method}.json`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(params),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

export interface CapturedRequest { path: string; contentType: string; raw: string; form: Record<string, unknown> }

/**
 * A plain HTTP server on 127.0.0.1 that records what the emulator POSTs to app handlers (events, robot calls,
 * install events). `status` is what it answers (default 200).
 */
export async function startCaptureServer(): Promise<{ url: string; requests: CapturedRequest[]; status: number; close: () => Promise<void> }> {
  const { createServer } = await import('node:http');
  const qs = (await import('qs')).default;
  const requests: CapturedRequest[] = [];
  const state = { status: 200 };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      requests.push({ path: req.url ?? '', contentType: String(req.headers['content-type'] ?? ''), raw, form: qs.parse(raw, { depth: 10 }) as Record<string, unknown> });
      res.statusCode = state.status;
      res.end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${address.port}`,
    requests,
    get status() {
      return state.status;
    },
    set status(value: number) {
      state.status = value;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** Calls a REST method with an app's access token (OAuth auth= parameter). */
export async function appCall(
  emulator: Pick<RunningEmulator, 'origin'>,
  accessToken: string,
  method: string,
  params: Record<string, unknown> = {},
): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${emulator.origin}/rest/${method}.json`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ ...params, auth: accessToken }),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}
