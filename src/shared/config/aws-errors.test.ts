/**
 * Each error of the AWS parts of the config (issue 4 sections 1-4: `aws:`, `fencing:`, the awsvip / awseip /
 * awsdns resources and the AWS monitors) is reported with the right path, line:col (checked against the
 * text, not the YAML parser), message and remedy. Table-driven: each case edits the docs' AWS example.
 */
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { formatIssue } from './index.ts';
import { at, AWS_YAML, editAws, errorsOf, parse } from './testkit.ts';

const FENCING_BLOCK = AWS_YAML.slice(AWS_YAML.indexOf('fencing:\n'), AWS_YAML.indexOf('groups:\n'));
const NO_FENCING: [string, string] = [FENCING_BLOCK, ''];

interface ErrorCase {
  name: string;
  yaml: string;
  path: string;
  where: string | [string, number];
  message: RegExp;
  remedy?: RegExp;
}

const cases: ErrorCase[] = [
  {
    name: 'region',
    yaml: editAws(['region: us-east-1 ', 'region: us-east1 ']),
    path: 'aws.region',
    where: 'us-east1',
    message: /"us-east1" is not an AWS region name/,
    remedy: /us-east-1, ap-northeast-1 or us-gov-west-1/,
  },
  {
    name: 'proxy with a path',
    yaml: editAws(['proxy: http://proxy.example:3128', 'proxy: http://proxy.example:3128/x']),
    path: 'aws.proxy',
    where: 'http://proxy.example:3128/x',
    message: /has a path, query or fragment/,
    remedy: /http:\/\/host:port/,
  },
  {
    name: 'proxy that is no URL',
    yaml: editAws(['proxy: http://proxy.example:3128', 'proxy: proxy.example:3128']),
    path: 'aws.proxy',
    where: 'proxy.example:3128',
    message: /only http:\/\/ and https:\/\/ proxies|is not a URL/,
  },
  {
    name: 'environment variable name',
    yaml: editAws(['{ AWS_STS_REGIONAL_ENDPOINTS: regional }', '{ 1BAD: x }']),
    path: 'aws.environment["1BAD"]',
    where: '1BAD',
    message: /"1BAD" is not a valid environment variable name/,
  },
  {
    name: 'callTimeout zero',
    yaml: editAws(['  callTimeout: 100s', '  callTimeout: 0s']),
    path: 'aws.callTimeout',
    where: '0s',
    message: /is zero/,
  },
  {
    name: 'fencing: unknown server, with did-you-mean',
    yaml: editAws(['    node-1: { instanceId', '    node1: { instanceId']),
    path: 'fencing.servers.node1',
    where: 'node1:',
    message: /unknown server "node1"/,
    remedy: /did you mean "node-1"/,
  },
  {
    name: 'fencing: a server without an entry',
    yaml: editAws(['    node-2: { instanceId: i-0000000000000002, delay: 5s }\n', '']),
    path: 'fencing.servers.node-2',
    where: 'servers:\n    node-1',
    message: /^server node-2 has no entry, so it cannot be fenced$/,
    remedy: /add node-2: \{ instanceId: i-\.\.\., delay: \.\.\. \} under fencing\.servers/,
  },
  {
    name: 'fencing: instance id',
    yaml: editAws(['instanceId: i-0000000000000002', 'instanceId: i-123']),
    path: 'fencing.servers.node-2.instanceId',
    where: 'i-123',
    message: /"i-123" is not a valid EC2 instance id/,
    remedy: /8 to 17 hex digits/,
  },
  {
    name: 'fencing: one instance for two servers',
    yaml: editAws(['instanceId: i-0000000000000002', 'instanceId: i-0000000000000001']),
    path: 'fencing.servers.node-2.instanceId',
    where: ['i-0000000000000001', 2],
    message: /^instanceId i-0000000000000001 is set for both node-1 and node-2$/,
  },
  {
    name: 'fencing: equal delays',
    yaml: editAws(['delay: 5s', 'delay: 0s']),
    path: 'fencing.servers.node-2.delay',
    where: ['0s }', 1],
    message: /^node-1 and node-2 have the same fencing delay \(0s\)$/,
    remedy:
      /two servers with the same delay may fence each other at the same moment; give the server that should survive a partition the smaller delay/,
  },
  {
    name: 'fencing: type',
    yaml: editAws(['  type: aws\n', '  type: gcp\n']),
    path: 'fencing.type',
    where: 'gcp',
    message: /"gcp" is not allowed here/,
    remedy: /use one of: aws/,
  },
  {
    name: 'fencing: servers missing',
    yaml: editAws([FENCING_BLOCK, 'fencing: { type: aws }\n']),
    path: 'fencing.servers',
    where: 'fencing: {',
    message: /required key "servers" is missing/,
  },
  {
    name: 'awsvip: a server without an ENI',
    yaml: editAws([
      'node-2: { eniId: eni-0000000000000002, interface: eth0 }',
      'node-2: { interface: eth0 }',
    ]),
    path: 'groups[0].resources[0].servers.node-2.eniId',
    where: 'node-2: { interface',
    message: /^no eniId for node-2, which can run group failover1$/,
    remedy:
      /set servers\.node-2\.eniId to the ENI of node-2's instance.*each server routes the VIP to its own ENI/,
  },
  {
    name: 'awsvip: two servers on one ENI',
    yaml: editAws([
      'node-2: { eniId: eni-0000000000000002, interface: eth0 }',
      'node-2: { eniId: eni-0000000000000001, interface: eth0 }',
    ]),
    path: 'groups[0].resources[0].servers.node-2.eniId',
    where: ['eni-0000000000000001', 1],
    message: /^eniId eni-0000000000000001 is set for both node-1 and node-2$/,
    remedy: /^each server routes the VIP to its own ENI: set servers\.node-2\.eniId/,
  },
  {
    name: 'awseip: one common ENI for two servers',
    yaml: editAws([
      '        allocationId: eipalloc-0000000000000001\n        servers:\n          node-1: { eniId: eni-0000000000000001 }\n          node-2: { eniId: eni-0000000000000002 }\n',
      '        allocationId: eipalloc-0000000000000001\n        eniId: eni-0000000000000009\n',
    ]),
    path: 'groups[0].resources[1].eniId',
    where: 'eni-0000000000000009',
    message: /^eniId eni-0000000000000009 is set for both node-1 and node-2$/,
    remedy: /each server associates the Elastic IP with its own ENI: set servers\.node-2\.eniId/,
  },
  {
    name: 'awsvip: address with a prefix',
    yaml: editAws(['ip: 10.1.0.20 ', 'ip: 10.1.0.20/32 ']),
    path: 'groups[0].resources[0].ip',
    where: '10.1.0.20/32',
    message: /"10\.1\.0\.20\/32" has a prefix length/,
    remedy: /write the address alone: 10\.1\.0\.20$/,
  },
  {
    name: 'awsvip: VPC id',
    yaml: editAws(['vpcId: vpc-0a1b2c3d', 'vpcId: vpc-XYZ']),
    path: 'groups[0].resources[0].vpcId',
    where: 'vpc-XYZ',
    message: /"vpc-XYZ" is not a valid vpcId/,
    remedy: /vpc- followed by/,
  },
  {
    name: 'awsvip: interface name',
    yaml: editAws(['eni-0000000000000001, interface: eth0', 'eni-0000000000000001, interface: "eth 0"']),
    path: 'groups[0].resources[0].servers.node-1.interface',
    where: '"eth 0"',
    message: /is not a Linux interface name/,
  },
  {
    name: 'awseip: allocation id',
    yaml: editAws(['allocationId: eipalloc-0000000000000001', 'allocationId: eip-1']),
    path: 'groups[0].resources[1].allocationId',
    where: 'eip-1',
    message: /"eip-1" is not a valid allocationId/,
  },
  {
    name: 'awsdns: record name with one label',
    yaml: editAws(['recordName: srv.hz1.local.', 'recordName: srv']),
    path: 'groups[0].resources[2].recordName',
    where: 'srv\n',
    message: /^"srv" is not a fully qualified domain name$/,
    remedy: /full name of the record/,
  },
  {
    name: 'awsdns: a server without an address',
    yaml: editAws(['          node-2: { ipAddress: 10.0.2.10 }\n', '']),
    path: 'groups[0].resources[2].servers.node-2.ipAddress',
    where: ['servers:\n          node-1: { ipAddress', 0],
    message: /^no ipAddress for node-2, which can run group failover1$/,
  },
  {
    name: 'awsdns: hosted zone id',
    yaml: editAws(['hostedZoneId: Z0123456789ABC', 'hostedZoneId: z0123']),
    path: 'groups[0].resources[2].hostedZoneId',
    where: 'z0123',
    message: /"z0123" is not a Route 53 hosted zone id/,
  },
  {
    name: 'awsdns: ttl',
    yaml: editAws(['ttl: 300', 'ttl: -1']),
    path: 'groups[0].resources[2].ttl',
    where: '-1\n        deleteOnStop',
    message: /-1 is too small/,
  },
  {
    name: 'awsdnsw: resource of another type',
    yaml: editAws(['    resource: awsdns1\n', '    resource: awsvip1\n']),
    path: 'monitors[0].resource',
    where: 'awsvip1\n    resolveCheck',
    message: /^resource "awsvip1" is of type awsvip, not awsdns$/,
    remedy: /awsdns resources: awsdns1/,
  },
  {
    name: 'awsdnsw: resolver port',
    yaml: editAws(['resolver: 10.0.0.2:53', 'resolver: 10.0.0.2:99999']),
    path: 'monitors[0].resolver',
    where: '10.0.0.2:99999',
    message: /"99999" is not a port number/,
    remedy: /10\.0\.0\.2:53/,
  },
  {
    name: 'awsazw: a region instead of a zone',
    yaml: editAws(['availabilityZone: us-east-1b', 'availabilityZone: us-east-1']),
    path: 'monitors[1].servers.node-2.availabilityZone',
    where: 'us-east-1 }',
    message: /"us-east-1" is a region, not an availability zone/,
  },
  {
    name: 'awsvipw: unknown resource',
    yaml: editAws(['monitors:\n', 'monitors:\n  - { name: v, type: awsvipw, resource: awsvip2 }\n']),
    path: 'monitors[0].resource',
    where: 'awsvip2',
    message: /unknown resource "awsvip2"/,
    remedy: /did you mean "awsvip1"\?/,
  },
  {
    name: 'awsazw: a server without a zone',
    yaml: editAws(['      node-2: { availabilityZone: us-east-1b }\n', '']),
    path: 'monitors[1].servers.node-2.availabilityZone',
    where: ['servers:\n      node-1: { availabilityZone', 0],
    message: /^no availabilityZone for node-2$/,
    remedy: /servers\.node-2\.availabilityZone/,
  },
  {
    name: 'awsazw: a zone id instead of a name',
    yaml: editAws(['availabilityZone: us-east-1a', 'availabilityZone: use1-az1']),
    path: 'monitors[1].servers.node-1.availabilityZone',
    where: 'use1-az1',
    message: /is an availability zone id, not a zone name/,
  },
  {
    name: 'awsfencew without fencing',
    yaml: editAws(NO_FENCING, ['monitors:\n', 'monitors:\n  - { name: f, type: awsfencew }\n']),
    path: 'monitors[0].type',
    where: 'awsfencew',
    message: /^fencing is not configured/,
    remedy: /add a fencing: section/,
  },
  {
    name: 'a monitor named like the fencing check',
    yaml: editAws([
      'monitors:\n',
      'monitors:\n  - { name: fencew, type: custom, command: x, recovery: { target: failover1 } }\n',
    ]),
    path: 'monitors[0].name',
    where: ['fencew', 0],
    message: /"fencew" is the name of the automatic fencing check monitor/,
    remedy: /type: awsfencew/,
  },
];

describe('AWS config errors: path, line:col, message, remedy', () => {
  for (const c of cases) {
    it(c.name, () => {
      const r = parse(c.yaml);
      assert.equal(r.config, null, 'a config with errors is not returned');
      const hit = errorsOf(r).find((e) => e.path === c.path && c.message.test(e.message));
      assert.ok(
        hit,
        `no error at ${c.path} matching ${String(c.message)}; got:\n${r.issues.map((i) => formatIssue(i, 'f')).join('\n')}`,
      );
      const [marker, nth] = typeof c.where === 'string' ? [c.where, 0] : c.where;
      assert.deepEqual({ line: hit.line, col: hit.col }, at(c.yaml, marker, nth));
      if (c.remedy) assert.match(hit.remedy, c.remedy);
      assert.ok(hit.remedy.length > 0, 'every issue says how to fix it');
    });
  }
});
