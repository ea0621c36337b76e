/**
 * Helpers for the config layer's tests (and for other parts' tests that need a small valid config): a
 * minimal valid cluster YAML, a way to edit it by text, and `at()`, which finds the line:col of a marker
 * in YAML text independently of the YAML parser, so position tests check the locator against the text.
 */
import { parseConfigText } from './parse.ts';
import type { ConfigResult } from './compile.ts';
import type { ConfigIssue } from './types.ts';

/** Where test configs pretend to live. */
export const TEST_FILE = '/etc/tandem/cluster.yaml';

/** A valid two-server config with a witness (so it compiles without warnings). */
export const BASE_YAML = `cluster:
  name: c1
  secretFile: ./cluster.secret
  witness: { target: 127.0.0.9 }
servers:
  - name: node-1
    interconnects: ["127.0.0.1:29102"]
  - name: node-2
    interconnects: ["127.0.0.2:29102"]
groups:
  - name: g1
    resources:
      - name: exec1
        type: exec
        start: ./start.sh
monitors: []
`;

/**
 * The AWS example of docs/configuration.md ("Example: VIP, EIP and DNS on AWS"; a test checks they are
 * the same text): two servers on two instances, awsvip + awseip + awsdns + exec in one group, a declared
 * awsdnsw and an awsazw, `aws:` and `fencing:` with every key. Compiles without warnings.
 */
export const AWS_YAML = `cluster:
  name: cluster1
  secretFile: ./cluster.secret
  networkPartition:
    http:
      - { target: aws.amazon.com, port: 443, ssl: true }
servers:
  - name: node-1                        # instance i-0000000000000001 in us-east-1a
    interconnects: ["10.0.1.10"]
  - name: node-2                        # instance i-0000000000000002 in us-east-1b
    interconnects: ["10.0.2.10"]
aws:
  region: us-east-1                     # default: AWS_REGION, the profile, then the instance metadata
  profile: ha                           # default: AWS_PROFILE, else default
  proxy: http://proxy.example:3128      # AWS API calls only, never the instance metadata
  callTimeout: 100s
  environment: { AWS_STS_REGIONAL_ENDPOINTS: regional }
fencing:
  type: aws
  action: stop                          # stop | reboot
  timeout: 180s
  checkInterval: 60s
  servers:
    node-1: { instanceId: i-0000000000000001, delay: 0s }   # node-1 survives a mutual loss
    node-2: { instanceId: i-0000000000000002, delay: 5s }
groups:
  - name: failover1
    resources:
      - name: awsvip1
        type: awsvip
        ip: 10.1.0.20                   # outside the VPC's CIDR blocks
        vpcId: vpc-0a1b2c3d
        assignAddress: true
        servers:
          node-1: { eniId: eni-0000000000000001, interface: eth0 }
          node-2: { eniId: eni-0000000000000002, interface: eth0 }
      - name: awseip1
        type: awseip
        allocationId: eipalloc-0000000000000001
        servers:
          node-1: { eniId: eni-0000000000000001 }
          node-2: { eniId: eni-0000000000000002 }
      - name: awsdns1
        type: awsdns
        hostedZoneId: Z0123456789ABC
        recordName: srv.hz1.local.
        ttl: 300
        deleteOnStop: true
        servers:
          node-1: { ipAddress: 10.0.1.10 }
          node-2: { ipAddress: 10.0.2.10 }
      - name: app1
        type: exec                      # follows awsvip1, awseip1 and awsdns1 by default
        start: ./start.sh
        stop: ./stop.sh
monitors:
  - name: awsdnsw1                      # replaces the automatic awsdnsw1 to ask the VPC resolver
    type: awsdnsw
    resource: awsdns1
    resolveCheck: true
    resolver: 10.0.0.2:53
  - name: awsazw1
    type: awsazw
    servers:
      node-1: { availabilityZone: us-east-1a }
      node-2: { availabilityZone: us-east-1b }
`;

/**
 * The mirror disk example of docs/configuration.md ("Example: mirror disk"; a test checks they are the
 * same text): two servers, an md resource with every key and an exec application that follows it.
 * Compiles without warnings.
 */
export const MD_YAML = `cluster:
  name: cluster1
  secretFile: ./cluster.secret
  witness: { target: 10.0.3.10 }        # a third machine; see "Mirror disks and split brain" below
servers:
  - name: node-1
    interconnects: ["10.0.1.10", "192.168.0.1"]   # lan1: service network; lan2: a dedicated link
  - name: node-2
    interconnects: ["10.0.2.10", "192.168.0.2"]
groups:
  - name: failover1
    resources:
      - name: md1
        type: md
        dataPath: /dev/xvdf2            # the data partition (same device name on both servers)
        clusterPath: /dev/xvdf1         # the cluster partition: the mirror's metadata
        mode: sync                      # sync | async (queueSize: 2048 applies to async only)
        nbd: null                       # default: the unix socket <stateDir>/nbd/md1.sock
        size: 10G                       # default: the data partition's size
        regionSize: 64K
        initialSync: full               # full | skip
        autoRecovery: true
        sendTimeout: 30s
        connectTimeout: 10s
        ackTimeout: 100s
        mount: { device: /dev/nbd0, path: /mnt/md1, fsType: ext4, options: noatime }
        servers:
          node-1: { mdc: 192.168.0.1 }  # the mirror connect over lan2, TCP port 29051
          node-2: { mdc: 192.168.0.2 }
      - name: app1
        type: exec                      # follows md1 by default: starts once /mnt/md1 is mounted
        start: ./start.sh
        stop: ./stop.sh
monitors: []                            # mdw1 and mdnw1 are added automatically
`;

function applyEdits(base: string, replacements: readonly [string, string][]): string {
  let text = base;
  for (const [from, to] of replacements) {
    if (!text.includes(from)) throw new Error(`edit: "${from}" not found in the base config`);
    text = text.replace(from, to);
  }
  return text;
}

/** `BASE_YAML` with each `[from, to]` text replacement applied; throws when `from` is absent. */
export function edit(...replacements: [string, string][]): string {
  return applyEdits(BASE_YAML, replacements);
}

/** `AWS_YAML` with each `[from, to]` text replacement applied; throws when `from` is absent. */
export function editAws(...replacements: [string, string][]): string {
  return applyEdits(AWS_YAML, replacements);
}

/** `MD_YAML` with each `[from, to]` text replacement applied; throws when `from` is absent. */
export function editMd(...replacements: [string, string][]): string {
  return applyEdits(MD_YAML, replacements);
}

/** 1-based line:col of the `nth` (0-based) occurrence of `marker` in `text`. */
export function at(text: string, marker: string, nth = 0): { line: number; col: number } {
  let idx = -1;
  for (let i = 0; i <= nth; i++) {
    idx = text.indexOf(marker, idx + 1);
    if (idx < 0) throw new Error(`at: "${marker}" (#${nth}) not found`);
  }
  const before = text.slice(0, idx);
  const line = before.split('\n').length;
  const col = idx - before.lastIndexOf('\n');
  return { line, col };
}

export function parse(text: string, file = TEST_FILE): ConfigResult {
  return parseConfigText(text, file);
}

export function errorsOf(r: ConfigResult): ConfigIssue[] {
  return r.issues.filter((i) => i.severity === 'error');
}

export function warningsOf(r: ConfigResult): ConfigIssue[] {
  return r.issues.filter((i) => i.severity === 'warning');
}
