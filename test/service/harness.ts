// The whole product in one test process: an emulated portal, the automation service, the application installed
// into the portal through the emulator's control API (as an administrator would), the template installed by the
// service in app mode. One clock drives both, so "+1 h" is a call, not a wait.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EmulatedPortal, EmulatorOptions, InstalledApp, RunningEmulator } from '../../src/emulator/index.js';
import { PortalClient } from '../../src/portal/client.js';
import { loadServiceConfig, type ConfigOverrides, type ServiceConfig } from '../../src/service/config.js';
import { createLogger } from '../../src/service/log.js';
import { startService, type RunningService, type ServiceOptions } from '../../src/service/service.js';
import type { PortalRecord } from '../../src/service/store/types.js';
import { startTestEmulator } from '../helpers/emulator.js';
import { TEST_KEY } from '../helpers/keys.js';
import { createTestDatabase } from '../helpers/postgres.js';
import type { BackendName } from '../helpers/stores.js';

export const START = Date.parse('2027-01-15T09:00:00+03:00');

export interface Stack {
  emulator: RunningEmulator;
  service: RunningService;
  app: InstalledApp;
  /** The admin's incoming webhook: what a user does in the UI, done over REST. */
  user: PortalClient;
  /** Every portal of the emulator with the application installed on it (portal 1 first) and its admin's webhook. */
  portals: { portal: EmulatedPortal; app: InstalledApp; user: PortalClient }[];
  dir: string;
  config: ServiceConfig;
  /** The portal as the service stores it, tokens included. */
  portal(): Promise<PortalRecord>;
  now(): number;
  advance(ms: number): Promise<void>;
  /** Until every delivery is made and every due job has run (bounded). */
  settle(): Promise<void>;
  /** Restarts the service on the same database (a crash when `kill`, else a clean stop). */
  restart(options?: Partial<ServiceOptions>): Promise<void>;
  /** A second service process on the same database (own port, own portal clients); closed with the stack. */
  startPeer(options?: Partial<ServiceOptions>): Promise<RunningService>;
  close(): Promise<void>;
}

export interface StackOptions {
  emulator?: EmulatorOptions;
  config?: ConfigOverrides;
  service?: Partial<ServiceOptions>;
  /** Install the template (default true). */
  install?: boolean;
  /** The portal's clock at the start (default START). */
  start?: number;
  /** The scopes the application is installed with (default: all the emulator has). */
  appScope?: string[];
  /** The service's database: an SQLite file (default), or a new database on the test PostgreSQL server. */
  backend?: BackendName;
}

export async function startStack(options: StackOptions = {}): Promise<Stack> {
  let base = options.start ?? START;
  const emulator = await startTestEmulator({ clock: () => base, limits: false, ...options.emulator });
  const now = () => emulator.control.now();
  const registered = await emulator.control.installApp({});
  const dir = mkdtempSync(join(tmpdir(), 'autosalon-service-e2e-'));
  // Processes sharing PostgreSQL are given the key (none is generated for them).
  const database = options.backend === 'PostgreSQL' ? { databaseUrl: await createTestDatabase(), secretKey: TEST_KEY } : {};
  const config = loadServiceConfig({}, {
    port: 0, dbFile: join(dir, 'service.sqlite'), stateDir: dir, oauthUrl: emulator.oauthUrl, ...database,
    app: { clientId: registered.clientId, clientSecret: registered.clientSecret }, logLevel: 'silent', sweepIntervalSeconds: 0,
    ...options.config,
    automation: { supervisorUserId: 1, ...options.config?.automation },
  });
  const log = process.env.AUTOSALON_TEST_LOG ? createLogger('debug') : createLogger('silent');
  // The emulator runs without limits here, so the client's own throttle (2 requests/s after 50) is lifted too.
  const portalClient = { rateLimit: { burstLimit: 100_000, drainRate: 10_000 }, retry: { minDelayMs: 10, maxDelayMs: 100 } };
  let service = await startService({ config, clock: now, background: false, log, portalClient, localPortal: true, ...options.service });
  // One application (one client id) installed on every portal of the emulator, as from the Market.
  const portals: Stack['portals'] = [];
  for (const portal of emulator.portals) {
    const installed = await portal.control.installApp({ clientId: registered.clientId, handlerUrl: `${service.url}/install`, scope: options.appScope });
    if (installed.installDelivery?.httpStatus !== 200) {
      throw new Error(`the service refused the install: ${JSON.stringify(installed.installDelivery)}`);
    }
    // The user's side is unthrottled too: with the default budget every request after the first 50 waits half a second.
    portals.push({ portal, app: installed, user: PortalClient.fromWebhook(portal.webhookUrl, portalClient) });
  }
  const { app, user } = portals[0];

  async function settle(): Promise<void> {
    for (let round = 0; round < 30; round++) {
      for (const p of emulator.portals) await p.control.waitForDeliveries();
      const ran = await service.drain();
      if (ran === 0 && emulator.portals.every((p) => p.control.stats().pendingDeliveries === 0)) return;
    }
    throw new Error('the service and the emulator kept producing work for 30 rounds');
  }

  if (options.install !== false) await settle();
  const peers: RunningService[] = [];

  return {
    emulator, app, user, portals, dir, config, now,
    async portal() {
      const stored = await service.store.getPortal(emulator.memberId);
      if (!stored) throw new Error('the service has no record of the portal');
      return stored;
    },
    get service() {
      return service;
    },
    async advance(ms: number) {
      base += ms;
    },
    settle,
    async restart(restartOptions = {}) {
      await service.close();
      // Same port: the event bindings and robot handlers registered at install keep pointing at the service.
      const port = Number(new URL(service.url).port);
      service = await startService({ config: { ...config, port }, clock: now, background: false, log, portalClient, localPortal: true, ...options.service, ...restartOptions });
    },
    async startPeer(peerOptions = {}) {
      const peer = await startService({ config: { ...config, port: 0 }, clock: now, background: false, log, portalClient, localPortal: true, ...options.service, ...peerOptions });
      peers.push(peer);
      return peer;
    },
    async close() {
      for (const peer of peers) await peer.close();
      await service.close();
      await emulator.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
