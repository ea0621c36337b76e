/**
 * `GET /servers`: each server with its state, heartbeats and NP resources, as the answering server sees them.
 * `POST /servers/:name/confirm-down`: the operator confirms that a lost server's instance is stopped (after a
 * failed forced stop), so the answering server may take over its groups.
 */
import type { FastifyInstance } from 'fastify';
import type { OpResult, ServerList } from '../../client/types.ts';
import {
  emptyBodySchema,
  nameParamsSchema,
  opResultSchema,
  responses,
  serverListSchema,
} from '../schemas.ts';
import type { RouteContext } from './context.ts';

export function registerServerRoutes(app: FastifyInstance, ctx: RouteContext): void {
  app.get('/servers', { schema: { response: responses(serverListSchema) } }, (): ServerList => ({
    servers: ctx.control.status().servers,
  }));
  app.post<{ Params: { name: string }; Body: null }>(
    '/servers/:name/confirm-down',
    { schema: { params: nameParamsSchema, body: emptyBodySchema, response: responses(opResultSchema) } },
    (req): Promise<OpResult> => {
      const server = req.params.name;
      ctx.dispatch.requireName('server', server);
      return ctx.dispatch.run({ op: 'confirm-down', server }, req);
    },
  );
}
