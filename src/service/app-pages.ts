// The pages a browser gets from the service: the Market application (the front end built into dist/web, answered on
// the install page and the application page with a bootstrap blob the page starts from) and, when a page cannot be
// shown, an error page in the user's language saying what happened and what to do. Never JSON, never a header that
// forbids framing (Bitrix24 shows both pages in a frame: local-integrations/site-does-not-allow-connection.md).
import { existsSync, readFileSync, statSync } from 'node:fs';
import { extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import type { Bootstrap, UiLang } from './app-types.js';

/** Where `npm run build:web` puts the front end (two levels up is the package root, from src/ and from a build). */
export const DEFAULT_WEB_DIR = fileURLToPath(new URL('../../dist/web', import.meta.url));

const CONTENT_TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.woff2': 'font/woff2',
  '.woff': 'font/woff',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
};

export const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** The front end is not built: the page says how to build it. */
export class WebNotBuilt extends Error {
  constructor(readonly dir: string) {
    super(`the web pages are not built (${dir}/index.html is missing): run npm run build:web (npm install does it)`);
    this.name = 'WebNotBuilt';
  }
}

/** The built front end: its assets under /assets/, and its index.html with a page's bootstrap. */
export class WebApp {
  private index?: { text: string; mtimeMs: number };

  constructor(readonly dir: string = DEFAULT_WEB_DIR) {}

  /** GET /assets/<file>: the hashed files of the build, cached for good (a new build has new names). */
  register(app: FastifyInstance): void {
    const assets = join(this.dir, 'assets');
    app.get('/assets/*', async (request, reply) => {
      const name = (request.params as { '*': string })['*'];
      const file = normalize(join(assets, name));
      const type = CONTENT_TYPES[extname(file)];
      if (!file.startsWith(assets + sep) || !type || !existsSync(file) || !statSync(file).isFile()) {
        return reply.code(404).type('text/plain; charset=utf-8').send('not found');
      }
      return reply.type(type).header('cache-control', 'public, max-age=31536000, immutable').send(readFileSync(file));
    });
  }

  /** index.html with the bootstrap the page starts from; the JSON cannot close its <script>. */
  page(bootstrap: Bootstrap): string {
    const file = join(this.dir, 'index.html');
    if (!existsSync(file)) throw new WebNotBuilt(this.dir);
    const mtimeMs = statSync(file).mtimeMs;
    if (!this.index || this.index.mtimeMs !== mtimeMs) this.index = { text: readFileSync(file, 'utf8'), mtimeMs };
    const blob = JSON.stringify(bootstrap).replace(/</g, '\\u003c');
    const title = bootstrap.lang === 'ru' ? 'Автосалон' : 'Autosalon';
    return this.index.text
      .replace(/<html lang="[^"]*">/, `<html lang="${bootstrap.lang}">`)
      .replace(/<title>[^<]*<\/title>/, `<title>${title}</title>`)
      .replace('</head>', `<script id="autosalon-bootstrap" type="application/json">${blob}</script></head>`);
  }
}

/** What went wrong with a page a browser opened. */
export type PageProblem = 'admin' | 'expired' | 'incomplete' | 'date' | 'open-from-bitrix24' | 'unavailable' | 'not-built';

const PROBLEMS: Record<PageProblem, Record<UiLang, [string, string]>> = {
  admin: {
    ru: ['Нужен администратор', 'Установить и настроить «Автосалон» может только администратор Битрикс24. Попросите администратора портала открыть приложение.'],
    en: ['An administrator is needed', 'Only a Bitrix24 administrator can install and set up Autosalon. Ask your portal administrator to open the application.'],
  },
  expired: {
    ru: ['Страница устарела', 'Страница открыта не из Битрикс24 или устарела. Откройте приложение заново из Битрикс24.'],
    en: ['The page has expired', 'The page was not opened from Bitrix24, or it has expired. Open the application again from Bitrix24.'],
  },
  incomplete: {
    ru: ['Запрос неполный', 'Битрикс24 передал не всё, что нужно странице. Откройте приложение заново из Битрикс24.'],
    en: ['Incomplete request', 'Bitrix24 did not pass everything this page needs. Open the application again from Bitrix24.'],
  },
  date: {
    ru: ['Такой даты нет', 'Дата указана неверно: выберите день в календаре списка повторных звонков.'],
    en: ['There is no such date', 'The date is wrong: choose a day in the calendar of the re-call list.'],
  },
  'open-from-bitrix24': {
    ru: ['Откройте приложение из Битрикс24', 'Эта страница открывается только внутри Битрикс24: откройте «Автосалон» в меню вашего портала.'],
    en: ['Open the application from Bitrix24', 'This page opens only inside Bitrix24: open Autosalon from the menu of your portal.'],
  },
  unavailable: {
    ru: ['Сервис недоступен', 'Сервис «Автосалон» не смог выполнить запрос. Попробуйте ещё раз через минуту.'],
    en: ['Service unavailable', 'The Autosalon service could not handle the request. Try again in a minute.'],
  },
  'not-built': {
    ru: ['Страницы приложения не собраны', 'Страницы «Автосалона» не установлены на сервере. Администратор сервиса должен собрать их: npm run build:web.'],
    en: ['The application pages are not built', 'Autosalon\'s pages are not installed on the server. The service\'s administrator must build them: npm run build:web.'],
  },
};

/** The page problem an HTTP status stands for, unless the error named one. */
export function problemOfStatus(status: number): PageProblem {
  if (status === 403) return 'admin';
  if (status === 401) return 'expired';
  if (status === 405) return 'open-from-bitrix24';
  return status < 500 ? 'incomplete' : 'unavailable';
}

/** What a person sees when a page cannot be shown: in their language, what happened and what to do; details folded. */
export function errorPage(lang: UiLang, problem: PageProblem, detail: string): string {
  const [title, text] = PROBLEMS[problem][lang];
  return `<!DOCTYPE html><html lang="${lang}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${escapeHtml(title)}</title>
<style>body{margin:0;padding:24px;font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#333;background:#fff}
.box{max-width:640px;border-left:4px solid #ff5752;background:#fff5f5;border-radius:8px;padding:16px 20px}
h1{font-size:20px;font-weight:600;margin:0 0 8px}p{margin:0}details{color:#777;margin-top:16px;font-size:13px}</style></head>
<body><div class="box" data-problem="${problem}"><h1>${escapeHtml(title)}</h1><p>${escapeHtml(text)}</p></div>
<details><summary>${lang === 'ru' ? 'Подробности' : 'Details'}</summary>${escapeHtml(detail)}</details></body></html>`;
}
