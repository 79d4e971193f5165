// The portal shell: how the emulated portal shows an application, from the docs —
// api-reference/widgets/_includes/widget_data.md (the frame is opened by POST: DOMAIN, PROTOCOL, LANG, APP_SID in the
// query; AUTH_ID, AUTH_EXPIRES, REFRESH_ID, SERVER_ENDPOINT, APPLICATION_TOKEN, APPLICATION_SCOPE, member_id, status,
// PLACEMENT, PLACEMENT_OPTIONS with URI in the body), settings/app-installation/installation-finish.md and
// local-apps/installation-master.md (the installer page until installFinish; a non-admin's "not fully installed" text;
// INSTALLED false and no events until then) — and from @bitrix24/b24jssdk 2.2.0 (dist/esm/loader-b24frame.mjs: the iframe
// name "DOMAIN|PROTOCOL|APP_SID"; index.d.ts MessageInitData: the init data fields and their types). The frame
// protocol itself runs in a browser: test/web/browser.test.ts.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { InstalledApp, RunningEmulator } from '../../src/emulator/index.js';
import { appCall, startCaptureServer, startTestEmulator } from '../helpers/emulator.js';

let emu: RunningEmulator;
let hooks: Awaited<ReturnType<typeof startCaptureServer>>;
let app: InstalledApp;

beforeAll(async () => {
  hooks = await startCaptureServer();
  emu = await startTestEmulator({ limits: false });
  app = await emu.control.installApp({ name: 'Автосалон', pageUrl: `${hooks.url}/app`, installPageUrl: `${hooks.url}/install` });
});
afterAll(async () => {
  await emu.close();
  await hooks.close();
});

const get = async (path: string) => {
  const r = await fetch(new URL(path, emu.portalUrl));
  return { status: r.status, type: r.headers.get('content-type') ?? '', body: await r.text() };
};
const decode = (s: string) => s.replace(/&#(\d+);/g, (_m, c: string) => String.fromCharCode(Number(c)));

/** The frame the shell renders: the form's action, its fields, the iframe name and the init data. */
function frameOf(body: string) {
  const action = decode(/<form id="app-form" method="post" target="([^"]+)" action="([^"]+)"/.exec(body)?.[2] ?? '');
  const target = decode(/<form id="app-form" method="post" target="([^"]+)"/.exec(body)?.[1] ?? '');
  const iframeName = decode(/<iframe name="([^"]+)" id="app-frame"/.exec(body)?.[1] ?? '');
  const fields = Object.fromEntries([...body.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)].map((m) => [m[1], decode(m[2])]));
  const config = JSON.parse(/startFrameHost\((.*)\);<\/script>/.exec(body)?.[1] ?? 'null') as { initData: Record<string, unknown>; appSid: string; appOrigin: string };
  return { action: new URL(action), target, iframeName, fields, config };
}

