/** Monitor routes: `GET /monitors`, `POST /monitors/suspend` and `/resume` (body `{ monitor? }`; all when absent). */
import type { FastifyInstance } from 'fastify';
import type { MonitorList, MonitorOpBody, OpResult } from '../../client/types.ts';
import { monitorListSchema, monitorOpBodySchema, opResultSchema, responses } from '../schemas.ts';
import type { RouteContext } from './context.ts';

export function registerMonitorRoutes(app: FastifyInstance, ctx: RouteContext): void {
  const { control, dispatch } = ctx;

  app.get('/monitors', { schema: { response: responses(monitorListSchema) } }, (): MonitorList => ({
    monitors: control.status().monitors,
  }));

  for (const verb of ['suspend', 'resume'] as const) {
    app.post<{ Body: MonitorOpBody | null }>(
      `/monitors/${verb}`,
      { schema: { body: monitorOpBodySchema, response: responses(opResultSchema) } },
      (req): Promise<OpResult> => {
        const monitor = req.body?.monitor;
        if (monitor !== undefined) dispatch.requireName('monitor', monitor);
        const op = verb === 'suspend' ? ('monitor-suspend' as const) : ('monitor-resume' as const);
        return dispatch.run(monitor === undefined ? { op } : { op, monitor }, req);
      },
    );
  }
}
