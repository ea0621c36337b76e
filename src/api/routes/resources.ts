/** Group resource routes: `GET /resources`, `POST /resources/:name/start` and `/stop`. */
import type { FastifyInstance } from 'fastify';
import type { OpResult, ResourceList } from '../../client/types.ts';
import {
  emptyBodySchema,
  nameParamsSchema,
  opResultSchema,
  resourceListSchema,
  responses,
} from '../schemas.ts';
import type { RouteContext } from './context.ts';

export function registerResourceRoutes(app: FastifyInstance, ctx: RouteContext): void {
  const { control, dispatch } = ctx;

  app.get('/resources', { schema: { response: responses(resourceListSchema) } }, (): ResourceList => ({
    resources: control
      .status()
      .groups.flatMap((g) => g.resources.map((r) => ({ ...r, group: g.name, server: g.server }))),
  }));

  for (const verb of ['start', 'stop'] as const) {
    app.post<{ Params: { name: string }; Body: null }>(
      `/resources/:name/${verb}`,
      { schema: { params: nameParamsSchema, body: emptyBodySchema, response: responses(opResultSchema) } },
      (req): Promise<OpResult> => {
        const resource = req.params.name;
        dispatch.requireName('resource', resource);
        return dispatch.run(
          verb === 'start' ? { op: 'resource-start', resource } : { op: 'resource-stop', resource },
          req,
        );
      },
    );
  }
}