describe('the portal shell', () => {
  test('its address is in the portals list; the application with an interface is in its left menu, and installApp says where it opens', async () => {
    expect(emu.portals[0].portalUrl).toBe(`${emu.origin}/`);
    expect(app.appUrl).toMatch(new RegExp(`^${emu.origin}/marketplace/app/\\d+/$`));
    expect(app.installed).toBe(false);
    const home = await get('/');
    expect(home.type).toMatch(/text\/html/);
    expect(home.body).toContain(`href="${new URL(app.appUrl!).pathname}?user=1"`);
    expect(home.body).toContain('>Автосалон</a>');
  });

  test('an administrator opening an application whose installer has not finished gets the installer page, posted with every documented parameter', async () => {
    const page = await get(`${app.appUrl}?user=1`);
    const { action, target, iframeName, fields, config } = frameOf(page.body);
    expect(`${action.origin}${action.pathname}`).toBe(`${hooks.url}/install`);
    const appSid = action.searchParams.get('APP_SID')!;
    expect(appSid).toMatch(/^[0-9a-f]{32}$/);
    expect(Object.fromEntries(action.searchParams)).toEqual({ DOMAIN: emu.portals[0].domain, PROTOCOL: '1', LANG: 'ru', APP_SID: appSid });
    expect(iframeName).toBe(`${emu.portals[0].domain}|1|${appSid}`);
    expect(target).toBe(iframeName);
    expect(fields).toMatchObject({
      AUTH_EXPIRES: '3600', SERVER_ENDPOINT: `${emu.oauthUrl}/rest/`, member_id: emu.memberId, status: 'L', PLACEMENT: 'DEFAULT',
      APPLICATION_TOKEN: app.applicationToken, APPLICATION_SCOPE: app.scope,
    });
    expect(JSON.parse(fields.PLACEMENT_OPTIONS)).toEqual({ URI: `${new URL(app.appUrl!).pathname}?user=1` });
    // The frame's tokens are the user's own, good for REST.
    const me = await appCall(emu, fields.AUTH_ID, 'profile');
    expect(me.body.result).toMatchObject({ ID: '1', ADMIN: true });
    expect(config.initData).toEqual({
      DOMAIN: emu.portals[0].domain, PROTOCOL: 1, PATH: '/rest/', LANG: 'ru', AUTH_ID: fields.AUTH_ID, AUTH_EXPIRES: 3600, REFRESH_ID: fields.REFRESH_ID,
      MEMBER_ID: emu.memberId, IS_ADMIN: true, INSTALL: true, FIRST_RUN: true, PLACEMENT: 'DEFAULT', PLACEMENT_OPTIONS: { URI: expect.any(String) },
      APP_OPTIONS: {}, USER_OPTIONS: {},
    });
    expect(config.appOrigin).toBe(hooks.url);
  });

  test('another user gets the docs\' "not fully installed" text instead of a frame; an unknown user is an HTML page saying so', async () => {
    const page = await get(`${app.appUrl}?user=3`);
    expect(page.body).toContain('Приложение ещё не установлено до конца. Обратитесь к администратору вашего Битрикс24, чтобы завершить установку.');
    expect(page.body).not.toContain('<iframe');
    const nobody = await get('/?user=99');
    expect(nobody.status).toBe(400);
    expect(nobody.type).toMatch(/text\/html/);
    expect(nobody.body).toContain('На портале нет пользователя 99');
  });

  test('until installFinish: app.info INSTALLED is false and bound events are not sent; after it the application page opens, INSTALL false', async () => {
    await appCall(emu, app.accessToken, 'event.bind', { event: 'ONCRMLEADADD', handler: `${hooks.url}/events` });
    expect((await appCall(emu, app.accessToken, 'app.info')).body.result).toMatchObject({ INSTALLED: false });
    emu.control.addRecord('lead', { TITLE: 'before the install finished' });
    await emu.control.waitForDeliveries();
    expect(hooks.requests.filter((r) => r.path === '/events')).toEqual([]);

    const { config } = frameOf((await get(`${app.appUrl}?user=1`)).body);
    // Outside an installer frame the call changes nothing (bx24-install-finish.md: "no effect").
    const outsider = frameOf((await get(`${app.appUrl}?user=1`)).body).config.appSid;
    const finish = await fetch(`${emu.origin}/_shell/frames/${config.appSid}/install-finish`, { method: 'POST' });
    expect(await finish.json()).toEqual({ installed: true, effect: true });
    expect((await appCall(emu, app.accessToken, 'app.info')).body.result).toMatchObject({ INSTALLED: true });
    expect(outsider).not.toBe(config.appSid);

    emu.control.addRecord('lead', { TITLE: 'after' });
    await emu.control.waitForDeliveries();
    expect(hooks.requests.filter((r) => r.path === '/events')).toHaveLength(1);

    const opened = frameOf((await get(`${app.appUrl}?user=3`)).body);
    expect(`${opened.action.origin}${opened.action.pathname}`).toBe(`${hooks.url}/app`);
    expect(opened.config.initData).toMatchObject({ INSTALL: false, FIRST_RUN: false, IS_ADMIN: false });
    const again = await fetch(`${emu.origin}/_shell/frames/${opened.config.appSid}/install-finish`, { method: 'POST' });
    expect(await again.json()).toEqual({ installed: true, effect: false });
  });

  test('refreshAuth gets the frame\'s user a new token pair; the slider\'s CRM card shows the deal', async () => {
    const { config } = frameOf((await get(`${app.appUrl}?user=3`)).body);
    const fresh = (await (await fetch(`${emu.origin}/_shell/frames/${config.appSid}/refresh`, { method: 'POST' })).json()) as Record<string, string>;
    expect(fresh.AUTH_ID).not.toBe(config.initData.AUTH_ID);
    expect((await appCall(emu, fresh.AUTH_ID, 'profile')).body.result).toMatchObject({ ID: '3', ADMIN: false });
    expect((await fetch(`${emu.origin}/_shell/frames/nope/refresh`, { method: 'POST' })).status).toBe(404);

    const deal = emu.control.addRecord('deal', { TITLE: 'Замена масла', OPPORTUNITY: 4500, ASSIGNED_BY_ID: 3 });
    const card = await get(`/crm/deal/details/${deal}/?IFRAME=Y&IFRAME_TYPE=SIDE_SLIDER`);
    expect(card.status).toBe(200);
    expect(card.body).toContain(`Сделка #${deal}: Замена масла`);
    expect(card.body).toContain('Алексей Кузнецов');
  });

  test('an application is installed either by a callback or by an installer page, and an installer needs an application page', async () => {
    await expect(emu.control.installApp({ handlerUrl: `${hooks.url}/install`, installPageUrl: `${hooks.url}/install` })).rejects.toThrow(/either handlerUrl .* or installPageUrl/);
    await expect(emu.control.installApp({ installPageUrl: `${hooks.url}/install` })).rejects.toThrow(/needs its application page too \(pageUrl\)/);
    const headless = await emu.control.installApp({ handlerUrl: `${hooks.url}/install`, pageUrl: `${hooks.url}/app` });
    expect(headless).toMatchObject({ installed: true, installDelivery: { httpStatus: 200 } });
    expect((await appCall(emu, headless.accessToken, 'app.info')).body.result).toMatchObject({ INSTALLED: true });
  });
});
