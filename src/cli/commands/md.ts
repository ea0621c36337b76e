/**
 * `tandem md status [NAME]`, `tandem md break NAME`, `tandem md recover NAME [--source SERVER]` (issue 5):
 * the mirror disk copies of the server the CLI talks to (`--host` picks it). `recover` starts the mirror
 * recovery: the copy on SERVER wins and the other copy is resynced from it; without `--source`, the copy
 * the generations say is newer (a pending recovery with `autoRecovery: false`, a break, a copy rebuilt
 * after a disk failure); a split brain or unrelated copies are never resolved without `--source`
 * (MD_RECOVER_NEEDS_SOURCE). `force` allows one activation of the server's copy even when it may not be
 * the latest (after the other copy is lost for good).
 */
import { UsageError } from '../args.ts';
import type { Command } from '../context.ts';
import { emit } from '../context.ts';
import { renderMirrors, renderOpResult } from '../output/text.ts';

export const mdCommand: Command = {
  verb: 'md',
  summary: 'mirror disks: status, break the mirroring, recover (resync from a chosen copy)',
  usage: ['md status [NAME]', 'md break NAME', 'md recover NAME [--source SERVER]', 'md force NAME'],
  options: [{ name: 'source', value: true }],
  async run(ctx, positionals, args) {
    const [action, name, extra] = positionals;
    if (action !== 'status' && action !== 'break' && action !== 'recover' && action !== 'force') {
      throw new UsageError(
        action === undefined ? 'missing status, break, recover or force' : `unknown action ${action}`,
        '',
      );
    }
    if (extra !== undefined) throw new UsageError(`unexpected argument ${extra}`, '');
    const raw = args.options.get('source');
    const source = typeof raw === 'string' ? raw : undefined;
    if (source !== undefined && action !== 'recover')
      throw new UsageError('--source goes with recover only', '');
    // Usage problems are reported before the config is read or the API is asked.
    if (action !== 'status' && name === undefined) throw new UsageError('missing the md resource name', '');
    const client = await ctx.client();
    if (action === 'status' || name === undefined) {
      const r = await client.mdStatus();
      const mirrors = name === undefined ? r.mirrors : r.mirrors.filter((m) => m.name === name);
      if (name !== undefined && mirrors.length === 0) {
        ctx.io.stderr(
          `${ctx.prog}: the server holds no copy of a mirror disk named ${name}` +
            (r.mirrors.length > 0 ? ` (it holds ${r.mirrors.map((m) => m.name).join(', ')})` : '') +
            '; ask a server of its group with --host\n',
        );
        return 1;
      }
      emit(ctx, { mirrors }, renderMirrors);
      return 0;
    }
    const r =
      action === 'break'
        ? await client.mdBreak(name)
        : action === 'force'
          ? await client.mdForce(name)
          : source === undefined
            ? await client.mdRecover(name)
            : await client.mdRecover(name, source);
    emit(ctx, r, renderOpResult);
    return 0;
  },
};
