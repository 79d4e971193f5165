// The automation service assembled: store, HTTP routes, worker, sweep. startService() is what `autosalon serve`,
// `npm start`, the benchmark and the tests run.
import type { PortalClientOptions } from '../portal/client.js';
import { loadTemplate, type Template } from '../template/index.js';
import { EffectUnknownError, PermanentActionError } from './actions.js';
import { ConfigError, settingsDefaults, type ServiceConfig } from './config.js';
import { appModeInstall, ledgerIds } from './installer.js';
import { InstallProgress } from './install-progress.js';
import { createLogger, type Logger } from './log.js';
import { isAuthorizationFailure, lastingProblem, PortalContext } from './portal-context.js';
import { itemOfJob, Processor, type InstallRunner } from './processor.js';
import { jobScope } from './rest-pipeline.js';
import { buildServer } from './server.js';
import { privateStateDir, serviceKeys } from './secret-key.js';
import { openServiceStore } from './store/open.js';
import { describeDatabase } from './store/describe.js';
import type { Job, ServiceStore } from './store/types.js';
import { sweepPortal, type SweepResult } from './sweep.js';
import { Worker } from './worker.js';

/**
 * Due jobs of one portal taken together. A job's next step is mostly one command, so 50 jobs fill one batch request
 * per step; more would only make the portal's other jobs wait longer for the batch to end.
 */
const WORKER_BATCH_JOBS = 50;
/** How soon (ms) the worker looks after another process queued jobs. */
const QUEUED_ELSEWHERE_WAKE_MS = 20;

export interface ServiceOptions {
  config: ServiceConfig;
  /** ms since epoch; drives the schedule, deadlines and sweeps. */
  clock?: () => number;
  template?: Template;
  store?: ServiceStore;
  /** The app-mode installer (default: src/install's). */
  install?: InstallRunner;
  log?: Logger;
  /** REST client settings (tests against an emulator without limits lift the client-side rate limit). */
  portalClient?: PortalClientOptions;
  /** The portal runs on this machine (the embedded emulator): without a public URL, the listening address is it. */
  localPortal?: boolean;
  /** Start the background worker and the periodic sweep (default true; tests drive them by hand). */
  background?: boolean;
}

export interface RunningService {
  /** http://127.0.0.1:PORT */
  url: string;
  /** What Bitrix24 is told to call. */
  publicUrl: string;
  store: ServiceStore;
  /** Runs every due job (bounded); returns how many ran. */
  drain(): Promise<number>;
  /** One reconciliation sweep of every portal. */
  sweep(): Promise<Record<string, SweepResult>>;
  close(): Promise<void>;
}

