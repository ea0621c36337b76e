/** `tandem cluster start|stop [--all]`: this server (or every server) joins or leaves the cluster. */
import { UsageError } from '../args.ts';
import type { Command } from '../context.ts';
import { emit } from '../context.ts';
import { renderOpResult } from '../output/text.ts';

export const clusterCommand: Command = {
  verb: 'cluster',
  summary: 'start or stop the cluster service on this server, or on every server with --all',
  usage: ['cluster start|stop [--all]'],
  options: [{ name: 'all', value: false }],
  async run(ctx, positionals, args) {
    const [action, extra] = positionals;
    if (action !== 'start' && action !== 'stop') {
      throw new UsageError(action === undefined ? 'missing start or stop' : `unknown action ${action}`, '');
    }
    if (extra !== undefined) throw new UsageError(`unexpected argument ${extra}`, '');
    const all = args.options.has('all');
    const client = await ctx.client();
    const r = action === 'start' ? await client.clusterStart({ all }) : await client.clusterStop({ all });
    emit(ctx, r, renderOpResult);
    return 0;
  },
};
