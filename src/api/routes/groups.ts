/**
 * Failover group routes: `GET /groups`, `GET /groups/:name`, and the operations `POST /groups/:name/start`
 * (body `{ server? }`), `/stop`, `/move` (body `{ to? }`) and `/reset`.
 */
import type { FastifyInstance } from 'fastify';
import type { GroupList, GroupMoveBody, GroupStartBody, OpResult } from '../../client/types.ts';
import type { GroupStatus } from '../../shared/status.ts';
import { notFound } from '../errors.ts';
import {
  emptyBodySchema,
  groupListSchema,
  groupMoveBodySchema,
  groupStartBodySchema,
  groupStatusSchema,
  nameParamsSchema,
  opResultSchema,
  responses,
} from '../schemas.ts';
import type { RouteContext } from './context.ts';

type NameParams = { name: string };

export function registerGroupRoutes(app: FastifyInstance, ctx: RouteContext): void {
  const { control, dispatch } = ctx;

  app.get('/groups', { schema: { response: responses(groupListSchema) } }, (): GroupList => ({
    groups: control.status().groups,
  }));

  app.get<{ Params: NameParams }>(
    '/groups/:name',
    { schema: { params: nameParamsSchema, response: responses(groupStatusSchema) } },
    (req): GroupStatus => {
      const groups = control.status().groups;
      const g = groups.find((x) => x.name === req.params.name);
      if (g === undefined) {
        throw notFound(
          'group',
          req.params.name,
          groups.map((x) => x.name),
        );
      }
      return g;
    },
  );

  const opSchema = (body: unknown): Record<string, unknown> => ({
    params: nameParamsSchema,
    body,
    response: responses(opResultSchema),
  });

  app.post<{ Params: NameParams; Body: GroupStartBody | null }>(
    '/groups/:name/start',
    { schema: opSchema(groupStartBodySchema) },
    (req): Promise<OpResult> => {
      const group = req.params.name;
      dispatch.requireName('group', group);
      const server = req.body?.server;
      if (server !== undefined) dispatch.requireName('server', server);
      return dispatch.run(
        server === undefined ? { op: 'group-start', group } : { op: 'group-start', group, server },
        req,
      );
    },
  );

  app.post<{ Params: NameParams; Body: GroupMoveBody | null }>(
    '/groups/:name/move',
    { schema: opSchema(groupMoveBodySchema) },
    (req): Promise<OpResult> => {
      const group = req.params.name;
      dispatch.requireName('group', group);
      const to = req.body?.to;
      if (to !== undefined) dispatch.requireName('server', to);
      return dispatch.run(
        to === undefined ? { op: 'group-move', group } : { op: 'group-move', group, to },
        req,
      );
    },
  );

  for (const verb of ['stop', 'reset'] as const) {
    app.post<{ Params: NameParams; Body: null }>(
      `/groups/:name/${verb}`,
      { schema: opSchema(emptyBodySchema) },
      (req): Promise<OpResult> => {
        const group = req.params.name;
        dispatch.requireName('group', group);
        return dispatch.run(
          verb === 'stop' ? { op: 'group-stop', group } : { op: 'group-reset', group },
          req,
        );
      },
    );
  }
}
