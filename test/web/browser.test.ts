// The Market application in a real browser (Debian's Chromium driven by playwright-core, one browser for every test
// here), inside the emulated Bitrix24 portal's shell, against the service started in this process: an administrator
// installs from the shell (progress, result, installFinish), a non-admin gets the read-only view, a setting saved in
// the UI changes only that portal's automation, a re-call row opens the deal in the shell's slider, the charts show
// a seeded portal's data, an install without the crm permission shows why it failed, and every error route is an
// HTML page in Russian. The parent side of the frame protocol is also checked against the SDK's own build (a probe
// application). Screenshots of each page go to test-artifacts/screenshots/ (printed at the end).
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Frame, type FrameLocator, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EmulatedPortal, InstalledApp, RunningEmulator } from '../../src/emulator/index.js';
import { PortalClient } from '../../src/portal/client.js';
import { loadServiceConfig } from '../../src/service/config.js';
import { appModeInstall } from '../../src/service/installer.js';
import { createLogger } from '../../src/service/log.js';
import type { InstallRunner } from '../../src/service/processor.js';
import { startService, type RunningService } from '../../src/service/service.js';
import { startTestEmulator } from '../helpers/emulator.js';
import { seedActivity, type Seeded } from '../helpers/seed-activity.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CHROMIUM = process.env.AUTOSALON_CHROMIUM ?? '/usr/bin/chromium';
const SHOTS = join(ROOT, 'test-artifacts', 'screenshots');
const START = Date.parse('2027-01-15T09:00:00+03:00');
/** The application frame is 1280 px wide: the shell's menu and margins take the rest of the window. */
const VIEWPORT = { width: 1548, height: 1000 };
const MANAGER = 3;
/** How long a page may take to show what is expected (playwright-core has no web-first assertions: vitest polls). */
const POLL = { timeout: 15_000, interval: 100 };

let browser: Browser;
let context: BrowserContext;
let emulator: RunningEmulator;
let service: RunningService;
let probe: Server;
let probeUrl = '';
let dir = '';
let base = START;
let registered: InstalledApp;
const shots: string[] = [];
const timings: string[] = [];
/** Holds the install before its next batch until released: the page's progress can be seen mid-way. */
const gate = { armed: false, release: () => undefined as void, waiting: Promise.resolve() };

const portal = (n: number): EmulatedPortal => emulator.portals[n];
const unthrottled = { rateLimit: { burstLimit: 100_000, drainRate: 10_000 }, retry: { minDelayMs: 10, maxDelayMs: 100 } };
const webhook = (n: number) => PortalClient.fromWebhook(portal(n).webhookUrl, unthrottled);

/** An expression evaluated in the page (a string: this program is type-checked without the browser's globals). */
const inBrowser = <T = unknown>(target: Page | Frame, expression: string) => target.evaluate(expression) as Promise<T>;
/** The commands the portal shell received from the application frame (frame-host.js keeps them). */
const shellLog = async (page: Page) => (await inBrowser<{ command: string }[]>(page, 'window.__portal.log')).map((e) => e.command);

/** app.info's INSTALLED for the application on portal n (with the token of its install). */
async function appInstalled(n: number): Promise<boolean> {
  const answer = (await (await fetch(`${portal(n).origin}/rest/app.info?auth=${installs[n].accessToken}`)).json()) as { result: { INSTALLED: boolean } };
  return answer.result.INSTALLED;
}

/**
 * A screenshot of the whole page. The application's frame is another process (another origin), whose content Chromium
 * paints only inside the window: the window is made as tall as the page for the shot.
 */
async function shot(page: Page, name: string): Promise<void> {
  const path = join(SHOTS, `${name}.png`);
  const height = Math.min(6000, await inBrowser<number>(page, 'document.documentElement.scrollHeight'));
  if (height > VIEWPORT.height) {
    await page.setViewportSize({ width: VIEWPORT.width, height });
    await page.waitForTimeout(200);
  }
  await page.screenshot({ path });
  if (height > VIEWPORT.height) await page.setViewportSize(VIEWPORT);
  shots.push(path);
}

