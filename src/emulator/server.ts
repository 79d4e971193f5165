// HTTPS front: /rest/… (REST), {oauth}/oauth/token/ (OAuth server), /_control/… (control API). 127.0.0.1 only.
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { EmulatorControl } from './control.js';
import { handleTokenRequest } from './oauth.js';
import { requestParams } from './params.js';
import type { Portal } from './portal.js';
import { handleRest } from './rest.js';
import { registerControlRoutes } from './control-http.js';

export const OAUTH_PATH = '/_oauth';
export const CONTROL_PATH = '/_control';

function splitUrl(url: string): { path: string; query: string } {
  const i = url.indexOf('?');
  return i < 0 ? { path: url, query: '' } : { path: url.slice(0, i), query: url.slice(i + 1) };
}

export function buildServer(portal: Portal, control: EmulatorControl, tls: { key: string; cert: string }): FastifyInstance {
  const app = Fastify({ https: { key: tls.key, cert: tls.cert }, bodyLimit: 64 * 1024 * 1024, logger: false });
  // Bodies are parsed the way Bitrix24 does it (JSON, else PHP form data), not by fastify.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string' }, (_req, body, done) => done(null, body));

  const rest = async (req: FastifyRequest, reply: FastifyReply) => {
    const { path, query } = splitUrl(req.url);
    const answer = await handleRest(portal, { path, query, body: req.body, contentType: req.headers['content-type'] });
    if (!answer.read) portal.persist();
    return reply.code(answer.status).header('content-type', 'application/json; charset=utf-8').send(JSON.stringify(answer.body));
  };
  app.route({ method: ['GET', 'POST'], url: '/rest/*', handler: rest });
  app.route({ method: ['GET', 'POST'], url: '//rest/*', handler: rest });

  const token = async (req: FastifyRequest, reply: FastifyReply) => {
    const { query } = splitUrl(req.url);
    const answer = handleTokenRequest(portal, requestParams(query, req.body, req.headers['content-type']));
    if (answer.status === 200) portal.persist();
    return reply.code(answer.status).header('content-type', 'application/json; charset=utf-8').send(JSON.stringify(answer.body));
  };
  app.route({ method: ['GET', 'POST'], url: `${OAUTH_PATH}/oauth/token/`, handler: token });
  app.route({ method: ['GET', 'POST'], url: `${OAUTH_PATH}/oauth/token`, handler: token });

  registerControlRoutes(app, CONTROL_PATH, control);
  app.setNotFoundHandler((_req, reply) => reply.code(404).send({ error: 'NOT_FOUND', error_description: 'Not found' }));
  return app;
}
