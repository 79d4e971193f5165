// The portal's own web pages, as far as an application sees them: a minimal portal shell at the portal's origin with
// the installed applications in its left menu, each opened in a frame the way Bitrix24 opens one — by POST, with the
// parameters of api-reference/widgets/_includes/widget_data.md (query DOMAIN, PROTOCOL, LANG, APP_SID; body AUTH_ID,
// AUTH_EXPIRES, REFRESH_ID, SERVER_ENDPOINT, member_id, status, PLACEMENT, PLACEMENT_OPTIONS, APPLICATION_TOKEN,
// APPLICATION_SCOPE) and the iframe name "DOMAIN|PROTOCOL|APP_SID" the frame library reads (@bitrix24/b24jssdk
// dist/esm/loader-b24frame.mjs). The parent side of the frame protocol runs in the browser (shell/frame-host.js).
// An application with an installer page shows it to administrators until it calls installFinish; other users get the
// docs' "not fully installed" text (settings/app-installation/installation-finish.md). Which user the shell acts as is
// an emulator control feature: ?user=N (default 1, the administrator).
import { readFileSync } from 'node:fs';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { findRecord } from './methods/crm-items.js';
import { dealStageEntity, statusesOf } from './methods/crm-status.js';
import type { Portal } from './portal.js';
import { randomHex, type AppRow, type CrmEntity, type UserRow } from './state.js';

/** The portal page of an application (as on Bitrix24: /marketplace/app/{ID}/). */
export const appPath = (app: Pick<AppRow, 'id'>) => `/marketplace/app/${app.id}/`;

/** The parent side of the frame protocol; a plain browser script (two levels up is the package root, also from a bundle). */
const FRAME_HOST_FILE = new URL('../../src/emulator/shell/frame-host.js', import.meta.url);

/** A frame the shell rendered: what its refreshAuth and installFinish act on. */
interface ShellFrame { clientId: string; userId: number; install: boolean }

/** Frames are remembered for their refreshAuth and installFinish; old ones fall off. */
const MAX_FRAMES = 500;

const TEXT = {
  ru: {
    portal: 'Битрикс24 — эмулятор портала', apps: 'Приложения', user: 'Пользователь', admin: 'администратор', close: 'Закрыть',
    home: 'Откройте приложение в меню слева.', noApps: 'На портале нет приложений с интерфейсом.',
    notInstalled: 'Приложение ещё не установлено до конца. Обратитесь к администратору вашего Битрикс24, чтобы завершить установку.',
    noPage: 'У этого приложения нет интерфейса.', noApp: 'Такого приложения на портале нет.', noUser: 'На портале нет пользователя', noItem: 'Элемент не найден.',
    pipeline: 'Воронка', stage: 'Стадия', amount: 'Сумма', responsible: 'Ответственный', contact: 'Контакт', created: 'Создан', general: 'Общая',
    slider: 'Слайдер', deal: 'Сделка', lead: 'Лид',
  },
  en: {
    portal: 'Bitrix24 — portal emulator', apps: 'Applications', user: 'User', admin: 'administrator', close: 'Close',
    home: 'Open an application from the menu on the left.', noApps: 'The portal has no application with an interface.',
    notInstalled: 'The application is not fully installed yet. Please contact your Bitrix24 administrator to complete the installation.',
    noPage: 'This application has no interface.', noApp: 'There is no such application on the portal.', noUser: 'The portal has no user', noItem: 'The item was not found.',
    pipeline: 'Pipeline', stage: 'Stage', amount: 'Amount', responsible: 'Responsible', contact: 'Contact', created: 'Created', general: 'General',
    slider: 'Slider', deal: 'Deal', lead: 'Lead',
  },
} as const;

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
/** JSON inside a <script>: nothing in it can close the element. */
const scriptJson = (value: unknown) => JSON.stringify(value).replace(/</g, '\\u003c');
const userName = (u: UserRow) => [u.NAME, u.LAST_NAME].filter(Boolean).join(' ') || u.EMAIL;

