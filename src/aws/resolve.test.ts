/** The access layer's lookups without I/O: effective environment, endpoints, shared-file dialect, masking. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { CompiledAws } from '../shared/config/types.ts';
import {
  IMDS_IPV4,
  IMDS_IPV6,
  maskProxyUrl,
  parseIni,
  placesOf,
  profileKind,
  profileSection,
  regionFromEnv,
} from './resolve.ts';

function aws(over: Partial<CompiledAws> = {}): CompiledAws {
  return { region: null, profile: null, proxy: null, callTimeoutMs: 100_000, environment: {}, ...over };
}

describe('placesOf', () => {
  it('takes aws.environment over the environment, and the service endpoints over AWS_ENDPOINT_URL', () => {
    const p = placesOf(
      aws({ environment: { AWS_ENDPOINT_URL_EC2: 'http://ec2.local:1', AWS_PROFILE: 'ha' } }),
      { AWS_ENDPOINT_URL: 'http://all.local:2', AWS_PROFILE: 'other', HOME: '/home/t' },
      '/unused',
    );
    assert.deepEqual(p.endpoints, {
      ec2: 'http://ec2.local:1',
      route53: 'http://all.local:2',
      imds: IMDS_IPV4,
    });
    assert.equal(p.profile, 'ha');
    assert.equal(p.profileOrigin, 'AWS_PROFILE');
    assert.equal(p.credentialsFile, '/home/t/.aws/credentials');
    assert.equal(p.configFile, '/home/t/.aws/config');
  });

  it('names Route 53 by AWS_ENDPOINT_URL_ROUTE_53, and no endpoint at all when nothing is set', () => {
    assert.deepEqual(placesOf(aws(), { AWS_ENDPOINT_URL_ROUTE_53: 'http://r53:3' }, '/h').endpoints, {
      ec2: null,
      route53: 'http://r53:3',
      imds: IMDS_IPV4,
    });
  });

  it('aws.profile wins over AWS_PROFILE; blank values count as unset; files from the environment, ~ expanded', () => {
    const p = placesOf(
      aws({ profile: 'cfg' }),
      {
        AWS_PROFILE: 'env',
        AWS_ENDPOINT_URL: '  ',
        AWS_SHARED_CREDENTIALS_FILE: '~/creds',
        AWS_CONFIG_FILE: '/etc/aws/config',
      },
      '/home/u',
    );
    assert.equal(p.profile, 'cfg');
    assert.equal(p.profileOrigin, 'aws.profile');
    assert.equal(p.endpoints.ec2, null);
    assert.equal(p.credentialsFile, '/home/u/creds');
    assert.equal(p.configFile, '/etc/aws/config');
    assert.equal(placesOf(aws(), {}, '/h').profileOrigin, 'default');
  });

  it('honours the IMDS endpoint override, the IPv6 mode and AWS_EC2_METADATA_DISABLED', () => {
    assert.equal(
      placesOf(aws(), { AWS_EC2_METADATA_SERVICE_ENDPOINT: 'http://127.0.0.1:9/' }, '/h').endpoints.imds,
      'http://127.0.0.1:9',
    );
    assert.equal(
      placesOf(aws(), { AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE: 'IPv6' }, '/h').endpoints.imds,
      IMDS_IPV6,
    );
    assert.equal(placesOf(aws(), { AWS_EC2_METADATA_DISABLED: 'true' }, '/h').imdsDisabled, true);
    assert.equal(placesOf(aws(), { AWS_EC2_METADATA_DISABLED: 'false' }, '/h').imdsDisabled, false);
  });
});

describe('regionFromEnv', () => {
  it('prefers AWS_REGION over AWS_DEFAULT_REGION', () => {
    assert.deepEqual(regionFromEnv({ AWS_REGION: 'eu-west-1', AWS_DEFAULT_REGION: 'us-east-1' }), {
      region: 'eu-west-1',
      variable: 'AWS_REGION',
    });
    assert.deepEqual(regionFromEnv({ AWS_DEFAULT_REGION: 'us-east-1' }), {
      region: 'us-east-1',
      variable: 'AWS_DEFAULT_REGION',
    });
    assert.equal(regionFromEnv({ AWS_REGION: '' }), null);
  });
});

describe('maskProxyUrl', () => {
  it('masks a password and leaves the rest', () => {
    assert.equal(maskProxyUrl('http://user:s3cret@proxy.local:3128'), 'http://user:****@proxy.local:3128');
    assert.equal(maskProxyUrl('http://user:s3cret@proxy.local:3128/'), 'http://user:****@proxy.local:3128/');
    assert.equal(maskProxyUrl('http://proxy.local:3128'), 'http://proxy.local:3128');
    assert.equal(maskProxyUrl('not a url //u:pw@x'), 'not a url //u:****@x');
  });
});

describe('parseIni and profileSection', () => {
  const config = parseIni(
    [
      '# comment',
      '[default]',
      'region = us-east-1 ; inline comment',
      '[profile ha]',
      'region=ap-northeast-1',
      's3 =',
      '  region = nested-ignored',
      'role_arn = arn:aws:iam::123456789012:role/ha',
      '[profile  spaced ]',
      'region = eu-west-1',
      '[sso-session corp]',
      'sso_region = us-east-1',
    ].join('\n'),
  );
  const creds = parseIni(
    '[default]\naws_access_key_id = AKID\naws_secret_access_key = s\n[ha]\nAWS_ACCESS_KEY_ID=X\n',
  );

  it('finds a profile as `[profile NAME]` in the config file and `[NAME]` in the credentials file', () => {
    assert.equal(profileSection(config, 'config', 'default')?.get('region'), 'us-east-1');
    assert.equal(profileSection(config, 'config', 'ha')?.get('region'), 'ap-northeast-1');
    assert.equal(profileSection(config, 'config', 'spaced')?.get('region'), 'eu-west-1');
    assert.equal(profileSection(config, 'config', 'corp'), undefined);
    assert.equal(profileSection(creds, 'credentials', 'ha')?.get('aws_access_key_id'), 'X');
    assert.equal(profileSection(creds, 'credentials', 'nope'), undefined);
  });

  it('skips nested sub-keys and tells a profile with a credential source from one without', () => {
    assert.equal(profileSection(config, 'config', 'ha')?.get('s3'), '');
    assert.deepEqual(profileKind(profileSection(config, 'config', 'ha')), {
      kind: 'incomplete',
      why: 'it has role_arn but not exactly one of source_profile and credential_source',
    });
    assert.deepEqual(profileKind(profileSection(config, 'config', 'default')), { kind: 'none' });
    assert.deepEqual(profileKind(profileSection(creds, 'credentials', 'default')), { kind: 'static' });
    assert.deepEqual(profileKind(undefined), { kind: 'none' });
  });

  it('merges [default] and [profile default] in the config file', () => {
    const both = parseIni('[default]\nregion = a\noutput = json\n[profile default]\nregion = b\n');
    const s = profileSection(both, 'config', 'default');
    assert.equal(s?.get('region'), 'b');
    assert.equal(s?.get('output'), 'json');
  });
});

describe('profileKind', () => {
  const kind = (text: string) => profileKind(parseIni(`[p]\n${text}`).get('p'));
  it('names the credential source of a profile, or why it is not one', () => {
    assert.deepEqual(kind('aws_access_key_id = A\naws_secret_access_key = S'), { kind: 'static' });
    assert.deepEqual(kind('aws_access_key_id = A'), {
      kind: 'incomplete',
      why: 'it has aws_access_key_id but no aws_secret_access_key',
    });
    assert.deepEqual(kind('role_arn = arn\nsource_profile = base'), { kind: 'assume-role' });
    assert.deepEqual(kind('role_arn = arn\ncredential_source = Ec2InstanceMetadata'), {
      kind: 'assume-role',
    });
    assert.deepEqual(kind('role_arn = arn\nweb_identity_token_file = /t'), { kind: 'web-identity' });
    assert.deepEqual(kind('credential_process = /bin/creds'), { kind: 'process' });
    assert.deepEqual(kind('sso_session = corp'), { kind: 'sso' });
    assert.deepEqual(kind('region = us-east-1'), { kind: 'none' });
  });
});
