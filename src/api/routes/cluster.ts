/**
 * Cluster-wide routes: `GET /status` (the whole StatusDoc), `GET /cluster`, and the cluster service
 * operations `POST /cluster/start` and `POST /cluster/stop` (body `{ all?: boolean }`).
 */
import type { FastifyInstance } from 'fastify';
import type { ClusterInfo, ClusterOpBody, OpResult } from '../../client/types.ts';
import type { StatusDoc } from '../../shared/status.ts';
import {
  clusterInfoSchema,
  clusterOpBodySchema,
  opResultSchema,
  responses,
  statusDocSchema,
} from '../schemas.ts';
import type { RouteContext } from './context.ts';

export function registerClusterRoutes(app: FastifyInstance, ctx: RouteContext): void {
  app.get('/status', { schema: { response: responses(statusDocSchema) } }, (): StatusDoc =>
    ctx.control.status(),
  );

  app.get('/cluster', { schema: { response: responses(clusterInfoSchema) } }, (): ClusterInfo => {
    const status = ctx.control.status();
    return {
      name: status.cluster.name,
      state: status.cluster.state,
      warnings: status.cluster.warnings ?? [],
      server: ctx.control.server,
      configHash: ctx.control.config.hash,
      servers: ctx.control.config.servers.map((s) => s.name),
    };
  });

  for (const verb of ['start', 'stop'] as const) {
    app.post<{ Body: ClusterOpBody | null }>(
      `/cluster/${verb}`,
      { schema: { body: clusterOpBodySchema, response: responses(opResultSchema) } },
      (req): Promise<OpResult> => {
        const op = { op: verb === 'start' ? ('cluster-start' as const) : ('cluster-stop' as const) };
        return req.body?.all === true ? ctx.dispatch.runOnEveryServer(op, req) : ctx.dispatch.run(op, req);
      },
    );
  }
}