const STYLE = `
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;background:#eef2f4;color:#333}
header{display:flex;align-items:center;justify-content:space-between;gap:16px;background:#2067b0;color:#fff;padding:10px 20px}
header a{color:#fff}
.layout{display:flex;min-height:calc(100vh - 44px)}
nav{width:220px;flex:none;background:#fff;border-right:1px solid #dfe3e6;padding:16px 0}
nav h2{font-size:12px;text-transform:uppercase;color:#888;margin:0 20px 8px}
nav a{display:block;padding:7px 20px;color:#333;text-decoration:none}
nav a.active{background:#e5f1fb;color:#2067b0;font-weight:600}
main{flex:1;min-width:0;padding:16px 24px}
#pagetitle{font-size:22px;font-weight:400;margin:0 0 12px}
#app-frame{display:block;border:0;width:100%;height:600px;background:#fff;border-radius:10px}
.notice{background:#fff;border-radius:10px;padding:24px}
#slider{position:fixed;top:0;right:0;bottom:0;width:min(1100px,85vw);background:#eef2f4;box-shadow:-8px 0 24px #0004;display:flex;flex-direction:column}
#slider[hidden]{display:none}
#slider .bar{display:flex;align-items:center;justify-content:space-between;padding:10px 16px;background:#fff}
#slider iframe{flex:1;border:0;width:100%}
button{font:inherit;padding:6px 14px;border:1px solid #bdc1c6;border-radius:6px;background:#fff;cursor:pointer}
`;

