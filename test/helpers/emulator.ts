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
