// The portal's life around the automation: expired tokens refreshed through the configured OAuth server, an
// uninstall that silences the portal, and a base-tier portal that gets no automation.
import { describe, expect, it } from 'vitest';
import { BACKENDS } from '../helpers/stores.js';
import { startStack } from '../service/harness.js';

const MANAGER = 3;

// On both backends of the service's state.
describe.each(BACKENDS)('the portal\'s life on %s', (backend) => {
  describe('tokens', () => {
    it('an access token the portal calls expired is refreshed through the OAuth server and the new pair is stored', async () => {
      const s = await startStack({ backend });
      try {
        const before = (await s.portal());
        expect(s.emulator.control.expireAccessTokens(s.app.clientId)).toBeGreaterThan(0);
        await s.user.call('crm.lead.add', { fields: { TITLE: 'После истечения токена', SOURCE_ID: 'WEB', ASSIGNED_BY_ID: MANAGER } });
        await s.settle();
        expect(s.emulator.control.collection('notifications').filter((n) => n.message === 'Новый лид: После истечения токена')).toHaveLength(1);
        const after = (await s.portal());
        expect(after.accessToken).not.toBe(before.accessToken);
        expect(after.refreshToken).not.toBe(before.refreshToken);
        expect(after.expires).toBeGreaterThan(Math.floor(s.now() / 1000));

        // A restarted service starts from the stored pair.
        await s.restart();
        await s.user.call('crm.lead.add', { fields: { TITLE: 'После перезапуска', SOURCE_ID: 'WEB', ASSIGNED_BY_ID: MANAGER } });
        await s.settle();
        expect(s.emulator.control.collection('notifications').filter((n) => n.message === 'Новый лид: После перезапуска')).toHaveLength(1);
      } finally {
        await s.close();
      }
    }, 120_000);

    it('two hours on, every token expired by the portal clock: expired_token, refresh, the call repeated', async () => {
      const s = await startStack({ backend });
      try {
        await s.advance(2 * 3_600_000);
        await s.user.call('crm.lead.add', { fields: { TITLE: 'Через два часа', SOURCE_ID: 'CALL', ASSIGNED_BY_ID: MANAGER } });
        await s.settle();
        expect(s.emulator.control.collection('notifications').filter((n) => n.message === 'Новый лид: Через два часа')).toHaveLength(1);
        expect(await s.service.store.listJobs({ status: 'failed' })).toEqual([]);
      } finally {
        await s.close();
      }
    }, 120_000);

    it('a stored token whose expiry has passed (a service that was down) is refreshed before it is used', async () => {
      const s = await startStack({ backend });
      try {
        const before = await s.portal();
        // The SDK judges expiry by the wall clock (the test's portal clock runs in 2027).
        await s.service.store.updateTokens(before.memberId, { ...before, expires: Math.floor(Date.now() / 1000) - 60 });
        await s.restart();
        await s.user.call('crm.lead.add', { fields: { TITLE: 'После простоя', SOURCE_ID: 'CALL', ASSIGNED_BY_ID: MANAGER } });
        await s.settle();
        expect(s.emulator.control.collection('notifications').filter((n) => n.message === 'Новый лид: После простоя')).toHaveLength(1);
        // The portal would still have taken the old access token: only a refresh made in advance changes the pair.
        const after = await s.portal();
        expect(after.accessToken).not.toBe(before.accessToken);
      } finally {
        await s.close();
      }
    }, 120_000);
  });

  describe('uninstall', () => {
    it('ONAPPUNINSTALL forgets the portal; its later calls get 401 and cause nothing', async () => {
      const s = await startStack({ backend });
      try {
        const [delivery] = await s.emulator.control.uninstallApp(s.app.clientId);
        expect(delivery).toMatchObject({ event: 'ONAPPUNINSTALL', status: 'delivered', httpStatus: 200 });
        expect((await s.portal())).toMatchObject({ installState: 'uninstalled', accessToken: '', refreshToken: '', applicationToken: '' });
        const r = await fetch(`${s.service.url}/events`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({
            event: 'ONCRMLEADADD', 'data[FIELDS][ID]': '1', 'auth[member_id]': s.emulator.memberId, 'auth[application_token]': s.app.applicationToken,
          }),
        });
        expect(r.status).toBe(401);
      } finally {
        await s.close();
      }
    }, 120_000);
  });

  describe('a base-tier portal', () => {
    it('gets the configuration from its plan and no automation', async () => {
      const s = await startStack({ backend, emulator: { plan: 'basic' } });
      try {
        expect((await s.portal())).toMatchObject({ tier: 'base', plan: 'basic', installState: 'installed' });
        await s.user.call('crm.lead.add', { fields: { TITLE: 'Базовый тариф', SOURCE_ID: 'WEB', ASSIGNED_BY_ID: MANAGER } });
        await s.settle();
        expect(s.emulator.control.collection('notifications')).toEqual([]);
        expect(s.emulator.control.collection('robots')).toEqual([]);
      } finally {
        await s.close();
      }
    }, 120_000);
  });
});
