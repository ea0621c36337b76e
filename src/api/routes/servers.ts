/** `GET /servers`: each server with its state, heartbeats and NP resources, as the answering server sees them. */
import type { FastifyInstance } from 'fastify';
import type { ServerList } from '../../client/types.ts';
import { responses, serverListSchema } from '../schemas.ts';
import type { RouteContext } from './context.ts';

export function registerServerRoutes(app: FastifyInstance, ctx: RouteContext): void {
  app.get('/servers', { schema: { response: responses(serverListSchema) } }, (): ServerList => ({
    servers: ctx.control.status().servers,
  }));
}
