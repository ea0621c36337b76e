/**
 * `tandem doctor [--server NAME]` (issue 4 section 6): preflight checks of the config file against AWS,
 * run locally without the daemon (src/doctor). A config with errors is reported as `tandem config check`
 * would (exit 2); otherwise one finding per line, or `{ findings, summary }` with `--json`; exit 0 when no
 * finding is an error, 1 otherwise.
 */
import { loadConfig } from '../../client/credentials.ts';
import { exitCodeOf, renderDoctor, runDoctor } from '../../doctor/index.ts';
import { stringOpt, UsageError } from '../args.ts';
import type { Command } from '../context.ts';
import { emit } from '../context.ts';

export const doctorCommand: Command = {
  verb: 'doctor',
  summary: 'check the AWS setup of the config (access, IMDS, VPC, ENI, EIP, DNS, zones, IAM, timing)',
  usage: ['doctor [--server NAME]'],
  options: [{ name: 'server', value: true }],
  async run(ctx, positionals, args) {
    const [extra] = positionals;
    if (extra !== undefined) throw new UsageError(`unexpected argument ${extra}`, '');
    const { config, warnings } = await loadConfig(ctx.configPath);
    const server = stringOpt(args, 'server') ?? null;
    if (server !== null && !config.servers.some((s) => s.name === server)) {
      throw new UsageError(
        `--server ${server}: no such server in ${ctx.configPath} (servers: ${config.servers.map((s) => s.name).join(', ')})`,
        '',
      );
    }
    const report = await runDoctor(config, { server, env: { ...ctx.io.env }, configWarnings: warnings });
    emit(ctx, report, renderDoctor);
    return exitCodeOf(report);
  },
};