/** Until every delivery is made and every due job has run. */
async function settle(): Promise<void> {
  for (let round = 0; round < 30; round++) {
    await Promise.all(emulator.portals.map((p) => p.control.waitForDeliveries()));
    const ran = await service.drain();
    if (ran === 0 && emulator.portals.every((p) => p.control.stats().pendingDeliveries === 0)) return;
  }
  throw new Error('the service and the emulator kept producing work for 30 rounds');
}

/** The shell's page of the application on portal n as user u, and the application's frame. */
async function openApp(n: number, user = 1, app: InstalledApp = installs[n]): Promise<{ page: Page; frame: FrameLocator }> {
  const page = await context.newPage();
  await page.goto(`${app.appUrl}?user=${user}`);
  return { page, frame: page.frameLocator('#app-frame') };
}

/** The installer's runner, with the gate before a batch while it is armed. */
const gatedInstall: InstallRunner = (client, options) => {
  const batch = client.batch.bind(client);
  let hold = false;
  client.batch = async (...args: Parameters<typeof batch>) => {
    if (hold) {
      hold = false;
      await gate.waiting;
    }
    return batch(...args);
  };
  return appModeInstall(client, {
    ...options,
    onProgress: (event) => {
      options.onProgress?.(event);
      if (event.type === 'batch' && gate.armed) {
        gate.armed = false;
        hold = true;
      }
    },
  });
};

function armGate(): void {
  gate.armed = true;
  gate.waiting = new Promise<void>((resolve) => (gate.release = resolve));
}

const installs: InstalledApp[] = [];

/** Installs the application on portal n the way an administrator does: the install page, the button, installFinish. */
async function installThroughShell(n: number, screenshots?: string): Promise<void> {
  const { page, frame } = await openApp(n);
  await frame.getByTestId('install-start').click();
  await frame.getByTestId('install-finish').waitFor({ timeout: 20_000 });
  if (screenshots) await shot(page, screenshots);
  await frame.getByTestId('install-finish').click();
  await frame.getByTestId('app-page').waitFor({ timeout: 20_000 });
  await page.close();
}

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM}: install Debian's (apt-get install -y chromium) or set AUTOSALON_CHROMIUM`);
  rmSync(SHOTS, { recursive: true, force: true });
  mkdirSync(SHOTS, { recursive: true });
  dir = mkdtempSync(join(tmpdir(), 'autosalon-browser-'));
  const launching = chromium.launch({
    executablePath: CHROMIUM, headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  emulator = await startTestEmulator({
    clock: () => base, limits: false,
    portals: [{ language: 'ru' }, { language: 'en', timeZone: 'Europe/London' }, { language: 'ru' }],
  });
  registered = await emulator.control.installApp({ code: 'autosalon' });
  const config = loadServiceConfig({}, {
    port: 0, dbFile: join(dir, 'service.sqlite'), stateDir: dir, oauthUrl: emulator.oauthUrl, logLevel: 'silent', sweepIntervalSeconds: 0,
    workerPollMs: 20, app: { clientId: registered.clientId, clientSecret: registered.clientSecret }, automation: { supervisorUserId: 1 },
  });
  service = await startService({ config, clock: () => base, portalClient: unthrottled, localPortal: true, install: gatedInstall, log: createLogger(process.env.AUTOSALON_TEST_LOG ? 'debug' : 'silent') });
  const pages = { pageUrl: `${service.url}/app`, installPageUrl: `${service.url}/install`, name: 'Автосалон' };
  installs[0] = await portal(0).control.installApp({ clientId: registered.clientId, ...pages });
  installs[1] = await portal(1).control.installApp({ clientId: registered.clientId, ...pages });
  // Portal 3 gives the application every permission but crm.
  installs[2] = await portal(2).control.installApp({ clientId: registered.clientId, ...pages, scope: ['bizproc', 'im', 'task', 'user', 'department'] });

  // The probe: a page that loads the SDK's own browser build, for the frame protocol's contract tests.
  const sdk = readFileSync(join(ROOT, 'node_modules/@bitrix24/b24jssdk/dist/umd/index.min.js'));
  probe = createServer((req, res) => {
    req.resume();
    if (req.url?.startsWith('/sdk.js')) return void res.writeHead(200, { 'content-type': 'text/javascript' }).end(sdk);
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(`<!doctype html><html><body><div id="probe">probe</div><script src="/sdk.js"></script>
<script>B24Js.initializeB24Frame().then((b24) => { window.__b24 = b24; document.getElementById('probe').dataset.ready = 'yes'; });</script></body></html>`);
  });
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  probeUrl = `http://127.0.0.1:${(probe.address() as { port: number }).port}`;

  browser = await launching;
  context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: VIEWPORT, acceptDownloads: true });
  context.setDefaultTimeout(15_000);
}, 120_000);

