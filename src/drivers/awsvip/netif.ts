/**
 * The local side of an `awsvip` resource (issue 4 section 2): the VIP as `ip/32` on the active server's
 * network interface, put there and removed with iproute2 (`ip address replace|del`, run with execFile, never
 * a shell). `LocalNet` is the narrow port the driver uses; `systemNet()` is the real one, and tests inject
 * a twin or point `ipCommand` at a script.
 *
 * Interfaces are read with `os.networkInterfaces()`, which lists only interfaces that are up and running:
 * an address on a down interface does not serve the VIP, so "not listed" is the right answer for checks.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { networkInterfaces } from 'node:os';

/** Why an `ip` command did not succeed. */
export class IpCommandError extends Error {
  readonly kind: 'not-installed' | 'failed' | 'timeout';
  /** The command line, for messages (`ip address replace 10.1.0.20/32 dev eth0`). */
  readonly command: string;
  readonly stderr: string;
  constructor(
    kind: IpCommandError['kind'],
    command: string,
    stderr: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'IpCommandError';
    this.kind = kind;
    this.command = command;
    this.stderr = stderr;
  }
}

export interface LocalNet {
  /** IPv4 addresses of every interface that is up, by interface name. */
  addresses(): Map<string, string[]>;
  /** Whether an interface of this name exists (up or down). */
  interfaceExists(name: string): boolean;
  /** Runs `ip ARGS`; resolves on exit status 0, rejects with an IpCommandError. */
  ip(args: string[], o: { signal: AbortSignal; timeoutMs: number }): Promise<void>;
}

/** The real port: os.networkInterfaces(), /sys/class/net, and `ipCommand` (default `ip` on PATH). */
export function systemNet(ipCommand = 'ip'): LocalNet {
  return {
    addresses() {
      const out = new Map<string, string[]>();
      for (const [name, list] of Object.entries(networkInterfaces())) {
        const v4 = (list ?? []).filter((a) => a.family === 'IPv4').map((a) => a.address);
        if (v4.length > 0) out.set(name, v4);
      }
      return out;
    },
    interfaceExists(name) {
      // Without sysfs (not Linux) we cannot tell: let the ip command say "Cannot find device".
      return !existsSync('/sys/class/net') || existsSync(`/sys/class/net/${name}`);
    },
    ip(args, o) {
      const command = [ipCommand, ...args].join(' ');
      return new Promise((resolve, reject) => {
        execFile(
          ipCommand,
          args,
          { signal: o.signal, timeout: Math.max(1, o.timeoutMs), killSignal: 'SIGKILL', encoding: 'utf8' },
          (err, _stdout, stderr) => {
            if (err === null) return resolve();
            const e: { code?: unknown; killed?: boolean; name: string; message: string } = err;
            const text = stderr.trim();
            if (e.code === 'ENOENT' || e.code === 'EACCES') {
              reject(
                new IpCommandError('not-installed', command, text, `${ipCommand}: ${e.message}`, {
                  cause: err,
                }),
              );
            } else if (e.killed === true || e.name === 'AbortError') {
              reject(
                new IpCommandError('timeout', command, text, `did not finish within ${o.timeoutMs} ms`, {
                  cause: err,
                }),
              );
            } else {
              const status = typeof e.code === 'number' ? `status ${e.code}` : e.message;
              reject(
                new IpCommandError(
                  'failed',
                  command,
                  text,
                  `exited with ${status}${text ? `: ${text}` : ''}`,
                  {
                    cause: err,
                  },
                ),
              );
            }
          },
        );
      });
    },
  };
}

/** The interface(s) holding `ip`; only `iface` when given. */
export function interfacesHolding(net: LocalNet, ip: string, iface: string | null): string[] {
  const out: string[] = [];
  for (const [name, addrs] of net.addresses()) {
    if ((iface === null || name === iface) && addrs.includes(ip)) out.push(name);
  }
  return out;
}

/** The first interface holding one of `ips` (the ENI's private addresses), or null. */
export function interfaceWithAny(net: LocalNet, ips: readonly string[]): string | null {
  for (const [name, addrs] of net.addresses()) if (addrs.some((a) => ips.includes(a))) return name;
  return null;
}

/** `ip address del` of an address that is not there: the goal (absent) is reached. */
export function isAddressAbsentError(e: IpCommandError): boolean {
  return e.kind === 'failed' && /Cannot assign requested address|Cannot find device/i.test(e.stderr);
}