export async function startService(options: ServiceOptions): Promise<RunningService> {
  const { config } = options;
  const clock = options.clock ?? Date.now;
  const log = options.log ?? createLogger(config.logLevel);
  const template = options.template ?? loadTemplate();
  const store = options.store ?? await openStore(config, log);
  const contexts = new Map<string, PortalContext>();
  let publicUrl = config.publicUrl ?? '';

  /**
   * The portal's context, checked against the store on every use: the store is the source of truth for tokens, and
   * the installer CLI (--member-id) or another service process on this database may have renewed them, which spends
   * the refresh token a cached client holds. Then the context is built again from the stored pair.
   */
  async function context(memberId: string): Promise<PortalContext | undefined> {
    const portal = await store.getPortal(memberId);
    if (!portal || portal.installState === 'uninstalled') {
      contexts.delete(memberId);
      return undefined;
    }
    const cached = contexts.get(memberId);
    if (cached?.holdsTokensOf(portal) && cached.portal.tier === portal.tier) {
      // Settings changed by the administrator (CLI or application page) apply from the next job on.
      cached.takeUp(portal);
      return cached;
    }
    if (!config.app) throw new PermanentActionError('the service has no application credentials: set B24_APP_CLIENT_ID and B24_APP_CLIENT_SECRET');
    const access = {
      app: config.app, oauthUrl: config.oauthUrl, store, refreshMarginSeconds: config.tokenRefreshMarginSeconds, clientOptions: options.portalClient,
      batching: config.restBatching, log,
    };
    const ctx = new PortalContext(portal, access, template, clock, () => ledgerIds(config.stateDir, memberId));
    contexts.set(memberId, ctx);
    return ctx;
  }

  /** The tokens were renewed elsewhere after this process last built the portal's context. */
  async function renewedElsewhere(memberId: string): Promise<boolean> {
    const cached = contexts.get(memberId);
    const portal = await store.getPortal(memberId);
    return Boolean(cached && portal && !cached.holdsTokensOf(portal));
  }

  /** A job of the portal went through: a lasting problem recorded earlier is over. */
  async function portalWorks(memberId: string): Promise<void> {
    const ctx = contexts.get(memberId);
    if (!ctx?.portal.lastError) return;
    // Cleared first: the portal's other jobs running alongside do not clear and report it again.
    ctx.portal.lastError = undefined;
    ctx.portal.lastErrorAt = undefined;
    log.info(`portal ${ctx.portal.domain} (${memberId}) works again`);
    await store.updatePortal(memberId, { lastError: undefined, lastErrorAt: undefined });
  }

  /**
   * A job whose portal refused its authorisation because another process renewed the tokens while it ran (its
   * refresh token was spent in between) runs once more at once with the stored pair; jobs are safe to run again.
   */
  async function handle(job: Job): Promise<void> {
    try {
      await jobScope.run(job.id, async () => {
        try {
          await processor.handle(job);
          await portalWorks(job.memberId);
        } catch (error) {
          if (!isAuthorizationFailure(error) || !(await renewedElsewhere(job.memberId))) throw error;
          log.info(`job ${job.id} (${job.kind}, portal ${job.memberId}): the tokens were renewed by another process meanwhile; running it again with them`);
          await processor.handle(job);
        }
      });
    } finally {
      contexts.get(job.memberId)?.jobEnded(job.id);
    }
  }

  // Each portal's install as it runs, for the install page: the runner is told where to report.
  const progress = new InstallProgress(clock);
  const runner = options.install ?? appModeInstall;
  const trackedInstall: InstallRunner = async (client, o) => {
    const memberId = client.portalKey;
    progress.started(memberId);
    try {
      // One install of a portal at a time across the processes on the database (the installer's file lock is this
      // machine's only); another one running now means this job is tried again later.
      const installed = await store.exclusive('install', memberId, () => runner(client, {
        ...o, onProgress: (event) => progress.event(memberId, event), onReport: (report) => progress.finished(memberId, report),
      }));
      if (!installed.ran) throw new Error('another service process is installing the template into this portal now; this install is tried again later');
      return installed.value;
    } catch (error) {
      progress.failed(memberId, lastingProblem(error) ?? (error instanceof Error ? error.message : String(error)));
      throw error;
    }
  };

  const processor = new Processor({
    store, context, clock, log,
    install: config.app
      ? { run: trackedInstall, publicUrl: () => publicUrl || undefined, clientId: config.app.clientId, stateDir: config.stateDir }
      : undefined,
  });

  const worker = new Worker(store, handle, {
    clock,
    startDelayMs: config.workerStartDelayMs,
    pollMs: config.workerPollMs,
    concurrency: config.workerConcurrency,
    // Without batching, one job per portal at a time: each REST call is its own request, as before the pipeline.
    batchSize: config.restBatching ? WORKER_BATCH_JOBS : 1,
    serialKey: itemOfJob,
    // The template install changes what the rules read (pipelines, fields): no other job of the portal runs meanwhile.
    exclusive: (job) => job.kind === 'install',
    isPermanent: (error) => error instanceof PermanentActionError || lastingProblem(error) !== undefined,
    onError: (job, error, willRetry) => {
      const problem = lastingProblem(error);
      const message = problem ?? (error instanceof Error ? error.message : String(error));
      const what = job.id ? `job ${job.id} (${job.kind}, portal ${job.memberId})` : 'the queue';
      if (willRetry) log.warn(`${what} failed, will retry: ${message}`);
      else log.error(`${what} failed for good: ${message}`);
      // The portal is marked, so `autosalon portals`, /health and its administrator see what is wrong.
      if (problem) void store.updatePortal(job.memberId, { lastError: problem, lastErrorAt: clock() });
      if (job.kind === 'install' && !willRetry) {
        void store.updatePortal(job.memberId, { installState: 'failed', installError: message });
      }
      if (error instanceof EffectUnknownError) log.info(`${what}: the effect will be looked up before anything is created again`);
    },
  });

  const server = buildServer({
    config, store, template, clock, log, progress, context,
    publicUrl: () => publicUrl || undefined,
    onQueued: () => worker.wake(),
    onPortalChanged: (memberId) => contexts.delete(memberId),
  });

  await store.requeueRunning();
  // Events arriving at another process of the same database are work for this one too: it looks (at most every
  // QUEUED_ELSEWHERE_WAKE_MS, however many of them arrive).
  let wakeSoon: NodeJS.Timeout | undefined;
  store.onQueuedElsewhere(() => {
    wakeSoon ??= setTimeout(() => {
      wakeSoon = undefined;
      worker.wake();
    }, QUEUED_ELSEWHERE_WAKE_MS);
  });
  try {
    await server.listen({ host: config.host, port: config.port });
  } catch (error) {
    if (!options.store) await store.close();
    throw listenProblem(error, config) ?? error;
  }
  const address = server.server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const url = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;
  if (!publicUrl) {
    publicUrl = url;
    if (!options.localPortal) log.warn(`no public URL set (AUTOSALON_PUBLIC_URL / --public-url): Bitrix24 will be told to call ${url}, which only a local portal can reach`);
  }

  /**
   * One reconciliation sweep of every portal, each in one process at a time (processes sharing a database each run
   * the periodic sweep; a portal swept by another one within half an interval is left out by the periodic one).
   */
  async function sweep(periodic = false): Promise<Record<string, SweepResult>> {
    const out: Record<string, SweepResult> = {};
    for (const portal of await store.listPortals()) {
      // An awaiting portal has no template yet: its administrator starts the install from the install page.
      if (portal.installState === 'uninstalled' || portal.installState === 'awaiting') continue;
      try {
        const swept = await store.exclusive('sweep', portal.memberId, async () => {
          // Read again under the lock: its last sweep may be another process's, a moment ago.
          const ctx = await context(portal.memberId);
          if (!ctx || ctx.rules.length === 0) return undefined;
          const since = clock() - (ctx.portal.lastSweepAt ?? 0);
          if (periodic && since < (config.sweepIntervalSeconds * 1000) / 2) return undefined;
          return sweepPortal(ctx, store, clock(), config.sweepOverlapSeconds * 1000);
        });
        if (!swept.ran || !swept.value) continue;
        out[portal.memberId] = swept.value;
        if (swept.value.queued > 0) worker.wake();
      } catch (error) {
        log.warn(`sweep of ${portal.domain} failed, next time it covers this period too: ${(error as Error).message}`);
      }
    }
    return out;
  }

  let sweepTimer: NodeJS.Timeout | undefined;
  let pruneTimer: NodeJS.Timeout | undefined;
  let sweeping: Promise<unknown> | undefined;
  if (options.background !== false) {
    worker.start();
    // Finished jobs are kept a week for inspection; the idempotency keys and observations stay.
    pruneTimer = setInterval(() => {
      store.pruneJobs(clock() - 7 * 86_400_000).catch((error: Error) => log.warn(`pruning finished jobs failed: ${error.message}`));
    }, 3_600_000);
    pruneTimer.unref();
    if (config.sweepIntervalSeconds > 0) {
      sweepTimer = setInterval(() => {
        // The store failing (the database restarting) skips this sweep; the next one covers its period too.
        if (!sweeping) {
          sweeping = sweep(true)
            .catch((error: Error) => log.warn(`the sweep could not start, the next one covers this period too: ${error.message}`))
            .finally(() => (sweeping = undefined));
        }
      }, config.sweepIntervalSeconds * 1000);
      sweepTimer.unref();
    }
  }

  let closed = false;
  return {
    url,
    get publicUrl() {
      return publicUrl;
    },
    store,
    drain: () => worker.drain(),
    sweep,
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(sweepTimer);
      clearInterval(pruneTimer);
      clearTimeout(wakeSoon);
      await server.close();
      await worker.stop();
      await sweeping;
      await store.close();
    },
  };
}