afterAll(async () => {
  await context?.close();
  await browser?.close();
  await service?.close();
  await emulator?.close();
  await new Promise((resolve) => (probe ? probe.close(resolve) : resolve(undefined)));
  rmSync(dir, { recursive: true, force: true });
  if (shots.length) console.log(`Screenshots (${shots.length}) in ${SHOTS}:\n  ${shots.map((s) => s.slice(SHOTS.length + 1)).join('\n  ')}`);
  if (timings.length) console.log(timings.join('\n'));
});

describe('the Market application in the portal', { timeout: 60_000 }, () => {
  it('an administrator installs from the shell: what the plan gets, progress, the result, installFinish; then the application page', async () => {
    const started = Date.now();
    const { page, frame } = await openApp(0);
    await frame.getByTestId('install-start').waitFor();
    const shown = Date.now() - started;
    const app = page.frames().find((f) => f.url().startsWith(service.url))!;
    const perf = await inBrowser<{ fcp: number; ready: number }>(app, `({
      fcp: performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? -1,
      ready: performance.getEntriesByName('autosalon-frame-ready')[0]?.startTime ?? -1,
    })`);
    timings.push(`Time to first render (install page in the shell): portal page → install button ${shown} ms; in the frame: first contentful paint ${Math.round(perf.fcp)} ms, SDK handshake done ${Math.round(perf.ready)} ms`);

    await expect.poll(() => frame.getByTestId('offer').textContent(), POLL).toContain('Ремонт авто');
    await expect.poll(() => frame.getByTestId('offer').textContent(), POLL).toContain('Автоматизация:');
    await expect.poll(() => frame.getByTestId('scopes').textContent(), POLL).toContain('CRM');
    await expect.poll(async () => (await frame.getByTestId('plan').textContent())?.trim(), POLL).toBe('Тариф: Профессиональный');
    await expect.poll(() => page.textContent('#pagetitle'), POLL).toBe('Установка «Автосалона»');
    await shot(page, '01-install-page');

    armGate();
    await frame.getByTestId('install-start').click();
    await expect.poll(async () => (await frame.getByTestId('steps').textContent())?.trim(), { timeout: 20_000 }).toMatch(/Выполнено шагов: \d+ из [1-9]\d*/);
    await shot(page, '02-install-progress');
    gate.release();

    await frame.getByTestId('install-result').waitFor({ timeout: 30_000 });
    await expect.poll(() => frame.getByTestId('result-counts').textContent(), POLL).toContain('создано');
    expect(Number((await frame.getByTestId('result-counts').locator('.text-2xl').first().textContent())?.trim())).toBeGreaterThan(10);
    await shot(page, '03-install-result');
    // The portal counts the application as installed only after installFinish.
    expect(await appInstalled(0)).toBe(false);

    await frame.getByTestId('install-finish').click();
    // The portal reloads into the application page.
    await frame.getByTestId('app-page').waitFor({ timeout: 20_000 });
    const log = await shellLog(page);
    expect(log).toContain('setInstallFinish');
    expect(log.filter((c) => c === 'getInitData')).toHaveLength(2);
    expect(await appInstalled(0)).toBe(true);
    await frame.getByTestId('install-summary').waitFor();
    await expect.poll(async () => (await frame.getByTestId('install-state').textContent())?.trim(), POLL).toBe('установлен');
    await expect.poll(() => page.textContent('#pagetitle'), POLL).toBe('Автосалон — Обзор');
    // The frame follows its content's height.
    const frameHeight = await inBrowser<number>(page, `document.getElementById('app-frame').getBoundingClientRect().height`);
    const content = await inBrowser<number>(page.frames().find((f) => f.url().startsWith(service.url))!, `document.getElementById('app').getBoundingClientRect().height`);
    expect(Math.abs(frameHeight - (Math.ceil(content) + 8))).toBeLessThan(2);
    await shot(page, '04-overview');
    await page.close();
  });

  it('a user who is not an administrator gets the read-only view', async () => {
    const { page, frame } = await openApp(0, MANAGER);
    await expect.poll(async () => (await frame.getByTestId('read-only').textContent())?.trim(), POLL).toBe('Только просмотр');
    await frame.getByRole('tab', { name: 'Настройки' }).click();
    await frame.getByTestId('settings-read-only').waitFor();
    expect(await frame.getByTestId('settings-save').count()).toBe(0);
    expect(await frame.locator('[data-rule="lead.created.notify"]').isDisabled()).toBe(true);
    await shot(page, '05-non-admin-settings');
    await page.close();
  });

  it('a setting saved in the page changes the automation of that portal only', async () => {
    await installThroughShell(1, '06-install-result-en');
    await settle();
    const { page, frame } = await openApp(0);
    await frame.getByRole('tab', { name: 'Настройки' }).click();
    const notify = frame.locator('[data-rule="lead.created.notify"]');
    await expect.poll(() => notify.getAttribute('aria-checked'), POLL).toBe('true');
    await notify.click();
    await frame.getByTestId('settings-save').click();
    await frame.getByTestId('settings-saved').waitFor();
    await shot(page, '07-settings-saved');
    await page.close();

    for (const n of [0, 1]) await webhook(n).call('crm.lead.add', { fields: { TITLE: `Лид после настройки ${n}`, SOURCE_ID: 'WEB', ASSIGNED_BY_ID: MANAGER } });
    await settle();
    const told = (n: number) => portal(n).control.collection('notifications').filter((x) => x.message.includes(`Лид после настройки ${n}`));
    expect(told(0)).toEqual([]);
    expect(told(1).length).toBeGreaterThan(0);
    expect((await service.store.getPortal(portal(1).memberId))?.settings.disabledRules).toEqual([]);
  });

  let seeded: Seeded;
  it('the analytics of a seeded portal render as charts', async () => {
    seeded = await seedActivity({
      call: async (method, params) => (await webhook(0).call(method, params)).result as never,
      settle,
      advance: async (ms) => {
        base += ms;
      },
    });
    const { page, frame } = await openApp(0);
    await frame.getByRole('tab', { name: 'Аналитика' }).click();
    await frame.getByTestId('chart-sources').locator('svg text').first().waitFor({ timeout: 20_000 });
    await expect.poll(async () => (await frame.getByTestId('kpi-leads').textContent())?.trim(), POLL).toBe('6');
    const texts = async (id: string) => (await frame.getByTestId(id).locator('svg text').allTextContents()).join('|');
    expect(await texts('chart-sources')).toContain('Веб-сайт');
    expect(await texts('funnel-repair')).toContain('Анализ авто: 3');
    expect(await texts('chart-refusals')).toContain('Дорого');
    await expect.poll(async () => (await frame.getByTestId('kpi-within-hour').textContent())?.trim(), POLL).toBe('75%');
    await frame.getByTestId('chart-recalls').locator('svg text').first().waitFor();
    await shot(page, '08-analytics');
    await page.close();
  });

  it('a re-call row opens the deal in the shell\'s slider; the day exports as CSV', async () => {
    base = Date.parse('2027-02-01T10:05:00+03:00');
    await settle();
    const { page, frame } = await openApp(0);
    await frame.getByRole('tab', { name: 'Повторные звонки' }).click();
    const row = frame.locator(`[data-deal="${seeded.deals.d4}"]`);
    await row.waitFor();
    await expect.poll(() => frame.getByTestId('recalls-table').textContent(), POLL).toContain('Нашёл дешевле');
    await shot(page, '09-recalls');
    await row.click();
    const slider = page.getByTestId('slider');
    await slider.waitFor();
    await expect.poll(async () => (await slider.locator('[data-slider-path]').textContent())?.trim(), POLL).toBe(`/crm/deal/details/${seeded.deals.d4}/?IFRAME=Y&IFRAME_TYPE=SIDE_SLIDER`);
    await expect.poll(() => page.frameLocator('#slider-frame').getByTestId('crm-card').textContent(), POLL).toContain('Замена ремня ГРМ');
    await shot(page, '10-slider');
    await slider.getByRole('button').click();
    expect(await shellLog(page)).toContain('openPath');

    const download = page.waitForEvent('download');
    await frame.getByTestId('export-csv').click();
    const file = await (await download).path();
    const csv = readFileSync(file, 'utf8');
    expect(csv).toContain('Замена ремня ГРМ;Пётр Иванов;Ремонт авто');
    expect((await download).suggestedFilename()).toBe('recalls-2027-02-01.csv');
    await page.close();
  });

  it('an install without the crm permission shows why it failed and what to do; other users meanwhile get the portal\'s "not installed" text', async () => {
    const outsider = await openApp(2, MANAGER);
    await outsider.page.getByTestId('not-installed').waitFor();
    await shot(outsider.page, '11-not-installed-non-admin');
    await outsider.page.close();

    const { page, frame } = await openApp(2);
    await frame.getByTestId('scopes-missing').waitFor();
    await expect.poll(() => frame.locator('[data-scope="crm"]').textContent(), POLL).toContain('не выдано');
    await shot(page, '12-install-missing-scope');
    await frame.getByTestId('install-start').click();
    const problem = frame.getByTestId('problem');
    await problem.waitFor({ timeout: 20_000 });
    await expect.poll(() => problem.getAttribute('data-kind'), POLL).toBe('scope');
    await expect.poll(() => problem.textContent(), POLL).toContain('Приложению не выдано разрешение «CRM»');
    await expect.poll(() => problem.textContent(), POLL).toContain('установите приложение заново');
    await shot(page, '13-install-failed');
    await page.close();
  });

  it('every error route renders an HTML page in Russian', async () => {
    const page = await context.newPage();
    const post = async (path: string, fields: Record<string, string>) => {
      await page.setContent(`<form method="post" action="${service.url}${path}">${Object.entries(fields).map(([k, v]) => `<input name="${k}" value="${v}">`).join('')}</form>`);
      await Promise.all([page.waitForNavigation(), inBrowser(page, 'document.forms[0].submit()')]);
    };
    const cases: [string, () => Promise<unknown>, string][] = [
      ['14-error-get-app', () => page.goto(`${service.url}/app`), 'Откройте приложение из Битрикс24'],
      ['15-error-get-install', () => page.goto(`${service.url}/install`), 'Откройте приложение из Битрикс24'],
      ['16-error-wrong-token', () => post('/app?LANG=ru', { member_id: portal(0).memberId, APPLICATION_TOKEN: 'guess', AUTH_ID: 'x' }), 'Страница устарела'],
      ['17-error-old-pass', () => post('/app', { member_id: portal(0).memberId, pass: '1800000000000.abc', date: '2027-02-01' }), 'Откройте приложение заново из Битрикс24'],
      ['18-error-impossible-date', () => post('/app', { member_id: portal(0).memberId, APPLICATION_TOKEN: installs[0].applicationToken, AUTH_ID: 'x', date: '2027-02-30' }), 'Такой даты нет'],
      ['19-error-empty-date', () => post('/app', { member_id: portal(0).memberId, APPLICATION_TOKEN: installs[0].applicationToken, AUTH_ID: 'x', date: '' }), 'Такой даты нет'],
      ['20-error-refused-install', () => post(`/install?DOMAIN=${portal(0).domain}&PROTOCOL=1&LANG=ru`, { AUTH_ID: 'a', REFRESH_ID: 'spent', APPLICATION_TOKEN: 't', member_id: portal(0).memberId }), 'Откройте приложение заново из Битрикс24'],
    ];
    for (const [name, open, text] of cases) {
      await open();
      expect(await inBrowser(page, 'document.documentElement.lang'), name).toBe('ru');
      expect(await page.textContent('body'), name).toContain(text);
      expect(await inBrowser(page, 'document.contentType'), name).toBe('text/html');
      await shot(page, name);
    }
    await page.close();
  });

  it('a session that ran out: the page says to open the application again', async () => {
    const { page, frame } = await openApp(0);
    await frame.getByTestId('overview').waitFor();
    base += 2 * 3_600_000;
    await frame.getByRole('tab', { name: 'Настройки' }).click();
    await expect.poll(() => frame.getByTestId('session-expired').textContent(), POLL).toContain('Откройте приложение заново из Битрикс24');
    await shot(page, '21-session-expired');
    await page.close();
  });

  it('the portal side of the frame protocol answers the SDK\'s own build: init data, title, resize, refreshAuth, openPath, options', async () => {
    const probeApp = await portal(2).control.installApp({ name: 'SDK probe', pageUrl: `${probeUrl}/probe` });
    const { page, frame: probeFrame } = await openApp(2, 1, probeApp);
    await probeFrame.locator('#probe[data-ready="yes"]').waitFor();
    const frame = page.frames().find((f) => f.url().startsWith(probeUrl))!;
    const sdk = <T>(fn: string) => frame.evaluate(`(async () => { const b24 = window.__b24; ${fn} })()`) as Promise<T>;
    // loader-b24frame.mjs / frame.mjs: the target origin from the frame name; the init data through getInitData.
    expect(await sdk<unknown>('return { lang: b24.getLang(), admin: b24.auth.isAdmin, install: b24.isInstallMode, placement: b24.placement.placement, uri: b24.placement.options.URI, member: b24.auth.getAuthData().member_id, origin: b24.getTargetOrigin() };'))
      .toEqual({ lang: 'ru', admin: true, install: false, placement: 'DEFAULT', uri: `/marketplace/app/${new URL(probeApp.appUrl!).pathname.split('/')[3]}/?user=1`, member: portal(2).memberId, origin: portal(2).origin });
    await sdk('await b24.parent.setTitle("Сделка: детали"); return true;');
    expect(await page.textContent('#pagetitle')).toBe('Сделка: детали');
    await sdk('await b24.parent.resizeWindow(800, 500); return true;');
    expect(await inBrowser(page, `(() => { const r = document.getElementById('app-frame').getBoundingClientRect(); return [r.width, r.height]; })()`)).toEqual([800, 500]);
    const fresh = await sdk<{ access_token: string }>('await b24.auth.refreshAuth(); return b24.auth.getAuthData();');
    const me = await (await fetch(`${portal(2).origin}/rest/profile?auth=${fresh.access_token}`)).json() as { result: { ID: string } };
    expect(me.result.ID).toBe('1');
    await expect(sdk('return await b24.slider.openPath(b24.slider.getUrl("/marketplace/"));')).rejects.toThrow(/PATH_NOT_AVAILABLE|error/);
    await sdk('await b24.options.appSet("theme", "light"); return true;');
    const log = await inBrowser<{ command: string; params: unknown }[]>(page, 'window.__portal.log');
    expect(log.map((e) => e.command)).toEqual(['getInitData', 'setTitle', 'resizeWindow', 'refreshAuth', 'openPath', 'setAppOption']);
    expect(log[2].params).toEqual({ width: 800, height: 500 });
    await page.close();
  });
});
