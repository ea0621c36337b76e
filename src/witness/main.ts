/**
 * Composition root of `tandem witness --listen ADDR:PORT [--tls-cert FILE --tls-key FILE] [--log-level L]`
 * (issue 3 section 3, "Witness heartbeat"). Starts the witness service (server.ts), logs with pino, and on
 * SIGTERM or SIGINT stops accepting, closes connections and returns 0. Usage errors return 2.
 */
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { parseArgs } from 'node:util';
import { createLogger } from '../adapters/logger.ts';
import type { LogLevel } from '../adapters/logger.ts';
import { createWitnessServer } from './server.ts';

const LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

function usage(prog: string): string {
  return [
    `Usage: ${prog} witness --listen ADDR:PORT [--tls-cert FILE --tls-key FILE] [--log-level LEVEL]`,
    '',
    'Runs the witness heartbeat service on a machine other than the cluster servers. Servers whose config',
    "has cluster.witness post their signed heartbeats to it and read their peers' last-seen ages.",
    '',
    '  --listen ADDR:PORT   address and TCP port to listen on (IPv6 as [ADDR]:PORT)',
    '  --tls-cert FILE      PEM certificate: serve HTTPS (needs --tls-key; set ssl: true in cluster.witness)',
    '  --tls-key FILE       PEM private key of --tls-cert',
    `  --log-level LEVEL    ${LEVELS.join(' | ')} (default info)`,
  ].join('\n');
}

/** `127.0.0.1:29004` or `[::1]:29004` -> host and port, or an error message. */
export function parseListen(s: string): { host: string; port: number } | { error: string } {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(s) ?? /^([^:]+):(\d+)$/.exec(s);
  const host = m?.[1];
  const port = Number(m?.[2]);
  if (host === undefined || !Number.isInteger(port) || port < 0 || port > 65535) {
    return { error: `--listen ${s}: expected ADDR:PORT such as 0.0.0.0:29004 or [::]:29004` };
  }
  if (isIP(host) === 0 && host !== 'localhost') {
    return { error: `--listen ${s}: ${host} is not an IP address; give the address to listen on` };
  }
  return { host, port };
}

export async function main(argv: string[], ctx: { prog: string }): Promise<number> {
  const args = argv[0] === 'witness' ? argv.slice(1) : argv;
  let values: {
    listen?: string;
    'tls-cert'?: string;
    'tls-key'?: string;
    'log-level'?: string;
    help?: boolean;
  };
  try {
    ({ values } = parseArgs({
      args,
      options: {
        listen: { type: 'string' },
        'tls-cert': { type: 'string' },
        'tls-key': { type: 'string' },
        'log-level': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    process.stderr.write(`${ctx.prog} witness: ${(err as Error).message}\n\n${usage(ctx.prog)}\n`);
    return 2;
  }
  if (values.help === true) {
    process.stdout.write(`${usage(ctx.prog)}\n`);
    return 0;
  }
  const fail = (msg: string): number => {
    process.stderr.write(`${ctx.prog} witness: ${msg}\n`);
    return 2;
  };
  if (values.listen === undefined) return fail(`--listen ADDR:PORT is required\n\n${usage(ctx.prog)}`);
  const listen = parseListen(values.listen);
  if ('error' in listen) return fail(listen.error);
  const level = (values['log-level'] ?? 'info') as LogLevel;
  if (!LEVELS.includes(level)) return fail(`--log-level ${level}: use one of ${LEVELS.join(', ')}`);
  const certFile = values['tls-cert'];
  const keyFile = values['tls-key'];
  if ((certFile === undefined) !== (keyFile === undefined))
    return fail('--tls-cert and --tls-key go together');
  let tls: { cert: Buffer; key: Buffer } | undefined;
  if (certFile !== undefined && keyFile !== undefined) {
    try {
      tls = { cert: readFileSync(certFile), key: readFileSync(keyFile) };
    } catch (err) {
      return fail(`cannot read TLS files: ${(err as Error).message}`);
    }
  }

  const log = createLogger({ level, server: 'witness' });
  let witness;
  try {
    witness = await createWitnessServer({
      host: listen.host,
      port: listen.port,
      ...(tls ? { tls } : {}),
      log,
    });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'ERROR';
    return fail(
      `cannot listen on ${values.listen} (${code}): ${(err as Error).message}; ` +
        (code === 'EADDRINUSE'
          ? 'stop the process using the port or pick another'
          : 'check the address and the TLS files'),
    );
  }
  log.info({ url: witness.address.url }, 'witness listening');

  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    const on = (sig: NodeJS.Signals): void => {
      process.removeListener('SIGTERM', on);
      process.removeListener('SIGINT', on);
      resolve(sig);
    };
    process.on('SIGTERM', on);
    process.on('SIGINT', on);
  });
  log.info({ signal }, 'witness stopping');
  await witness.close();
  log.info({}, 'witness stopped');
  return 0;
}
