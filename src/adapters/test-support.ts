/**
 * Helpers for the adapters' and the witness's tests: sample reports, free loopback ports and a throwaway
 * TLS certificate. Not used by the daemon.
 */
import { spawnSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PeerReport } from '../ports/transport.ts';

/** A complete, valid report of `server` in `cluster`; override any field. */
export function sampleReport(overrides: Partial<PeerReport> = {}): PeerReport {
  return {
    cluster: 'cluster1',
    server: 'node-1',
    incarnation: '001767225600000-0badcafe',
    seq: 1,
    sentAtMs: 1234.5,
    configHash: 'c0ffee',
    service: 'running',
    isolated: false,
    echo: { 'node-2': { incarnation: '001767225600001-12345678', sentAtMs: 99 } },
    groups: { failover1: { state: 'online', claim: null } },
    grants: {},
    failedGroups: [],
    monitorErrors: 0,
    resources: { exec1: 'online' },
    monitors: { custom1: 'normal' },
    ...overrides,
  };
}

/**
 * Ports for tests come from 20000-32767, below the kernel's ephemeral range (32768-60999 on Linux): a port
 * the kernel handed out for port 0 and that was released goes straight back into the pool the outgoing
 * connections of every test running in parallel draw from, and a daemon started a moment later found it
 * taken (EADDRINUSE). A port handed out once is not handed out again by this process.
 */
const PORT_LOW = 20_000;
const PORT_SPAN = 12_768;
const handedOut = new Set<string>();

function tryUdp(address: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createSocket('udp4');
    s.once('error', () => {
      s.close();
      resolve(false);
    });
    s.bind({ address, port }, () => s.close(() => resolve(true)));
  });
}

function tryTcp(address: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen({ host: address, port, exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

async function freePort(kind: 'udp' | 'tcp', address: string): Promise<number> {
  for (let i = 0; i < 500; i++) {
    const port = PORT_LOW + Math.floor(Math.random() * PORT_SPAN);
    const key = `${kind} ${address} ${port}`;
    if (handedOut.has(key)) continue;
    if (await (kind === 'udp' ? tryUdp(address, port) : tryTcp(address, port))) {
      handedOut.add(key);
      return port;
    }
  }
  throw new Error(`no free ${kind} port on ${address} in ${PORT_LOW}-${PORT_LOW + PORT_SPAN - 1}`);
}

/** A UDP port free on `address` right now (bound and released; fine on loopback in tests). */
export function freeUdpPort(address: string): Promise<number> {
  return freePort('udp', address);
}

/** A TCP port free on `address` right now; nothing listens on it once this resolves. */
export function freeTcpPort(address: string): Promise<number> {
  return freePort('tcp', address);
}

/**
 * A self-signed certificate for 127.0.0.1 made with the `openssl` command, or a message naming what to
 * install when it is missing (the caller skips, or fails under TANDEM_REQUIRE_ALL=1).
 */
export function makeTestCert(): { cert: Buffer; key: Buffer } | { missing: string } {
  const dir = mkdtempSync(join(tmpdir(), 'tandem-cert-'));
  try {
    const r = spawnSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-days',
        '2',
        '-subj',
        '/CN=127.0.0.1',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
      ],
      { encoding: 'utf8' },
    );
    if (r.error !== undefined || r.status !== 0) {
      return {
        missing: `openssl could not make a test certificate (install the Debian package openssl): ${r.error?.message ?? r.stderr}`,
      };
    }
    return { cert: readFileSync(join(dir, 'cert.pem')), key: readFileSync(join(dir, 'key.pem')) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Skip reason for a test that needs something missing, or throw under TANDEM_REQUIRE_ALL=1. */
export function skipUnlessRequired(missing: string): string {
  if (process.env.TANDEM_REQUIRE_ALL === '1') throw new Error(`TANDEM_REQUIRE_ALL=1 and ${missing}`);
  return missing;
}
