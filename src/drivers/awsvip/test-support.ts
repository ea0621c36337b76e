/**
 * Helpers of the awsvip tests: the shared AWS test helpers (../aws-common/test-support.ts, re-exported for
 * the tests that import them from here) and an in-memory twin of the local network.
 */
import { IpCommandError, type LocalNet } from './netif.ts';

export * from '../aws-common/test-support.ts';

/** An in-memory LocalNet: interfaces with IPv4 addresses; `ip address replace|del` edits them. */
export class FakeNet implements LocalNet {
  readonly ifaces = new Map<string, string[]>();
  readonly calls: string[][] = [];
  /** Thrown by the next `ip` calls while set. */
  failWith: IpCommandError | null = null;

  constructor(ifaces: Record<string, string[]> = {}) {
    for (const [k, v] of Object.entries(ifaces)) this.ifaces.set(k, [...v]);
  }

  addresses(): Map<string, string[]> {
    return new Map([...this.ifaces].filter(([, a]) => a.length > 0).map(([k, a]) => [k, [...a]]));
  }

  interfaceExists(name: string): boolean {
    return this.ifaces.has(name);
  }

  ip(args: string[]): Promise<void> {
    this.calls.push(args);
    if (this.failWith) return Promise.reject(this.failWith);
    const [obj, verb, cidr, dev, name] = args;
    const ip = (cidr ?? '').split('/')[0] ?? '';
    const list = name === undefined ? undefined : this.ifaces.get(name);
    if (obj !== 'address' || dev !== 'dev' || list === undefined) {
      const cmd = `ip ${args.join(' ')}`;
      return Promise.reject(
        new IpCommandError('failed', cmd, `Cannot find device "${name}"`, 'exited with status 1'),
      );
    }
    if (verb === 'replace' && !list.includes(ip)) list.push(ip);
    if (verb === 'del') {
      if (!list.includes(ip)) {
        const cmd = `ip ${args.join(' ')}`;
        const err = 'RTNETLINK answers: Cannot assign requested address';
        return Promise.reject(new IpCommandError('failed', cmd, err, `exited with status 2: ${err}`));
      }
      list.splice(list.indexOf(ip), 1);
    }
    return Promise.resolve();
  }
}
