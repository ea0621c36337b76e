/** `GET /alerts?after=SEQ&limit=N`: the answering server's alert log, entries with `seq > after`, newest last. */
import type { FastifyInstance } from 'fastify';
import type { AlertList } from '../../client/types.ts';
import { alertListSchema, alertsQuerySchema, responses } from '../schemas.ts';
import type { RouteContext } from './context.ts';

/** Entries returned when the request gives no `limit`. */
export const DEFAULT_ALERT_LIMIT = 100;

export function registerAlertRoutes(app: FastifyInstance, ctx: RouteContext): void {
  app.get<{ Querystring: { after?: number; limit?: number } }>(
    '/alerts',
    { schema: { querystring: alertsQuerySchema, response: responses(alertListSchema) } },
    (req): AlertList => {
      const opts: { afterSeq?: number; limit: number } = { limit: req.query.limit ?? DEFAULT_ALERT_LIMIT };
      if (req.query.after !== undefined) opts.afterSeq = req.query.after;
      return { alerts: ctx.control.alerts(opts) };
    },
  );
}
