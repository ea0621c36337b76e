/** `GET /plan`: what the answering server would do now, with reasons, as data and as the daemon's text. */
import type { FastifyInstance } from 'fastify';
import type { PlanDoc } from '../../client/types.ts';
import { planDocSchema, responses } from '../schemas.ts';
import type { RouteContext } from './context.ts';

export function registerPlanRoutes(app: FastifyInstance, ctx: RouteContext): void {
  app.get('/plan', { schema: { response: responses(planDocSchema) } }, (): PlanDoc => ({
    plan: ctx.control.plan(),
    text: ctx.control.planText(),
  }));
}
