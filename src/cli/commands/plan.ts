/** `tandem plan`: what the answering server would do now, with reasons. */
import { UsageError } from '../args.ts';
import type { Command } from '../context.ts';
import { emit } from '../context.ts';
import { renderPlan } from '../output/text.ts';

export const planCommand: Command = {
  verb: 'plan',
  summary: 'show what the server would do now, with reasons',
  usage: ['plan'],
  options: [],
  async run(ctx, positionals) {
    if (positionals.length > 0) throw new UsageError(`unexpected argument ${positionals[0]}`, '');
    emit(ctx, await (await ctx.client()).plan(), renderPlan);
    return 0;
  },
};
