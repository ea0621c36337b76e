/**
 * JSON schemas of every request and response of the control API (STYLE.md 22). Request schemas are strict
 * (unknown keys are a 400, never silently dropped); response schemas document the shapes of
 * src/shared/status.ts and src/client/types.ts and let objects carry additional fields, because those
 * documents are contracts to which fields may be added freely.
 */

const str = { type: 'string' } as const;
const int = { type: 'integer' } as const;
const num = { type: 'number' } as const;
const bool = { type: 'boolean' } as const;
const strList = { type: 'array', items: str } as const;

/** An object with these properties, all of them required unless listed in `optional`. */
function obj(properties: Record<string, unknown>, optional: readonly string[] = []): Record<string, unknown> {
  return {
    type: 'object',
    additionalProperties: true,
    required: Object.keys(properties).filter((k) => !optional.includes(k)),
    properties,
  };
}

function nullable(schema: Record<string, unknown>): Record<string, unknown> {
  const t = schema['type'];
  return { ...schema, type: Array.isArray(t) ? [...(t as string[]), 'null'] : [t, 'null'] };
}

function oneOf(values: readonly string[]): Record<string, unknown> {
  return { type: 'string', enum: values };
}

const pathState = oneOf(['normal', 'warning', 'error', 'unknown']);
const monitorState = oneOf(['normal', 'warning', 'error', 'suspended', 'offline']);
const lifecycleState = oneOf(['online', 'offline', 'starting', 'stopping', 'error']);
const codeMessage = nullable(obj({ code: num, message: str }));

export const errorBodySchema = {
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'object', 'message', 'remedy'],
      properties: { code: str, object: str, message: str, remedy: str },
    },
  },
} as const;

export const heartbeatStatusSchema = obj({ name: str, state: pathState, lastHeardAgoMs: nullable(num) }, [
  'lastHeardAgoMs',
]);

export const serverStatusSchema = obj(
  {
    name: str,
    state: oneOf(['online', 'offline', 'isolated', 'unknown']),
    local: bool,
    priority: int,
    service: oneOf(['running', 'stopped', 'starting', 'stopping', 'unknown']),
    heardVia: oneOf(['self', 'interconnect', 'witness', 'none']),
    heartbeats: { type: 'array', items: heartbeatStatusSchema },
    np: { type: 'array', items: obj({ name: str, state: pathState, detail: str }, ['detail']) },
    configMismatch: nullable(obj({ ours: str, theirs: str })),
    fencing: obj({ state: oneOf(['none', 'waiting', 'fencing', 'fenced', 'failed']), detail: str }),
  },
  ['priority', 'service', 'heardVia', 'configMismatch', 'fencing'],
);

export const resourceStatusSchema = obj({ name: str, type: str, state: lifecycleState, error: codeMessage }, [
  'error',
]);

export const groupStatusSchema = obj(
  {
    name: str,
    state: lifecycleState,
    server: nullable(str),
    resources: { type: 'array', items: resourceStatusSchema },
    failedOn: strList,
  },
  ['failedOn'],
);

export const monitorStatusSchema = obj(
  {
    name: str,
    type: str,
    state: monitorState,
    servers: { type: 'object', additionalProperties: monitorState },
    lastError: codeMessage,
  },
  ['servers', 'lastError'],
);

const clusterState = oneOf(['online', 'degraded', 'offline', 'unknown']);

const copyState = oneOf([
  'UpToDate',
  'Consistent',
  'Outdated',
  'Inconsistent',
  'SplitBrain',
  'Failed',
  'Unknown',
]);

