/** `tandem monitor suspend|resume [NAME]`: suspend or resume one monitor, or all of them. */
import { UsageError } from '../args.ts';
import type { Command } from '../context.ts';
import { emit } from '../context.ts';
import { renderOpResult } from '../output/text.ts';

export const monitorCommand: Command = {
  verb: 'monitor',
  summary: 'suspend or resume a monitor (all monitors without NAME)',
  usage: ['monitor suspend|resume [NAME]'],
  options: [],
  async run(ctx, positionals) {
    const [action, name, extra] = positionals;
    if (action !== 'suspend' && action !== 'resume') {
      throw new UsageError(
        action === undefined ? 'missing suspend or resume' : `unknown action ${action}`,
        '',
      );
    }
    if (extra !== undefined) throw new UsageError(`unexpected argument ${extra}`, '');
    const client = await ctx.client();
    emit(
      ctx,
      action === 'suspend' ? await client.monitorSuspend(name) : await client.monitorResume(name),
      renderOpResult,
    );
    return 0;
  },
};
