// The parent (portal) side of the frame protocol that @bitrix24/b24jssdk 2.2.0 speaks with an application in an
// iframe, for the emulator's portal shell (src/emulator/shell.ts). The wire format is the SDK's
// (dist/esm/frame/message/controller.mjs):
//  - application → portal: the string "<command>:<paramsJson>:<callbackId>:<appSid>", posted to the portal's origin;
//    without params the JSON part is left out ("<command>:<callbackId>:<appSid>"); the JSON may contain ":", so the
//    message is split from both ends;
//  - portal → application: "<callbackId>:<resultJson>" (or just "<callbackId>"), posted to the application's origin.
// The commands (frame/message/commands.mjs) and what the portal does (docs sdk/bx24-js-sdk/...):
//  getInitData → the init data; setInstall → acknowledged (first run); setInstallFinish → the application counts as
//  installed and the page reloads into it (bx24-install-finish.md); refreshAuth → a new token pair (bx24-refresh-auth.md);
//  resizeWindow → the frame's width ('100%' or px) and height (> 0) (bx24-resize-window.md); setTitle → the page title
//  #pagetitle, not the browser tab (bx24-set-title.md); openPath → the CRM card in the slider, answered
//  {result:'close'} when it closes, {result:'error', errorCode:'PATH_NOT_AVAILABLE'} for a path it cannot open
//  (bx24-open-path.md); setScroll, reloadWindow, setAppOption / setUserOption.

// Called by the shell page with its frame's settings (shell.ts).
window.startFrameHost = function startFrameHost(config) {
  const iframe = document.getElementById('app-frame');
  const form = document.getElementById('app-form');
  const slider = document.getElementById('slider');
  // What the application asked for, kept across the reload after installFinish (tests and people read it).
  const stored = sessionStorage.getItem('autosalon-shell-log');
  const log = stored ? JSON.parse(stored) : [];
  window.__portal = { log, installed: !config.initData.INSTALL };
  const remember = () => sessionStorage.setItem('autosalon-shell-log', JSON.stringify(log.slice(-200)));

  function reply(callbackId, result) {
    const payload = result === undefined ? callbackId : `${callbackId}:${JSON.stringify(result)}`;
    iframe.contentWindow.postMessage(payload, config.appOrigin);
  }

  function parse(data) {
    const parts = data.split(':');
    if (parts.length < 3) return null;
    return { command: parts[0], paramsJson: parts.slice(1, -2).join(':'), callbackId: parts[parts.length - 2], appSid: parts[parts.length - 1] };
  }

  async function post(url) {
    const response = await fetch(url, { method: 'POST' });
    if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
    return response.json();
  }

  function openSlider(path, onClose) {
    slider.querySelector('[data-slider-path]').textContent = path;
    slider.querySelector('iframe').src = path;
    slider.hidden = false;
    slider.querySelector('button').onclick = () => {
      slider.hidden = true;
      slider.querySelector('iframe').src = 'about:blank';
      onClose();
    };
  }

  const NO_REPLY = Symbol('no reply');
  const handlers = {
    getInitData: () => config.initData,
    setInstall: () => undefined,
    setInstallFinish: async () => {
      const answer = await post(config.finishUrl);
      if (answer.effect) {
        window.__portal.installed = true;
        // The portal reloads the application after its installer finished (bx24-install-finish.md).
        setTimeout(() => window.location.reload(), 50);
      }
      return undefined;
    },
    refreshAuth: async () => {
      const fresh = await post(config.refreshUrl);
      Object.assign(config.initData, { AUTH_ID: fresh.AUTH_ID, REFRESH_ID: fresh.REFRESH_ID, AUTH_EXPIRES: fresh.AUTH_EXPIRES });
      return fresh;
    },
    resizeWindow: (params) => {
      iframe.style.width = params.width === '100%' ? '100%' : `${Number.parseInt(params.width, 10) || 100}px`;
      const height = Number.parseInt(params.height, 10);
      if (height > 0) iframe.style.height = `${height}px`;
      return undefined;
    },
    setTitle: (params) => {
      document.getElementById('pagetitle').textContent = String(params.title ?? '');
      return undefined;
    },
    setScroll: (params) => {
      window.scrollTo(0, Number(params.scroll) || 0);
      return undefined;
    },
    reloadWindow: () => {
      window.location.reload();
      return undefined;
    },
    setAppOption: (params) => {
      config.initData.APP_OPTIONS[params.name] = params.value;
      return undefined;
    },
    setUserOption: (params) => {
      config.initData.USER_OPTIONS[params.name] = params.value;
      return undefined;
    },
    openPath: (params, callbackId) => {
      // The SDK prefixes a slider-width detour such as "/crm/type/0/details/0/../../../../.."; the URL resolves it.
      const target = new URL(String(params.path ?? ''), config.portalOrigin);
      if (target.origin !== config.portalOrigin || !/^\/crm\/(deal|lead)\/details\/\d+\/$/.test(target.pathname)) {
        return { result: 'error', errorCode: 'PATH_NOT_AVAILABLE' };
      }
      openSlider(`${target.pathname}${target.search}`, () => reply(callbackId, { result: 'close' }));
      return NO_REPLY;
    },
  };

  window.addEventListener('message', async (event) => {
    if (event.origin !== config.appOrigin || event.source !== iframe.contentWindow || typeof event.data !== 'string') return;
    const message = parse(event.data);
    if (!message || message.appSid !== config.appSid) return;
    let params = {};
    if (message.paramsJson) {
      try {
        params = JSON.parse(message.paramsJson);
      } catch {
        params = message.paramsJson;
      }
    }
    log.push({ command: message.command, params, at: Date.now() });
    remember();
    const handler = handlers[message.command];
    if (!handler) return;
    try {
      const result = await handler(params, message.callbackId);
      if (result !== NO_REPLY) reply(message.callbackId, result);
    } catch (error) {
      log.push({ command: `${message.command}:failed`, params: String(error), at: Date.now() });
      remember();
    }
  });

  form.submit();
};
