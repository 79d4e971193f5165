// The store is the source of truth for a portal's tokens. A refresh token is spent once exchanged, so when the
// installer CLI (--member-id) or a second service process on the same database renews the pair, a running service
// must take the stored pair up instead of renewing its own (already spent) one and being locked out.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openSession } from '../../src/install/session.js';
import { SqliteStore } from '../../src/service/store/sqlite.js';
import type { PortalRecord } from '../../src/service/store/types.js';
import { BACKENDS } from '../helpers/stores.js';
import { startStack, type Stack } from '../service/harness.js';
import { secretKeyFile } from '../../src/service/secret-key.js';
import { TEST_KEY, testKeys } from '../helpers/keys.js';

const MANAGER = 3;

/** What `autosalon verify --member-id` does with expired tokens: renews them and writes the new pair to the store. */
async function renewLikeTheCli(s: Stack, memberId: string): Promise<void> {
  const url = s.config.databaseUrl;
  // With PostgreSQL the CLI finds the database and the key in the environment, as the service's processes do.
  const env = url ? { ...process.env, AUTOSALON_DATABASE_URL: url, AUTOSALON_SECRET_KEY: TEST_KEY.toString('base64') } : process.env;
  const session = await openSession({
    memberId, dbFile: url ? undefined : s.config.dbFile, stateDir: s.config.stateDir, clientId: s.app.clientId, clientSecret: s.app.clientSecret,
    oauthUrl: s.emulator.oauthUrl,
  }, {}, env);
  try {
    await session.client.call('app.info');
  } finally {
    await session.close();
  }
}

async function newLead(s: Stack, title: string): Promise<void> {
  await s.user.call('crm.lead.add', { fields: { TITLE: title, SOURCE_ID: 'WEB', ASSIGNED_BY_ID: MANAGER } });
}

const notified = (s: Stack, title: string) => s.emulator.control.collection('notifications').filter((n) => n.message === `Новый лид: ${title}`);

/** Every job that ran succeeded at its first attempt: none failed, none waits for a retry (scheduled checks wait). */
async function expectNoRetries(s: Stack): Promise<void> {
  const jobs = await s.service.store.listJobs();
  expect(jobs.filter((j) => j.status === 'failed' || j.attempts > 1 || j.lastError)).toEqual([]);
  expect(jobs.filter((j) => j.status === 'done').length).toBeGreaterThan(0);
}

describe('tokens renewed outside the running service', () => {
  describe.each(BACKENDS)('on %s', (backend) => {
    it('a pair the installer CLI renewed and stored (--member-id) is taken up: the service is not locked out', async () => {
      const s = await startStack({ backend });
      try {
        const before = await s.portal();
        s.emulator.control.expireAccessTokens(s.app.clientId);
        await renewLikeTheCli(s, before.memberId);
        const renewed = await s.portal();
        expect(renewed.refreshToken).not.toBe(before.refreshToken);

        // The service's own access token expires too: renewing the refresh token it was started with would fail.
        s.emulator.control.expireAccessTokens(s.app.clientId);
        await newLead(s, 'После verify');
        await s.settle();
        expect(notified(s, 'После verify')).toHaveLength(1);
        await expectNoRetries(s);
        const after = await s.portal();
        expect(after.refreshToken).not.toBe(renewed.refreshToken);
      } finally {
        await s.close();
      }
    }, 120_000);

    it('two service processes on one database: each takes up the pair the other renewed', async () => {
      const s = await startStack({ backend });
      try {
        const peer = await s.startPeer();
        // The peer works for the portal first, so it holds a client with the stored pair.
        await newLead(s, 'Первый');
        await s.emulator.control.waitForDeliveries();
        expect(await peer.drain()).toBeGreaterThan(0);
        expect(notified(s, 'Первый')).toHaveLength(1);

        s.emulator.control.expireAccessTokens(s.app.clientId);
        await newLead(s, 'Второй');
        await s.emulator.control.waitForDeliveries();
        expect(await s.service.drain()).toBeGreaterThan(0);
        expect(notified(s, 'Второй')).toHaveLength(1);

        // The first service renewed the pair; the peer's refresh token is spent.
        s.emulator.control.expireAccessTokens(s.app.clientId);
        await newLead(s, 'Третий');
        await s.emulator.control.waitForDeliveries();
        expect(await peer.drain()).toBeGreaterThan(0);
        expect(notified(s, 'Третий')).toHaveLength(1);
        await expectNoRetries(s);
      } finally {
        await s.close();
      }
    }, 120_000);
  });

  it('a renewal by another process while a job runs: the job runs again at once with the stored pair', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'autosalon-tokens-race-'));
    // The service's key file, where the CLI looks for it.
    writeFileSync(secretKeyFile(dir), TEST_KEY.toString('base64'), { mode: 0o600 });
    const store = await SqliteStore.open(join(dir, 'service.sqlite'), { keys: testKeys() });
    /** Another process renews the tokens right after this one read them for a job. */
    let renewAfterNextRead: (() => Promise<void>) | undefined;
    const read = store.getPortal.bind(store);
    store.getPortal = async (memberId: string): Promise<PortalRecord | undefined> => {
      const portal = await read(memberId);
      const renew = renewAfterNextRead;
      renewAfterNextRead = undefined;
      await renew?.();
      return portal;
    };
    const s = await startStack({ config: { dbFile: store.file, stateDir: dir }, service: { store } });
    try {
      const [before] = await store.listPortals();
      s.emulator.control.expireAccessTokens(s.app.clientId);
      await newLead(s, 'Во время обновления');
      await s.emulator.control.waitForDeliveries();
      renewAfterNextRead = () => renewLikeTheCli(s, before.memberId);
      await s.settle();
      expect(renewAfterNextRead).toBeUndefined();
      expect(notified(s, 'Во время обновления')).toHaveLength(1);
      await expectNoRetries(s);
    } finally {
      await s.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
