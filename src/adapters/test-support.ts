/**
 * Helpers for the adapters' and the witness's tests: sample reports, free loopback ports and a throwaway
 * TLS certificate. Not used by the daemon.
 */
import { spawnSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
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

/** A UDP port free on `address` right now (bound and released; fine on loopback in tests). */
export function freeUdpPort(address: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createSocket('udp4');
    s.once('error', reject);
    s.bind({ address, port: 0 }, () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** A TCP port free on `address` right now; nothing listens on it once this resolves. */
export function freeTcpPort(address: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen({ host: address, port: 0 }, () => {
      const { port } = srv.address() as AddressInfo;
      srv.close(() => resolve(port));
    });
  });
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
