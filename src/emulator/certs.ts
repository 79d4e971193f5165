// The emulator's own certificate authority and its server certificate for 127.0.0.1 (EC P-256, fast to make).
// Clients trust the CA through NODE_EXTRA_CA_CERTS=<certDir>/ca.pem; files are reused while valid.
import { X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { generate as generateCertificate } from 'selfsigned';

export interface EmulatorCertificates {
  caCertPath: string;
  key: string;
  cert: string;
}

const DAY = 24 * 3600 * 1000;

function writeAtomic(path: string, text: string, mode = 0o644): void {
  const tmp = `${path}.${process.pid}.${Date.now()}.tmp`;
  writeFileSync(tmp, text, { mode });
  renameSync(tmp, path);
}

function stillValid(pem: string, minRemainingMs: number): boolean {
  try {
    const cert = new X509Certificate(pem);
    return new Date(cert.validTo).getTime() - Date.now() > minRemainingMs;
  } catch {
    return false;
  }
}

function signedBy(pem: string, caPem: string): boolean {
  try {
    return new X509Certificate(pem).verify(new X509Certificate(caPem).publicKey);
  } catch {
    return false;
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Creates (or reuses) ca.pem/ca.key/server.pem/server.key in `certDir`; safe when several processes start at once. */
export async function ensureCertificates(certDir: string): Promise<EmulatorCertificates> {
  mkdirSync(certDir, { recursive: true });
  const lock = join(certDir, '.cert-lock');
  // Bounded wait for another process that is generating the same files; a lock older than 30 s is stale.
  for (let attempt = 0; ; attempt++) {
    try {
      mkdirSync(lock);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const stat = statSync(lock, { throwIfNoEntry: false });
      if (!stat) continue;
      if (attempt > 300 || Date.now() - stat.mtimeMs > 30_000) {
        rmSync(lock, { recursive: true, force: true });
        continue;
      }
      await sleep(50);
    }
  }
  try {
    return await ensureLocked(certDir);
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

/** selfsigned is loaded only when a certificate must be made: most starts reuse the files, and it is slow to load. */
async function generate(...args: Parameters<typeof generateCertificate>): ReturnType<typeof generateCertificate> {
  const selfsigned = await import('selfsigned');
  return selfsigned.generate(...args);
}

async function ensureLocked(certDir: string): Promise<EmulatorCertificates> {
  const caCertPath = join(certDir, 'ca.pem');
  const caKeyPath = join(certDir, 'ca.key');
  const serverCertPath = join(certDir, 'server.pem');
  const serverKeyPath = join(certDir, 'server.key');

  let caCert = existsSync(caCertPath) ? readFileSync(caCertPath, 'utf8') : '';
  let caKey = existsSync(caKeyPath) ? readFileSync(caKeyPath, 'utf8') : '';
  if (!caCert || !caKey || !stillValid(caCert, 30 * DAY)) {
    const now = new Date();
    const ca = await generate([{ name: 'commonName', value: 'Autosalon Bitrix24 emulator CA' }], {
      keyType: 'ec',
      curve: 'P-256',
      algorithm: 'sha256',
      notBeforeDate: new Date(now.getTime() - DAY),
      notAfterDate: new Date(now.getTime() + 3650 * DAY),
      extensions: [
        { name: 'basicConstraints', cA: true, critical: true },
        { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
      ],
    });
    caCert = ca.cert;
    caKey = ca.private;
    writeAtomic(caKeyPath, caKey, 0o600);
    writeAtomic(caCertPath, caCert);
  }

  let cert = existsSync(serverCertPath) ? readFileSync(serverCertPath, 'utf8') : '';
  let key = existsSync(serverKeyPath) ? readFileSync(serverKeyPath, 'utf8') : '';
  if (!cert || !key || !stillValid(cert, DAY) || !signedBy(cert, caCert)) {
    const now = new Date();
    const server = await generate([{ name: 'commonName', value: '127.0.0.1' }], {
      keyType: 'ec',
      curve: 'P-256',
      algorithm: 'sha256',
      notBeforeDate: new Date(now.getTime() - DAY),
      notAfterDate: new Date(now.getTime() + 825 * DAY),
      ca: { key: caKey, cert: caCert },
      extensions: [
        { name: 'basicConstraints', cA: false },
        { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
        { name: 'extKeyUsage', serverAuth: true },
        { name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }, { type: 2, value: 'localhost' }] },
      ],
    });
    cert = server.cert;
    key = server.private;
    writeAtomic(serverKeyPath, key, 0o600);
    writeAtomic(serverCertPath, cert);
  }
  return { caCertPath, key, cert };
}
