// `npm start` without a portal: the whole product on this machine. The embedded emulator plays the portal, the
// automation service runs beside it on 127.0.0.1, and the emulator installs the application into itself as an
// administrator would (ONAPPINSTALL posted to the service's install route); the service verifies the install,
// reads the plan from app.info and installs the template in app mode: robots, event bindings and the refusal process
// point at the service, so CRM changes in the emulator run the automation.
import { join } from 'node:path';
import { startEmulator, type RunningEmulator } from '../emulator/index.js';
import { embeddedDir } from '../install/embedded.js';
import { renderPlan, renderSummary } from '../install/index.js';
import { renderProgress } from '../install/render.js';
import { loadTemplate, type Lang } from '../template/index.js';
import { ConfigError, loadServiceConfig } from './config.js';
import { installForService, summarizeInstall } from './installer.js';
import { createLogger } from './log.js';
import type { InstallRunner } from './processor.js';
import { startService, type RunningService } from './service.js';
import { language, tr, withLanguage } from '../i18n/index.js';

/** The service's port beside the embedded emulator: stable, because the portal's robots and events point at it. */
export const EMBEDDED_SERVICE_PORT = 8944;
/** The application's code in the emulated portal; its credentials are found by it on the next start. */
const APP_CODE = 'autosalon';

export interface EmbeddedProductOptions {
  stateDir: string;
  emulatorPort: number;
  servicePort?: number;
  plan?: string;
  lang?: Lang;
  print?: (text: string) => void;
  printProgress?: (text: string) => void;
  /** How long to wait for the service to install the template. */
  installTimeoutMs?: number;
}

export interface EmbeddedProduct {
  emulator: RunningEmulator;
  service: RunningService;
  installed: boolean;
  close(): Promise<void>;
}

export async function startEmbeddedProduct(options: EmbeddedProductOptions): Promise<EmbeddedProduct> {
  const print = options.print ?? console.log;
  const progress = options.printProgress ?? console.error;
  const dir = embeddedDir(options.stateDir);
  const stateFile = join(dir, 'portal.json');
  const plan = options.plan ?? 'pro';
  let emulator: RunningEmulator;
  try {
    emulator = await startEmulator({ port: options.emulatorPort, stateFile, certDir: dir, plan });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      throw new ConfigError(`the emulator's port ${options.emulatorPort} is taken (another emulator running?): stop it, or pass --port N (--port 0 for a free one)`);
    }
    throw error;
  }

  // The application as the portal knows it: registered once, re-installed on every start (a new application token).
  let app = emulator.portal.state.apps.find((a) => a.code === APP_CODE);
  if (!app) {
    const registered = await emulator.control.installApp({ code: APP_CODE });
    app = emulator.portal.state.apps.find((a) => a.clientId === registered.clientId);
  }
  if (!app) throw new Error('the emulator did not keep the registered application');

  const template = loadTemplate();
  let done: (ok: boolean) => void = () => undefined;
  const finished = new Promise<boolean>((resolve) => (done = resolve));
  // The service's app-mode install, showing the plan and the result in the terminal — in the terminal's language
  // (the service would otherwise speak the portal's).
  const terminalLang = language();
  const install: InstallRunner = (client, o) => withLanguage(terminalLang, async () => {
    try {
      const report = await installForService(client, o, {
        template,
        lang: options.lang ?? o.lang,
        onProgress: (event) => {
          if (event.type === 'plan' && event.round === 1) {
            print(renderPlan(event.plan, template, { target: tr().cli.start.target(emulator.origin), tierSource: tr().cli.start.tierSource(plan) }));
            print('');
            return;
          }
          const line = renderProgress(event);
          if (line) progress(line);
        },
      });
      print(renderSummary(report));
      done(report.failed.length === 0);
      return summarizeInstall(report);
    } catch (error) {
      done(false);
      throw error;
    }
  });

  const fromEnv = process.env.AUTOSALON_PORT?.trim() ? loadServiceConfig(process.env).port : undefined;
  // An emulator on a free port (--port 0) gets a service on a free port too.
  const port = options.servicePort ?? fromEnv ?? (options.emulatorPort === 0 ? 0 : EMBEDDED_SERVICE_PORT);
  const config = loadServiceConfig(process.env, {
    host: '127.0.0.1',
    port,
    dbFile: join(options.stateDir, 'service.sqlite'),
    stateDir: options.stateDir,
    oauthUrl: emulator.oauthUrl,
    app: { clientId: app.clientId, clientSecret: app.clientSecret },
    sweepIntervalSeconds: 60,
  });
  // The emulator accepts handlers on 127.0.0.1: the service's own address is the public URL here (a free port's
  // address is known once it listens).
  config.publicUrl = port ? `http://127.0.0.1:${port}` : undefined;
  let service: RunningService;
  try {
    service = await startService({ config, install, log: createLogger(config.logLevel), localPortal: true });
  } catch (error) {
    // A taken port or an unusable database is a ConfigError naming the setting to change.
    await emulator.close();
    throw error;
  }

  progress(tr().cli.start.installing(service.url));
  // Installed headless (the install event), with its application page, so a person can open it in the portal's shell.
  const installed = await emulator.control.installApp({ clientId: app.clientId, handlerUrl: `${service.url}/install`, pageUrl: `${service.url}/app`, name: 'Автосалон' });
  if (installed.installDelivery?.httpStatus !== 200) {
    await service.close();
    await emulator.close();
    throw new Error(tr().cli.start.notAccepted(installed.installDelivery?.error ?? `HTTP ${installed.installDelivery?.httpStatus}`));
  }
  const timeout = new Promise<boolean>((resolve) => setTimeout(() => resolve(false), options.installTimeoutMs ?? 120_000).unref());
  const ok = await Promise.race([finished, timeout]);

  print('');
  print(tr().cli.start.addresses(emulator.portalUrl, emulator.caCertPath, emulator.origin, stateFile, emulator.controlUrl, emulator.oauthUrl, service.url, config.dbFile));

  return {
    emulator,
    service,
    installed: ok,
    async close() {
      await service.close();
      await emulator.close();
    },
  };
}