/** The service database, or a message naming the file (or database) and the setting that chooses it. */
async function openStore(config: ServiceConfig, log: Logger): Promise<ServiceStore> {
  privateStateDir(config.stateDir);
  // A generated key suits one process and its file; processes sharing PostgreSQL must all be given the same one.
  const keys = serviceKeys(config, config.databaseUrl ? undefined : (file) => log.info(`a new secret key for the tokens at rest was written to ${file} (mode 0600): keep a copy; AUTOSALON_SECRET_KEY overrides it`));
  try {
    const { store } = await openServiceStore(config, {
      keys, settingsDefaults: settingsDefaults(config),
      onLockLost: (error) => log.warn(`the database connection holding this process's locks was lost (${error.message}): other processes may take over its portals; it goes on with a new one`),
    });
    if (store.tokensRotated) log.info('the tokens at rest were re-encrypted under AUTOSALON_SECRET_KEY: AUTOSALON_SECRET_KEY_PREVIOUS is no longer needed');
    return store;
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    const where = config.databaseUrl ? describeDatabase(config.databaseUrl) : config.dbFile;
    throw new ConfigError(config.databaseUrl
      ? `cannot open the service database ${where} (${(error as Error).message}): check AUTOSALON_DATABASE_URL`
      : `cannot open the service database ${where} (${(error as Error).message}): point AUTOSALON_DB (or --db) at a writable file of the service, or at a new one`);
  }
}

/** The address cannot be listened on: which one, and the settings that choose it. */
function listenProblem(error: unknown, config: ServiceConfig): ConfigError | undefined {
  const code = (error as NodeJS.ErrnoException).code;
  const address = `${config.host}:${config.port}`;
  if (code === 'EADDRINUSE') return new ConfigError(`the service's address ${address} is already in use by another process (another Autosalon service?): stop it, or choose another port with AUTOSALON_PORT (or --port of autosalon serve)`);
  if (code === 'EACCES') return new ConfigError(`no permission to listen on ${address}: choose a port above 1023 with AUTOSALON_PORT (or --port of autosalon serve)`);
  if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND') return new ConfigError(`${config.host} is not an address of this machine: set AUTOSALON_HOST to one (such as 127.0.0.1 or 0.0.0.0)`);
  return undefined;
}
