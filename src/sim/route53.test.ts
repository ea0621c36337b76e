/**
 * Route 53 simulator tests: the handler driven directly with SimRequest objects, and the real
 * `@aws-sdk/client-route-53` against a tiny loopback HTTP server (inside this test, independent of
 * server.ts) whose clock the test sets, so PENDING -> INSYNC is asserted exactly.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  ChangeResourceRecordSetsCommand,
  GetChangeCommand,
  GetHostedZoneCommand,
  InvalidChangeBatch,
  ListHostedZonesCommand,
  ListResourceRecordSetsCommand,
  Route53Client,
} from '@aws-sdk/client-route-53';
import type { Change } from '@aws-sdk/client-route-53';
import { ConfigError } from '../shared/errors.ts';
import type { SimRequest } from './http-types.ts';
import { deleteRecord, handleRoute53, listAll, parseRoute53World } from './route53.ts';
import type { Route53State } from './route53.ts';

const WORLD = [
  {
    id: 'Z0123456789ABC',
    name: 'Cluster.Example.internal',
    private: true,
    vpcs: ['vpc-1'],
    records: [{ name: 'db.cluster.example.internal', type: 'A', ttl: 60, values: ['10.0.1.10'] }],
  },
  { id: 'Z9PUBLIC', name: 'example.com.' },
];

function world(): Route53State {
  return parseRoute53World(WORLD, ['vpc-1', 'vpc-2']);
}

const AUTH =
  'AWS4-HMAC-SHA256 Credential=AKIDTEST/20260101/us-east-1/route53/aws4_request, SignedHeaders=host, Signature=ab';

function req(method: string, path: string, body = '', auth: string | null = AUTH): SimRequest {
  const url = new URL(path, 'http://sim');
  const headers: Record<string, string> = auth === null ? {} : { authorization: auth };
  return { method, path: url.pathname, query: url.searchParams, headers, body };
}

function upsert(
  name: string,
  type: 'A' | 'CNAME' | 'TXT',
  value: string,
  action: Change['Action'] = 'UPSERT',
): Change {
  return {
    Action: action,
    ResourceRecordSet: { Name: name, Type: type, TTL: 60, ResourceRecords: [{ Value: value }] },
  };
}

describe('parseRoute53World', () => {
  it('normalises names to lowercase FQDNs and defaults the TTL', () => {
    const state = parseRoute53World(
      [{ id: 'Z1', name: 'A.Example', records: [{ name: 'WWW.a.example', type: 'TXT', values: ['"x"'] }] }],
      [],
    );
    assert.deepEqual(listAll(state), [
      {
        id: 'Z1',
        name: 'a.example.',
        private: false,
        vpcs: [],
        records: [{ name: 'www.a.example.', type: 'TXT', ttl: 300, values: ['"x"'] }],
      },
    ]);
  });

  it('accepts a missing hostedZones key as no zones', () => {
    assert.deepEqual(listAll(parseRoute53World(undefined, [])), []);
  });

  it('names unknown VPC ids and every other problem by its path', () => {
    const raw = [
      { id: 'Z1', name: 'a.example', private: true, vpcs: ['vpc-1', 'vpc-nope'] },
      {
        id: 'Z1',
        name: 'b.example',
        records: [{ name: 'x.other.example', type: 'A', values: ['10.0.0.300'] }],
      },
    ];
    assert.throws(
      () => parseRoute53World(raw, ['vpc-1']),
      (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        assert.match(error.message, /unknown VPC vpc-nope/);
        assert.deepEqual(
          error.issues.map((i) => i.path),
          [
            'hostedZones[0].vpcs',
            'hostedZones[1].id',
            'hostedZones[1].records[0].name',
            'hostedZones[1].records[0].values[0]',
          ],
        );
        assert.match(
          error.issues[2]?.message ?? '',
          /RRSet with DNS name x\.other\.example\. is not permitted in zone b\.example\./,
        );
        return true;
      },
    );
  });

  it('reports schema errors with YAML paths', () => {
    assert.throws(
      () =>
        parseRoute53World(
          [{ id: 'bad', name: 'a.example', records: [{ name: 'x', type: 'MX', values: [] }] }],
          [],
        ),
      (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        const paths = error.issues.map((i) => i.path);
        assert.ok(paths.includes('hostedZones[0].id'), paths.join());
        assert.ok(paths.includes('hostedZones[0].records[0].type'), paths.join());
        assert.ok(paths.includes('hostedZones[0].records[0].values'), paths.join());
        return true;
      },
    );
    assert.throws(() => parseRoute53World({ not: 'a list' }, []), ConfigError);
  });
});

describe('handleRoute53 (direct)', () => {
  it('refuses unsigned and half-signed requests like AWS', () => {
    const state = world();
    const missing = handleRoute53(req('GET', '/2013-04-01/hostedzone', '', null), state, 0);
    assert.equal(missing.status, 403);
    assert.match(missing.body, /<Code>MissingAuthenticationToken<\/Code>/);
    const half = handleRoute53(
      req('GET', '/2013-04-01/hostedzone', '', 'AWS4-HMAC-SHA256 Credential=x'),
      state,
      0,
    );
    assert.equal(half.status, 403);
    assert.match(half.body, /<Code>IncompleteSignature<\/Code>/);
  });

  it('accepts a zone id in its /hostedzone/ form, encoded or not', () => {
    const state = world();
    for (const path of [
      '/2013-04-01/hostedzone/%2Fhostedzone%2FZ0123456789ABC',
      '/2013-04-01/hostedzone/hostedzone/Z0123456789ABC',
    ]) {
      const res = handleRoute53(req('GET', path), state, 0);
      assert.equal(res.status, 200, path);
      assert.match(res.body, /<Id>\/hostedzone\/Z0123456789ABC<\/Id>/);
    }
  });

  it('answers malformed XML with MalformedInput and an unknown route with InvalidAction', () => {
    const state = world();
    const bad = handleRoute53(
      req('POST', '/2013-04-01/hostedzone/Z0123456789ABC/rrset/', '<a><b></a>'),
      state,
      0,
    );
    assert.equal(bad.status, 400);
    assert.match(bad.body, /<Code>MalformedInput<\/Code>/);
    const unknown = handleRoute53(req('DELETE', '/2013-04-01/hostedzone/Z0123456789ABC'), state, 0);
    assert.match(unknown.body, /<Code>InvalidAction<\/Code>/);
  });

  it('checks RDATA, CNAME conflicts and DELETE values, and lists every message of a refused batch', () => {
    const state = world();
    const batch = (changes: string): string =>
      `<?xml version="1.0"?><ChangeResourceRecordSetsRequest xmlns="https://route53.amazonaws.com/doc/2013-04-01/">` +
      `<ChangeBatch><Changes>${changes}</Changes></ChangeBatch></ChangeResourceRecordSetsRequest>`;
    const change = (action: string, name: string, type: string, value: string, ttl = 60): string =>
      `<Change><Action>${action}</Action><ResourceRecordSet><Name>${name}</Name><Type>${type}</Type><TTL>${ttl}</TTL>` +
      `<ResourceRecords><ResourceRecord><Value>${value}</Value></ResourceRecord></ResourceRecords></ResourceRecordSet></Change>`;
    const res = handleRoute53(
      req(
        'POST',
        '/2013-04-01/hostedzone/Z0123456789ABC/rrset/',
        batch(
          change('UPSERT', 'bad.cluster.example.internal', 'A', '10.0.0') +
            change('UPSERT', 'db.cluster.example.internal', 'CNAME', 'other.example.com') +
            change('DELETE', 'db.cluster.example.internal', 'A', '10.0.1.10', 30),
        ),
      ),
      state,
      0,
    );
    assert.equal(res.status, 400);
    assert.match(res.body, /<Code>InvalidChangeBatch<\/Code>/);
    assert.match(
      res.body,
      /ARRDATAIllegalIPv4Address \(Value is not a valid IPv4 address\) encountered with &apos;10\.0\.0&apos;/,
    );
    assert.match(
      res.body,
      /RRSet of type CNAME with DNS name db\.cluster\.example\.internal\. is not permitted as it conflicts/,
    );
    assert.match(res.body, /but the values provided do not match the current values/);
    assert.match(
      res.body,
      /<Message>\[\[Invalid Resource Record: .*\], RRSet of type CNAME .*, Tried to delete .*\]<\/Message>/,
    );
    assert.equal(listAll(state)[0]?.records.length, 1);
    const entities = handleRoute53(
      req(
        'POST',
        '/2013-04-01/hostedzone/Z0123456789ABC/rrset/',
        batch(change('CREATE', 't.cluster.example.internal', 'TXT', '<![CDATA["a&b"]]> &lt;c&#x3e;')),
      ),
      state,
      0,
    );
    assert.equal(entities.status, 200, entities.body);
    assert.deepEqual(listAll(state)[0]?.records[1]?.values, ['"a&b" <c>']);
    const noTtl = handleRoute53(
      req(
        'POST',
        '/2013-04-01/hostedzone/Z0123456789ABC/rrset/',
        batch(
          '<Change><Action>UPSERT</Action><ResourceRecordSet><Name>n</Name><Type>A</Type></ResourceRecordSet></Change>',
        ),
      ),
      state,
      0,
    );
    assert.match(
      noTtl.body,
      /<Code>InvalidInput<\/Code><Message>Invalid request: Expected exactly one of \[AliasTarget/,
    );
  });

  it('deleteRecord removes a record behind the API and reports whether it existed', () => {
    const state = world();
    assert.equal(deleteRecord(state, '/hostedzone/Z0123456789ABC', 'DB.cluster.example.internal', 'A'), true);
    assert.equal(deleteRecord(state, 'Z0123456789ABC', 'db.cluster.example.internal.', 'A'), false);
    assert.equal(listAll(state)[0]?.records.length, 0);
  });
});

describe('Route 53 through the real SDK', () => {
  let state: Route53State;
  let nowMs = 1_700_000_000_000;
  let client: Route53Client;
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (c: Buffer) => chunks.push(c));
    request.on('end', () => {
      const url = new URL(request.url ?? '/', 'http://127.0.0.1');
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(request.headers)) if (typeof v === 'string') headers[k] = v;
      const res = handleRoute53(
        {
          method: request.method ?? 'GET',
          path: url.pathname,
          query: url.searchParams,
          headers,
          body: Buffer.concat(chunks).toString('utf8'),
        },
        state,
        nowMs,
      );
      response.writeHead(res.status, res.headers).end(res.body);
    });
  });

  before(async () => {
    state = world();
    state.insyncDelayMs = 1000;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    client = new Route53Client({
      endpoint: `http://127.0.0.1:${port}`,
      region: 'us-east-1',
      credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'test' },
      maxAttempts: 1,
    });
  });

  after(async () => {
    client.destroy();
    await new Promise<void>((resolve, reject) => server.close((e) => (e ? reject(e) : resolve())));
  });

  it('lists and gets zones, with VPCs for a private zone', async () => {
    const list = await client.send(new ListHostedZonesCommand({}));
    assert.deepEqual(
      list.HostedZones?.map((z) => [z.Id, z.Name, z.Config?.PrivateZone, z.ResourceRecordSetCount]),
      [
        ['/hostedzone/Z0123456789ABC', 'cluster.example.internal.', true, 1],
        ['/hostedzone/Z9PUBLIC', 'example.com.', false, 0],
      ],
    );
    assert.equal(list.IsTruncated, false);
    const page = await client.send(new ListHostedZonesCommand({ MaxItems: 1 }));
    assert.equal(page.IsTruncated, true);
    assert.equal(page.NextMarker, 'Z9PUBLIC');
    const rest = await client.send(new ListHostedZonesCommand({ Marker: page.NextMarker }));
    assert.deepEqual(
      rest.HostedZones?.map((z) => z.Id),
      ['/hostedzone/Z9PUBLIC'],
    );
    const zone = await client.send(new GetHostedZoneCommand({ Id: '/hostedzone/Z0123456789ABC' }));
    assert.equal(zone.HostedZone?.Name, 'cluster.example.internal.');
    assert.deepEqual(zone.VPCs, [{ VPCRegion: 'us-east-1', VPCId: 'vpc-1' }]);
  });

  it('UPSERT shows in the listing; GetChange goes PENDING then INSYNC after the delay', async () => {
    const changed = await client.send(
      new ChangeResourceRecordSetsCommand({
        HostedZoneId: 'Z0123456789ABC',
        ChangeBatch: {
          Comment: 'tandem awsdns1',
          Changes: [upsert('VIP.Cluster.example.internal', 'A', '10.0.1.100')],
        },
      }),
    );
    assert.equal(changed.ChangeInfo?.Status, 'PENDING');
    assert.match(changed.ChangeInfo?.Id ?? '', /^\/change\/C[0-9A-Z]+$/);
    assert.equal(changed.ChangeInfo?.SubmittedAt?.getTime(), nowMs);
    const records = await client.send(new ListResourceRecordSetsCommand({ HostedZoneId: 'Z0123456789ABC' }));
    assert.deepEqual(
      records.ResourceRecordSets?.map((r) => [r.Name, r.Type, r.TTL, r.ResourceRecords?.map((v) => v.Value)]),
      [
        ['db.cluster.example.internal.', 'A', 60, ['10.0.1.10']],
        ['vip.cluster.example.internal.', 'A', 60, ['10.0.1.100']],
      ],
    );
    nowMs += 999;
    assert.equal(
      (await client.send(new GetChangeCommand({ Id: changed.ChangeInfo?.Id }))).ChangeInfo?.Status,
      'PENDING',
    );
    nowMs += 1;
    assert.equal(
      (await client.send(new GetChangeCommand({ Id: changed.ChangeInfo?.Id }))).ChangeInfo?.Status,
      'INSYNC',
    );
  });

  it('pages ListResourceRecordSets by name and type', async () => {
    const first = await client.send(
      new ListResourceRecordSetsCommand({ HostedZoneId: 'Z0123456789ABC', MaxItems: 1 }),
    );
    assert.equal(first.IsTruncated, true);
    assert.equal(first.NextRecordName, 'vip.cluster.example.internal.');
    assert.equal(first.NextRecordType, 'A');
    const second = await client.send(
      new ListResourceRecordSetsCommand({
        HostedZoneId: 'Z0123456789ABC',
        StartRecordName: first.NextRecordName,
        StartRecordType: first.NextRecordType,
        MaxItems: 1,
      }),
    );
    assert.equal(second.IsTruncated, false);
    assert.deepEqual(
      second.ResourceRecordSets?.map((r) => r.Name),
      ['vip.cluster.example.internal.'],
    );
  });

  it('DELETE removes the record; DELETE of a missing one is InvalidChangeBatch with AWS message', async () => {
    const del = upsert('vip.cluster.example.internal.', 'A', '10.0.1.100', 'DELETE');
    await client.send(
      new ChangeResourceRecordSetsCommand({
        HostedZoneId: 'Z0123456789ABC',
        ChangeBatch: { Changes: [del] },
      }),
    );
    assert.deepEqual(
      listAll(state)[0]?.records.map((r) => r.name),
      ['db.cluster.example.internal.'],
    );
    await assert.rejects(
      client.send(
        new ChangeResourceRecordSetsCommand({
          HostedZoneId: 'Z0123456789ABC',
          ChangeBatch: { Changes: [del] },
        }),
      ),
      (error: Error & { $metadata?: { httpStatusCode?: number } }) => {
        assert.equal(error.name, 'InvalidChangeBatch');
        assert.equal(
          error.message,
          "[Tried to delete resource record set [name='vip.cluster.example.internal.', type='A'] but it was not found]",
        );
        assert.equal(error.$metadata?.httpStatusCode, 400);
        assert.ok(error instanceof InvalidChangeBatch);
        return true;
      },
    );
  });

  it('CREATE of an existing record and a name outside the zone are refused, atomically', async () => {
    await assert.rejects(
      client.send(
        new ChangeResourceRecordSetsCommand({
          HostedZoneId: 'Z0123456789ABC',
          ChangeBatch: {
            Changes: [
              upsert('new.cluster.example.internal.', 'A', '10.0.1.7'),
              upsert('db.cluster.example.internal.', 'A', '10.0.1.11', 'CREATE'),
            ],
          },
        }),
      ),
      (error: Error) => {
        assert.equal(error.name, 'InvalidChangeBatch');
        assert.equal(
          error.message,
          "[Tried to create resource record set [name='db.cluster.example.internal.', type='A'] but it already exists]",
        );
        return true;
      },
    );
    assert.equal(listAll(state)[0]?.records.length, 1, 'nothing of a refused batch is applied');
    await assert.rejects(
      client.send(
        new ChangeResourceRecordSetsCommand({
          HostedZoneId: 'Z0123456789ABC',
          ChangeBatch: { Changes: [upsert('x.example.com', 'A', '10.0.0.1')] },
        }),
      ),
      (error: Error) => {
        assert.equal(error.name, 'InvalidChangeBatch');
        assert.equal(
          error.message,
          '[RRSet with DNS name x.example.com. is not permitted in zone cluster.example.internal.]',
        );
        return true;
      },
    );
  });

  it('an unknown zone is NoSuchHostedZone with the message the seed documents; an unknown change is NoSuchChange', async () => {
    await assert.rejects(
      client.send(new ListResourceRecordSetsCommand({ HostedZoneId: 'ZNOPE' })),
      (error: Error & { $metadata?: { httpStatusCode?: number } }) => {
        assert.equal(error.name, 'NoSuchHostedZone');
        assert.equal(error.message, 'No hosted zone found with ID: ZNOPE');
        assert.equal(error.$metadata?.httpStatusCode, 404);
        return true;
      },
    );
    await assert.rejects(client.send(new GetChangeCommand({ Id: '/change/CNOPE' })), {
      name: 'NoSuchChange',
    });
  });
});
