/** `tandem alerts [--limit N] [--after SEQ]`: the answering server's alert log, newest last. */
import { intOpt, UsageError } from '../args.ts';
import type { Command } from '../context.ts';
import { emit } from '../context.ts';
import { renderAlerts } from '../output/text.ts';

export const alertsCommand: Command = {
  verb: 'alerts',
  summary: 'show the alert log of the server (newest last)',
  usage: ['alerts [--limit N] [--after SEQ]'],
  options: [
    { name: 'limit', value: true },
    { name: 'after', value: true },
  ],
  async run(ctx, positionals, args) {
    if (positionals.length > 0) throw new UsageError(`unexpected argument ${positionals[0]}`, '');
    const limit = intOpt(args, 'limit', '', 1, 10000);
    const after = intOpt(args, 'after', '', 0, Number.MAX_SAFE_INTEGER);
    const opts: { limit?: number; after?: number } = {};
    if (limit !== undefined) opts.limit = limit;
    if (after !== undefined) opts.after = after;
    const list = await (await ctx.client()).alerts(opts);
    emit(ctx, list, (l) => renderAlerts(l.alerts));
    return 0;
  },
};
