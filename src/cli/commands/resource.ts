/** `tandem resource start|stop NAME`: start or stop one group resource where its group runs. */
import { UsageError } from '../args.ts';
import type { Command } from '../context.ts';
import { emit } from '../context.ts';
import { renderOpResult } from '../output/text.ts';

export const resourceCommand: Command = {
  verb: 'resource',
  summary: 'start or stop one group resource',
  usage: ['resource start|stop NAME'],
  options: [],
  async run(ctx, positionals) {
    const [action, name, extra] = positionals;
    if (action !== 'start' && action !== 'stop') {
      throw new UsageError(action === undefined ? 'missing start or stop' : `unknown action ${action}`, '');
    }
    if (name === undefined) throw new UsageError(`resource ${action}: missing the resource NAME`, '');
    if (extra !== undefined) throw new UsageError(`unexpected argument ${extra}`, '');
    const client = await ctx.client();
    emit(
      ctx,
      action === 'start' ? await client.resourceStart(name) : await client.resourceStop(name),
      renderOpResult,
    );
    return 0;
  },
};
