/**
 * `tandem group start|stop|move|reset NAME [--to SERVER]`: operate a failover group. `--to` picks the
 * server for `start` and `move`; without it the cluster's placement rules pick it.
 */
import { stringOpt, UsageError } from '../args.ts';
import type { Command } from '../context.ts';
import { emit } from '../context.ts';
import { renderOpResult } from '../output/text.ts';

export const groupCommand: Command = {
  verb: 'group',
  summary: 'start, stop, move or reset a failover group',
  usage: ['group start|stop|move NAME [--to SERVER]', 'group reset NAME'],
  options: [{ name: 'to', value: true }],
  async run(ctx, positionals, args) {
    const [action, name, extra] = positionals;
    if (action !== 'start' && action !== 'stop' && action !== 'move' && action !== 'reset') {
      throw new UsageError(
        action === undefined ? 'missing start, stop, move or reset' : `unknown action ${action}`,
        '',
      );
    }
    if (name === undefined) throw new UsageError(`group ${action}: missing the group NAME`, '');
    if (extra !== undefined) throw new UsageError(`unexpected argument ${extra}`, '');
    const to = stringOpt(args, 'to');
    if (to !== undefined && (action === 'stop' || action === 'reset')) {
      throw new UsageError(`--to is not valid for group ${action}`, '');
    }
    const client = await ctx.client();
    const r =
      action === 'start'
        ? await client.groupStart(name, to === undefined ? {} : { server: to })
        : action === 'move'
          ? await client.groupMove(name, to === undefined ? {} : { to })
          : action === 'stop'
            ? await client.groupStop(name)
            : await client.groupReset(name);
    emit(ctx, r, renderOpResult);
    return 0;
  },
};
