/**
 * Mirror disks (issue 5): `GET /md` lists the answering server's copies (role, copy states, connection,
 * dirty bytes, resync progress); `POST /md/:name/break` and `POST /md/:name/recover` (body `{ source }`, a
 * server name: the copy that wins) and `POST /md/:name/force` (allow one forced activation) act on that
 * server's copy. Not forwarded: ask a server of the mirror
 * (`--host`).
 */
import type { FastifyInstance } from 'fastify';
import type { MirrorList, OpResult } from '../../client/types.ts';
import { OperationError, OperationErrorCode } from '../../shared/errors.ts';
import { mirrorListSchema, nameParamsSchema, opResultSchema, responses } from '../schemas.ts';
import type { RouteContext } from './context.ts';

const recoverBody = {
  type: ['object', 'null'],
  properties: { source: { type: 'string', minLength: 1, maxLength: 253 } },
  additionalProperties: false,
} as const;

export function registerMirrorRoutes(app: FastifyInstance, ctx: RouteContext): void {
  app.get('/md', { schema: { response: responses(mirrorListSchema) } }, (): MirrorList => ({
    mirrors: ctx.control.mirrors(),
  }));
  const run = async (op: {
    action: 'break' | 'recover' | 'force';
    name: string;
    source?: string;
  }): Promise<OpResult> => {
    const r = await ctx.control.mirrorOp(op);
    if (!r.ok) {
      throw new OperationError({
        code: (r.code ?? OperationErrorCode.invalidRequest) as OperationErrorCode,
        object: r.object ?? `md ${op.name}`,
        message: r.message,
        remedy: r.remedy ?? '',
      });
    }
    return { ok: true, message: r.message, server: ctx.control.server };
  };
  for (const action of ['break', 'force'] as const) {
    app.post<{ Params: { name: string }; Body: null }>(
      `/md/:name/${action}`,
      { schema: { params: nameParamsSchema, response: responses(opResultSchema) } },
      (req) => run({ action, name: req.params.name }),
    );
  }
  app.post<{ Params: { name: string }; Body: { source?: string } | null }>(
    '/md/:name/recover',
    { schema: { params: nameParamsSchema, body: recoverBody, response: responses(opResultSchema) } },
    (req) => {
      const source = req.body?.source;
      return run(
        source === undefined
          ? { action: 'recover', name: req.params.name }
          : { action: 'recover', name: req.params.name, source },
      );
    },
  );
}
