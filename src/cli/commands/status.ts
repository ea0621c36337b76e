/** `tandem status [--json]`: the cluster as the answering server sees it (the clpstat view). */
import { UsageError } from '../args.ts';
import type { Command } from '../context.ts';
import { emit } from '../context.ts';
import { renderStatus } from '../output/text.ts';

export const statusCommand: Command = {
  verb: 'status',
  summary: 'show the cluster, its servers, groups and monitors',
  usage: ['status [--json] [--host HOST[:PORT]]'],
  options: [],
  async run(ctx, positionals) {
    if (positionals.length > 0) throw new UsageError(`unexpected argument ${positionals[0]}`, '');
    emit(ctx, await (await ctx.client()).status(), renderStatus);
    return 0;
  },
};
