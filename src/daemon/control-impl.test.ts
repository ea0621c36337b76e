// Tests of LoopControl: reads come from the loop's view, operations go through the loop's request queue,
// the plan text uses the injected renderer and alerts come from the alert log.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { OperatorOp, OperatorReply } from '../core/types.ts';
import { RecordingLogger } from '../adapters/recording-logger.ts';
import { makeConfig } from '../../test/daemon-fakes/config.ts';
import { MemoryAlertLog, STATUS } from '../../test/daemon-fakes/fake-node.ts';
import { LoopControl } from './control-impl.ts';

void test('LoopControl reads the view, routes, renders the plan and operates through the loop', async () => {
  const asked: [OperatorOp, number][] = [];
  const alertLog = new MemoryAlertLog();
  alertLog.append({
    time: 1,
    server: 'node-1',
    level: 'info',
    objectKind: 'group',
    object: 'g',
    code: 'X',
    message: 'm',
  });
  const logger = new RecordingLogger();
  const c = new LoopControl({
    server: 'node-1',
    config: makeConfig({ baseDir: '/tmp' }),
    loop: {
      view: () => ({
        status: STATUS,
        plan: {
          server: 'node-1',
          steps: [{ id: 's1', text: 'start exec1 on node-1', reason: 'r', dependsOn: [] }],
        },
      }),
      routeFor: (op) => (op.op === 'group-move' ? 'node-2' : 'node-1'),
      request: (op, timeoutMs): Promise<OperatorReply> => {
        asked.push([op, timeoutMs]);
        return Promise.resolve({
          requestId: 'r1',
          ok: false,
          code: 'GROUP_BUSY',
          object: 'failover1',
          message: 'busy',
        });
      },
    },
    alertLog,
    logger,
    renderPlan: (p) => p.steps.map((s) => `- ${s.text}`).join('\n'),
  });
  assert.equal(c.status(), STATUS);
  assert.equal(c.planText(), '- start exec1 on node-1');
  assert.equal(c.routeFor({ op: 'group-move', group: 'failover1' }), 'node-2');
  assert.equal(c.alerts({}).length, 1);
  const r = await c.operate({ op: 'group-stop', group: 'failover1' }, { timeoutMs: 1234, forwarded: true });
  assert.equal(r.code, 'GROUP_BUSY');
  assert.deepEqual(asked, [[{ op: 'group-stop', group: 'failover1' }, 1234]]);
  assert.ok(logger.lines.some((l) => l.level === 'warn' && l.fields.code === 'GROUP_BUSY'));
});