export const mirrorDiskStatusSchema = obj(
  {
    name: str,
    server: str,
    peerServer: str,
    role: oneOf(['primary', 'secondary', 'none']),
    local: copyState,
    peer: copyState,
    connection: str,
    dirtyBytes: num,
    resync: nullable(
      obj({ doneBytes: num, totalBytes: num, rateBytesPerSec: num, etaSec: nullable({ type: 'number' }) }),
    ),
    asyncQueueDepth: num,
    error: nullable(obj({ code: str, message: str, remedy: str })),
    diskFailure: nullable(obj({ code: str, message: str, remedy: str })),
    recoveryPending: nullable(
      obj({ direction: oneOf(['to-peer', 'from-peer']), full: bool, why: str, command: str }),
    ),
  },
  ['error', 'diskFailure', 'recoveryPending'],
);

export const mirrorListSchema = obj({ mirrors: { type: 'array', items: mirrorDiskStatusSchema } });

export const statusDocSchema = obj(
  {
    cluster: obj({ name: str, state: clusterState, warnings: strList }, ['warnings']),
    servers: { type: 'array', items: serverStatusSchema },
    groups: { type: 'array', items: groupStatusSchema },
    monitors: { type: 'array', items: monitorStatusSchema },
    mirrors: { type: 'array', items: mirrorDiskStatusSchema },
    source: obj({ server: str, at: num }),
  },
  ['mirrors', 'source'],
);

export const clusterInfoSchema = obj({
  name: str,
  state: clusterState,
  warnings: strList,
  server: str,
  configHash: str,
  servers: strList,
});

export const serverListSchema = obj({ servers: { type: 'array', items: serverStatusSchema } });
export const groupListSchema = obj({ groups: { type: 'array', items: groupStatusSchema } });
export const resourceListSchema = obj({
  resources: {
    type: 'array',
    items: obj(
      { name: str, type: str, state: lifecycleState, error: codeMessage, group: str, server: nullable(str) },
      ['error'],
    ),
  },
});
export const monitorListSchema = obj({ monitors: { type: 'array', items: monitorStatusSchema } });

export const alertListSchema = obj({
  alerts: {
    type: 'array',
    items: obj({
      seq: int,
      time: num,
      server: str,
      level: oneOf(['info', 'warning', 'error']),
      objectKind: str,
      object: str,
      code: str,
      message: str,
    }),
  },
});

export const planDocSchema = obj({
  plan: obj({
    server: str,
    steps: {
      type: 'array',
      items: obj(
        {
          id: str,
          text: str,
          reason: str,
          dependsOn: strList,
          status: oneOf(['ready', 'running', 'waiting']),
          waitingFor: str,
        },
        ['status', 'waitingFor'],
      ),
    },
  }),
  text: str,
});

export const opResultSchema = obj(
  {
    ok: { type: 'boolean', const: true },
    message: str,
    server: str,
    results: {
      type: 'array',
      items: obj({ server: str, ok: bool, code: str, message: str }, ['code']),
    },
  },
  ['server', 'results'],
);

/** Response schemas of a route: its 200 answer plus the ErrorBody for every error status. */
export function responses(ok: unknown): Record<string, unknown> {
  return { 200: ok, '4xx': errorBodySchema, '5xx': errorBodySchema };
}

// ---- requests ----

/** `:name` of `/groups/:name`, `/resources/:name`. */
export const nameParamsSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['name'],
  properties: { name: { type: 'string', minLength: 1, maxLength: 253 } },
} as const;

/** A strict JSON object body whose every property is optional; a request without a body is accepted. */
function body(properties: Record<string, unknown>): Record<string, unknown> {
  return { type: ['object', 'null'], additionalProperties: false, properties };
}

const objectName = { type: 'string', minLength: 1, maxLength: 253 } as const;

export const emptyBodySchema = body({});
export const clusterOpBodySchema = body({ all: bool });
export const groupStartBodySchema = body({ server: objectName });
export const groupMoveBodySchema = body({ to: objectName });
export const monitorOpBodySchema = body({ monitor: objectName });

export const alertsQuerySchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    after: { type: 'integer', minimum: 0 },
    limit: { type: 'integer', minimum: 1, maximum: 10000 },
  },
} as const;
