// Runs once before the test workers start: creates the shared test CA and trusts it in every worker. Node reads
// NODE_EXTRA_CA_CERTS only at process start, so it must be in the environment the workers are forked with.
import { ensureCertificates } from '../src/emulator/certs.js';
import { TEST_CERT_DIR } from './helpers/emulator.js';

export default async function setup(): Promise<void> {
  const { caCertPath } = await ensureCertificates(TEST_CERT_DIR);
  process.env.NODE_EXTRA_CA_CERTS = caCertPath;
}
