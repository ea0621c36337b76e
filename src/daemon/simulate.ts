/**
 * `tandem simulate --input FILE [--config FILE] [--at MS]`: replay one saved decision input (STYLE.md 19,
 * `<stateDir>/decisions/decision-<seq>-<digest>.json`, written by src/daemon/decision-log.ts) through the same
 * pure core that made it, and show the plan it gives, with reasons. Without `--at`, the plan is compared with
 * the one the daemon recorded: exit 0 when they match, 1 when the core now decides differently (after an
 * upgrade, say), 2 on bad input. This is how a decision seen in production is examined, reproduced in a
 * test, or checked against a newer core.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { indexConfig } from '../core/config-index.ts';
import type { NodeState } from '../core/model.ts';
import { decide, renderPlan } from '../core/node.ts';
import type { Plan } from '../core/types.ts';
import { formatIssue, parseConfigText } from '../shared/config/index.ts';

const USAGE = 'usage: tandem simulate --input DECISION.json [--config FILE] [--at MS]';

interface Io {
  stdout: (s: string) => void;
  stderr: (s: string) => void;
  env: Record<string, string | undefined>;
  cwd: string;
}

function parseArgs(
  argv: string[],
): { input: string | null; config: string | null; at: number | null } | string {
  const out = { input: null as string | null, config: null as string | null, at: null as number | null };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = argv[i + 1];
    if (a === '--input' && v !== undefined) out.input = v;
    else if (a === '--config' && v !== undefined) out.config = v;
    else if (a === '--at' && v !== undefined) {
      if (!/^\d+(\.\d+)?$/.test(v))
        return `--at takes a time in ms on the daemon's clock, not ${JSON.stringify(v)}`;
      out.at = Number(v);
    } else return `unknown or incomplete option ${JSON.stringify(a)}`;
    i++;
  }
  return out;
}

export async function main(argv: string[], opts: { prog: string; io?: Io }): Promise<number> {
  await Promise.resolve();
  const io: Io = opts.io ?? {
    stdout: (s) => process.stdout.write(s),
    stderr: (s) => process.stderr.write(s),
    env: process.env,
    cwd: process.cwd(),
  };
  const args = parseArgs(argv.slice(1));
  if (typeof args === 'string' || args.input === null) {
    io.stderr(
      `${opts.prog} simulate: ${typeof args === 'string' ? args : '--input is required'}\n${USAGE}\n`,
    );
    return 2;
  }
  const inputPath = resolve(io.cwd, args.input);
  let record: {
    server?: string;
    configHash?: string;
    nowMs?: number;
    plan?: Plan;
    extra?: { snapshot?: unknown };
  };
  try {
    record = JSON.parse(readFileSync(inputPath, 'utf8')) as typeof record;
  } catch (err) {
    io.stderr(
      `${opts.prog} simulate: cannot read the decision input ${inputPath}: ${(err as Error).message}\n`,
    );
    return 2;
  }
  const snapshot = record.extra?.snapshot;
  if (!snapshot || typeof snapshot !== 'object' || typeof record.nowMs !== 'number' || !record.plan) {
    io.stderr(
      `${opts.prog} simulate: ${inputPath} is not a decision input with a core snapshot (files under <stateDir>/decisions/ are)\n`,
    );
    return 2;
  }
  const configPath = resolve(io.cwd, args.config ?? io.env.TANDEM_CONFIG ?? '/etc/tandem/cluster.yaml');
  let text: string;
  try {
    text = readFileSync(configPath, 'utf8');
  } catch (err) {
    io.stderr(
      `${opts.prog} simulate: cannot read the config file ${configPath}: ${(err as NodeJS.ErrnoException).code ?? 'error'}; pass --config FILE (the config the daemon ran with)\n`,
    );
    return 2;
  }
  const { config, issues } = parseConfigText(text, configPath);
  if (!config) {
    for (const i of issues) if (i.severity === 'error') io.stderr(formatIssue(i, configPath) + '\n');
    return 2;
  }
  if (record.configHash && record.configHash !== config.hash) {
    io.stderr(
      `${opts.prog} simulate: ${configPath} is not the config this decision was made with (hash ${config.hash.slice(0, 12)}, the decision says ${record.configHash.slice(0, 12)}); pass the config file the daemon ran with\n`,
    );
    return 2;
  }
  const state = { ...(snapshot as Omit<NodeState, 'ix'>), ix: indexConfig(config) };
  const at = args.at ?? record.nowMs;
  const replayed = renderPlan(decide(state, at));
  io.stdout(`Replaying ${inputPath} (server ${record.server ?? state.self}, at ${at} ms)\n${replayed}\n`);
  if (args.at !== null) return 0;
  const recorded = renderPlan(record.plan);
  if (recorded === replayed) {
    io.stdout('The replayed plan matches the recorded one.\n');
    return 0;
  }
  io.stdout(`The recorded plan was different:\n${recorded}\n`);
  return 1;
}
