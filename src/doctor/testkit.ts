/**
 * Test helpers of `tandem doctor` (not used by the command): the config of the simulator's demo world
 * (src/sim/demo-world.yaml and the mistake worlds in src/sim/worlds/), pointed at a simulator URL, with
 * the keys of one of the worlds' IAM users in `aws.environment`. Shared by doctor.test.ts and
 * doctor-cli.test.ts.
 */

/** The access keys of the worlds' IAM users. */
export const KEYS = {
  allowed: ['AKIASIMALLOWED000001', 'allowed-secret'],
  denied: ['AKIASIMDENIED0000001', 'denied-secret'],
} as const;

/** The config of the demo world: awsvip + awseip + awsdns on two servers, an awsazw, fencing. */
export function doctorYaml(o: {
  url: string;
  keys?: keyof typeof KEYS | null;
  edits?: Array<[string, string]>;
}): string {
  const keys = o.keys === null ? null : KEYS[o.keys ?? 'allowed'];
  let text = `cluster:
  name: cluster1
  secretFile: ./cluster.secret
servers:
  - name: node-1
    interconnects: ["127.0.0.1"]
  - name: node-2
    interconnects: ["127.0.0.2"]
aws:
  region: us-east-1
  callTimeout: 10s
  environment:
    AWS_ENDPOINT_URL: ${o.url}
${keys === null ? '' : `    AWS_ACCESS_KEY_ID: ${keys[0]}\n    AWS_SECRET_ACCESS_KEY: ${keys[1]}\n`}fencing:
  type: aws
  servers:
    node-1: { instanceId: i-0000000000000001, delay: 0s }
    node-2: { instanceId: i-0000000000000002, delay: 5s }
groups:
  - name: failover1
    resources:
      - name: awsvip1
        type: awsvip
        ip: 10.1.0.20
        vpcId: vpc-0a1b2c3d
        assignAddress: false
        servers:
          node-1: { eniId: eni-0000000000000001 }
          node-2: { eniId: eni-0000000000000002 }
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
        ttl: 60
        servers:
          node-1: { ipAddress: 10.0.1.10 }
          node-2: { ipAddress: 10.0.2.10 }
monitors:
  - name: awsazw1
    type: awsazw
    servers:
      node-1: { availabilityZone: us-east-1a }
      node-2: { availabilityZone: us-east-1b }
`;
  for (const [from, to] of o.edits ?? []) {
    if (!text.includes(from)) throw new Error(`edit: "${from}" not in the config`);
    text = text.replace(from, to);
  }
  return text;
}