export function registerShellRoutes(server: FastifyInstance, portal: Portal): void {
  const frames = new Map<string, ShellFrame>();
  const texts = () => TEXT[portal.lang];

  const html = (reply: FastifyReply, status: number, body: string) => reply.code(status).header('content-type', 'text/html; charset=utf-8').send(body);

  function page(title: string, user: UserRow, current: AppRow | undefined, main: string, scripts = ''): string {
    const t = texts();
    const apps = portal.state.apps.filter((a) => a.installed && a.pageUrl);
    const menu = apps.length
      ? apps.map((a) => `<a href="${escapeHtml(`${appPath(a)}?user=${user.ID}`)}"${a === current ? ' class="active"' : ''}>${escapeHtml(a.name || a.code)}</a>`).join('')
      : `<p style="padding:0 20px;color:#888">${t.noApps}</p>`;
    const users = portal.state.users.filter((u) => u.ACTIVE).map((u) => `<option value="${u.ID}"${u.ID === user.ID ? ' selected' : ''}>${escapeHtml(userName(u))}${u.ADMIN ? ` (${t.admin})` : ''}</option>`).join('');
    return `<!DOCTYPE html><html lang="${portal.lang}"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title><style>${STYLE}</style></head><body>
<header><span>${t.portal} · ${escapeHtml(portal.domain)}</span>
<form method="get">${t.user}: <select name="user" onchange="this.form.submit()" data-testid="shell-user">${users}</select></form></header>
<div class="layout"><nav><h2>${t.apps}</h2>${menu}</nav><main>${main}</main></div>${scripts}</body></html>`;
  }

  /** The user the shell acts as (?user=N), or an HTML answer saying there is none. */
  function shellUser(request: FastifyRequest, reply: FastifyReply): UserRow | undefined {
    const raw = (request.query as Record<string, string | undefined>).user;
    const id = raw === undefined || raw === '' ? 1 : Number(raw);
    const user = Number.isInteger(id) ? portal.user(id) : undefined;
    if (!user || !user.ACTIVE) {
      const t = texts();
      void html(reply, 400, `<!DOCTYPE html><html lang="${portal.lang}"><head><meta charset="utf-8"><title>${t.portal}</title><style>${STYLE}</style></head><body><main><div class="notice">${t.noUser} ${escapeHtml(String(raw))}.</div></main></body></html>`);
      return undefined;
    }
    return user;
  }

  server.get('/', (request, reply) => {
    const user = shellUser(request, reply);
    if (!user) return reply;
    return html(reply, 200, page(texts().portal, user, undefined, `<h1 id="pagetitle">${texts().portal}</h1><div class="notice">${texts().home}</div>`));
  });

  server.get('/marketplace/app/:id/', (request, reply) => {
    const user = shellUser(request, reply);
    if (!user) return reply;
    const t = texts();
    const app = portal.state.apps.find((a) => String(a.id) === (request.params as { id: string }).id && a.installed);
    const title = app ? app.name || app.code : t.portal;
    if (!app) return html(reply, 404, page(title, user, undefined, `<div class="notice">${t.noApp}</div>`));
    if (!app.pageUrl) return html(reply, 200, page(title, user, app, `<h1 id="pagetitle">${escapeHtml(title)}</h1><div class="notice">${t.noPage}</div>`));
    const admin = portal.isAdmin(user.ID);
    if (app.setupPending && !admin) {
      return html(reply, 200, page(title, user, app, `<h1 id="pagetitle">${escapeHtml(title)}</h1><div class="notice" data-testid="not-installed">${t.notInstalled}</div>`));
    }
    const install = Boolean(app.setupPending);
    const appSid = randomHex(16);
    frames.set(appSid, { clientId: app.clientId, userId: user.ID, install });
    if (frames.size > MAX_FRAMES) frames.delete(frames.keys().next().value as string);
    const token = portal.issueToken(app, user.ID);
    portal.persist();
    const ttl = portal.config.accessTokenTtlSeconds;
    const uri = `${appPath(app)}?user=${user.ID}`;
    const target = install ? app.installPageUrl! : app.pageUrl;
    const query = new URLSearchParams({ DOMAIN: portal.domain, PROTOCOL: '1', LANG: portal.lang, APP_SID: appSid });
    const action = `${target}${target.includes('?') ? '&' : '?'}${query}`;
    const post: Record<string, string> = {
      AUTH_ID: token.accessToken, AUTH_EXPIRES: String(ttl), REFRESH_ID: token.refreshToken, SERVER_ENDPOINT: portal.serverEndpoint,
      member_id: portal.state.memberId, status: 'L', PLACEMENT: 'DEFAULT', PLACEMENT_OPTIONS: JSON.stringify({ URI: uri }),
      APPLICATION_TOKEN: app.applicationToken, APPLICATION_SCOPE: app.scope.join(','),
    };
    // What the frame library asks for first (getInitData); its fields and types as @bitrix24/b24jssdk's MessageInitData.
    const initData = {
      DOMAIN: portal.domain, PROTOCOL: 1, PATH: '/rest/', LANG: portal.lang, AUTH_ID: token.accessToken, AUTH_EXPIRES: ttl,
      REFRESH_ID: token.refreshToken, MEMBER_ID: portal.state.memberId, IS_ADMIN: admin, INSTALL: install, FIRST_RUN: install,
      PLACEMENT: 'DEFAULT', PLACEMENT_OPTIONS: { URI: uri }, APP_OPTIONS: {}, USER_OPTIONS: {},
    };
    const frameName = `${portal.domain}|1|${appSid}`;
    const config = {
      appOrigin: new URL(target).origin, appSid, initData, portalOrigin: portal.origin,
      refreshUrl: `/_shell/frames/${appSid}/refresh`, finishUrl: `/_shell/frames/${appSid}/install-finish`,
    };
    const main = `<h1 id="pagetitle">${escapeHtml(title)}</h1>
<iframe name="${escapeHtml(frameName)}" id="app-frame" title="${escapeHtml(title)}"></iframe>
<form id="app-form" method="post" target="${escapeHtml(frameName)}" action="${escapeHtml(action)}" hidden>
${Object.entries(post).map(([k, v]) => `<input type="hidden" name="${k}" value="${escapeHtml(v)}">`).join('\n')}
</form>
<div id="slider" hidden data-testid="slider"><div class="bar"><span>${t.slider}: <code data-slider-path></code></span><button type="button">${t.close}</button></div><iframe id="slider-frame" title="${t.slider}"></iframe></div>`;
    const scripts = `<script src="/_shell/frame-host.js"></script><script>startFrameHost(${scriptJson(config)});</script>`;
    return html(reply, 200, page(title, user, app, main, scripts));
  });

  server.get('/_shell/frame-host.js', (_request, reply) => reply.header('content-type', 'text/javascript; charset=utf-8').send(readFileSync(FRAME_HOST_FILE, 'utf8')));

  // refreshAuth of the frame library: a new token pair of the frame's application and user.
  server.post('/_shell/frames/:sid/refresh', (request, reply) => {
    const frame = frames.get((request.params as { sid: string }).sid);
    const app = frame && portal.app(frame.clientId);
    if (!frame || !app?.installed) return reply.code(404).send({ error: 'NOT_FOUND', error_description: 'no such frame: reload the page' });
    const token = portal.issueToken(app, frame.userId);
    portal.persist();
    return { AUTH_ID: token.accessToken, REFRESH_ID: token.refreshToken, AUTH_EXPIRES: portal.config.accessTokenTtlSeconds, member_id: portal.state.memberId };
  });

  // installFinish of an installer page: the application counts as installed from now on.
  server.post('/_shell/frames/:sid/install-finish', (request, reply) => {
    const frame = frames.get((request.params as { sid: string }).sid);
    const app = frame && portal.app(frame.clientId);
    if (!frame || !app?.installed) return reply.code(404).send({ error: 'NOT_FOUND', error_description: 'no such frame: reload the page' });
    // bx24-install-finish.md: outside the installer phase the call has no effect.
    if (!frame.install) return { installed: !app.setupPending, effect: false };
    app.setupPending = false;
    portal.persist();
    return { installed: true, effect: true };
  });

  // What openPath shows in the slider: a minimal card of the lead or deal.
  server.get('/crm/:entity/details/:id/', (request, reply) => {
    const { entity, id } = request.params as { entity: string; id: string };
    const t = texts();
    const shell = (body: string) => `<!DOCTYPE html><html lang="${portal.lang}"><head><meta charset="utf-8"><title>${t.portal}</title><style>${STYLE}
dl{display:grid;grid-template-columns:180px 1fr;gap:8px 16px;margin:0}dt{color:#888}</style></head><body><main>${body}</main></body></html>`;
    if (entity !== 'deal' && entity !== 'lead') return html(reply, 404, shell(`<div class="notice">${t.noItem}</div>`));
    const record = findRecord(portal, entity as CrmEntity, Number(id));
    if (!record) return html(reply, 404, shell(`<div class="notice">${t.noItem}</div>`));
    const categoryId = Number(record.CATEGORY_ID ?? 0);
    const stages = entity === 'deal' ? statusesOf(portal, dealStageEntity(categoryId)) : statusesOf(portal, 'STATUS');
    const stageId = String(entity === 'deal' ? record.STAGE_ID : record.STATUS_ID);
    const stage = stages.find((s) => s.STATUS_ID === stageId);
    const category = portal.state.dealCategories.find((c) => c.id === categoryId)?.name ?? t.general;
    const responsible = portal.user(Number(record.ASSIGNED_BY_ID));
    const contact = record.CONTACT_ID ? findRecord(portal, 'contact', Number(record.CONTACT_ID)) : undefined;
    const rows: [string, string][] = [
      ...(entity === 'deal' ? [[t.pipeline, category] as [string, string]] : []),
      [t.stage, stage?.NAME ?? stageId],
      [t.amount, `${String(record.OPPORTUNITY ?? '0')} ${String(record.CURRENCY_ID ?? '')}`],
      [t.responsible, responsible ? userName(responsible) : '—'],
      [t.contact, contact ? [contact.NAME, contact.LAST_NAME].filter(Boolean).join(' ') : '—'],
      [t.created, typeof record.DATE_CREATE === 'number' ? portal.datetime(record.DATE_CREATE).slice(0, 16).replace('T', ' ') : '—'],
    ];
    return html(reply, 200, shell(`<div class="notice" data-testid="crm-card"><h1 id="pagetitle">${entity === 'deal' ? t.deal : t.lead} #${record.ID}: ${escapeHtml(String(record.TITLE ?? ''))}</h1>
<dl>${rows.map(([k, v]) => `<dt>${escapeHtml(k)}</dt><dd>${escapeHtml(v)}</dd>`).join('')}</dl></div>`));
  });
}
