/**
 * `tandem server confirm-down NAME`: after a failed forced stop (FENCE_FAILED), the operator stopped the
 * lost server's instance by hand and says so; the server the CLI talks to may then take over its groups.
 */
import { UsageError } from '../args.ts';
import type { Command } from '../context.ts';
import { emit } from '../context.ts';
import { renderOpResult } from '../output/text.ts';

export const serverCommand: Command = {
  verb: 'server',
  summary: 'confirm that a lost server is stopped (after a failed forced stop)',
  usage: ['server confirm-down NAME'],
  options: [],
  async run(ctx, positionals) {
    const [action, name, extra] = positionals;
    if (action !== 'confirm-down') {
      throw new UsageError(action === undefined ? 'missing confirm-down' : `unknown action ${action}`, '');
    }
    if (name === undefined) throw new UsageError('missing the server name', '');
    if (extra !== undefined) throw new UsageError(`unexpected argument ${extra}`, '');
    const client = await ctx.client();
    emit(ctx, await client.serverConfirmDown(name), renderOpResult);
    return 0;
  },
};
