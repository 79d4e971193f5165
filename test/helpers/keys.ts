// A fixed secret key for test databases (tokens at rest are encrypted with it).
import type { SecretKeys } from '../../src/service/store/secrets.js';

export const TEST_KEY = Buffer.alloc(32, 7);
export const testKeys = (): SecretKeys => ({ current: TEST_KEY, previous: [] });
