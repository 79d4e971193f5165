// HTTPS front of one portal: /rest/… (REST) and the portal shell that opens applications (shell.ts). Portal 1's server also carries the emulator's one OAuth server
// ({oauth}/oauth/token/) and its control API (/_control/…). 127.0.0.1 only.
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { handleTokenRequest } from './oauth.js';
import { requestParams } from './params.js';
import type { Portal } from './portal.js';
import { handleRest, toXml } from './rest.js';
import { registerShellRoutes } from './shell.js';
import type { RegisteredApp } from './state.js';

export const OAUTH_PATH = '/_oauth';
export const CONTROL_PATH = '/_control';

function splitUrl(url: string): { path: string; query: string } {
  const i = url.indexOf('?');
  return i < 0 ? { path: url, query: '' } : { path: url.slice(0, i), query: url.slice(i + 1) };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export function buildServer(portal: Portal, tls: { key: string; cert: string }): FastifyInstance {
  const app = Fastify({ https: { key: tls.key, cert: tls.cert }, bodyLimit: 64 * 1024 * 1024, logger: false });
  // Bodies are parsed the way Bitrix24 does it (JSON, else PHP form data), not by fastify.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string' }, (_req, body, done) => done(null, body));

  const rest = async (req: FastifyRequest, reply: FastifyReply) => {
    const { path, query } = splitUrl(req.url);
    const answer = await handleRest(portal, { path, query, body: req.body, contentType: req.headers['content-type'], authorization: req.headers.authorization });
    if (!answer.read) portal.persist();
    if (answer.delayMs) await sleep(answer.delayMs);
    if (answer.lost) {
      // The work is done and saved; the client never hears of it.
      reply.hijack();
      req.raw.socket.destroy();
      return;
    }
    if (answer.format === 'xml') return reply.code(answer.status).header('content-type', 'text/xml; charset=utf-8').send(toXml(answer.body));
    return reply.code(answer.status).header('content-type', 'application/json; charset=utf-8').send(JSON.stringify(answer.body));
  };
  app.route({ method: ['GET', 'POST'], url: '/rest/*', handler: rest });
  app.route({ method: ['GET', 'POST'], url: '//rest/*', handler: rest });
  registerShellRoutes(app, portal);
  app.setNotFoundHandler((_req, reply) => reply.code(404).send({ error: 'NOT_FOUND', error_description: 'Not found' }));
  return app;
}

/** The OAuth server's token endpoint, for every portal of the emulator. */
export function registerOAuthRoutes(app: FastifyInstance, portals: () => readonly Portal[], applications: readonly RegisteredApp[]): void {
  const token = async (req: FastifyRequest, reply: FastifyReply) => {
    const { query } = splitUrl(req.url);
    const answer = handleTokenRequest(portals(), applications, requestParams(query, req.body, req.headers['content-type']));
    answer.portal?.persist();
    return reply.code(answer.status).header('content-type', 'application/json; charset=utf-8').send(JSON.stringify(answer.body));
  };
  app.route({ method: ['GET', 'POST'], url: `${OAUTH_PATH}/oauth/token/`, handler: token });
  app.route({ method: ['GET', 'POST'], url: `${OAUTH_PATH}/oauth/token`, handler: token });
}
