/** Golden tests of every text renderer with fixed inputs (test/fixtures/cli/golden/*.txt). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { expectGolden } from '../../../test/fixtures/cli/golden.ts';
import {
  sampleAlerts,
  sampleMirrors,
  samplePlan,
  sampleStatus,
} from '../../../test/fixtures/cli/fixtures.ts';
import type { StatusDoc } from '../../shared/status.ts';
import { renderJson, renderJsonError } from './json.ts';
import {
  renderAlerts,
  renderApiError,
  renderConfigCheck,
  renderMirrors,
  renderOpResult,
  renderPlan,
  renderStatus,
} from './text.ts';

describe('text renderers (golden)', () => {
  it('status: two servers, heartbeats, NP, groups with resources, monitors, warnings', () => {
    expectGolden('status', renderStatus(sampleStatus()));
  });

  it('mirror disks: in the status view and in md status (in sync, resyncing, split brain, not open)', () => {
    const mirrors = sampleMirrors();
    const [a] = mirrors;
    if (!a) throw new Error('fixture');
    mirrors.push(
      {
        ...a,
        name: 'md3',
        connection: 'SplitBrain: both copies were written while disconnected',
        peer: 'SplitBrain',
        local: 'SplitBrain',
      },
      {
        ...a,
        name: 'md4',
        role: 'none',
        local: 'Unknown',
        peer: 'Unknown',
        connection: 'Disconnected',
        error: { code: 'MD_META_CORRUPT', message: 'both metadata slots are damaged', remedy: 'restore' },
      },
    );
    expectGolden('status-mirrors', renderStatus({ ...sampleStatus(), mirrors }));
    expectGolden('md-status', renderMirrors({ mirrors }));
    assert.equal(renderMirrors({ mirrors: [] }), 'No mirror disk on this server.\n');
  });

  it('status: minimal document (optional fields absent, nothing configured)', () => {
    const doc: StatusDoc = {
      cluster: { name: 'lonely', state: 'unknown' },
      servers: [{ name: 'node-1', state: 'unknown', local: true, heartbeats: [], np: [] }],
      groups: [],
      monitors: [],
    };
    expectGolden('status-minimal', renderStatus(doc));
  });

  it('status: isolated server, peer heard via witness, config mismatch, group failing over', () => {
    const doc = sampleStatus();
    doc.cluster = { name: 'cluster1', state: 'degraded' };
    const [a, b] = doc.servers;
    if (a === undefined || b === undefined) throw new Error('fixture');
    a.state = 'isolated';
    b.heardVia = 'witness';
    b.heartbeats = [
      { name: 'lan1', state: 'error', lastHeardAgoMs: 12_500 },
      { name: 'witness', state: 'normal', lastHeardAgoMs: 800 },
    ];
    b.configMismatch = { ours: 'aaaaaaaaaaaaaaaaaaaaaaaa', theirs: 'bbbbbbbbbbbbbbbbbbbbbbbb' };
    const g = doc.groups[0];
    if (g === undefined) throw new Error('fixture');
    g.state = 'stopping';
    g.resources = g.resources.map((r) => ({ ...r, state: 'stopping' }));
    doc.monitors = doc.monitors.map((m) => ({ ...m, state: 'suspended' }));
    expectGolden('status-isolated', renderStatus(doc));
  });

  it('operation results, with and without per-server results', () => {
    expectGolden(
      'op-result',
      renderOpResult({ ok: true, message: 'group failover1 moved to node-2', server: 'node-2' }) +
        renderOpResult({
          ok: true,
          message: 'cluster stop: done on node-1, node-2',
          results: [
            { server: 'node-1', ok: true, message: 'cluster service stopped on node-1' },
            { server: 'node-2', ok: true, message: 'cluster service stopped on node-2' },
          ],
        }),
    );
  });

  it('alerts, and the empty log', () => {
    expectGolden('alerts', renderAlerts(sampleAlerts()) + renderAlerts([]));
  });

  it("plan: the daemon's text; a fallback when it sent none", () => {
    expectGolden(
      'plan',
      renderPlan({
        plan: samplePlan(),
        text: 'Plan on node-1:\n  start exec3 on node-1 (due to failover)\n\n',
      }) +
        renderPlan({ plan: samplePlan(), text: '' }) +
        renderPlan({ plan: { server: 'node-2', steps: [] }, text: '' }),
    );
  });

  it('errors: refused, failed, and no answer', () => {
    expectGolden(
      'errors',
      renderApiError(
        'tandem',
        {
          code: 'SERVER_NOT_ELIGIBLE',
          object: 'group failover1',
          message: 'node-2 has a failover mark for failover1',
          remedy: 'run tandem group reset failover1 once the cause is fixed',
        },
        true,
      ) +
        renderApiError(
          'clpgrp',
          {
            code: 'TIMEOUT',
            object: 'server node-2',
            message: 'no answer in 5000 ms',
            remedy: 'check tandem status',
          },
          true,
        ) +
        renderApiError(
          'tandem',
          {
            code: 'PEER_UNREACHABLE',
            object: 'api http://127.0.0.1:29003',
            message: 'cannot reach the Tandem API at http://127.0.0.1:29003: ECONNREFUSED',
            remedy:
              'is the daemon running on that server? start it with tandem daemon --config FILE --server NAME',
          },
          false,
        ),
    );
  });

  it('config check: valid with a warning, and invalid', () => {
    expectGolden(
      'config-check',
      renderConfigCheck({
        file: 'cluster.yaml',
        lines: [
          'cluster.yaml:1:1: cluster: two servers and neither a witness nor fencing; add cluster.witness',
        ],
        errors: 0,
        warnings: 1,
        summary: { cluster: 'cluster1', servers: 2, groups: 1, resources: 1, monitors: 1 },
      }) +
        renderConfigCheck({
          file: 'bad.yaml',
          lines: ['bad.yaml:3:14: cluster.heartbeat.timeout: must be greater than interval; raise it'],
          errors: 1,
          warnings: 0,
          summary: null,
        }),
    );
  });

  it('json: pretty-printed documents and ErrorBody', () => {
    assert.equal(renderJson({ a: 1 }), '{\n  "a": 1\n}\n');
    assert.deepEqual(JSON.parse(renderJsonError({ code: 'C', object: 'o', message: 'm', remedy: 'r' })), {
      error: { code: 'C', object: 'o', message: 'm', remedy: 'r' },
    });
  });
});
