/**
 * Wire types of the control API (issue "Cluster core", section 4): what each route of `/api/v1` answers,
 * shared by the server (src/api), the typed client (src/client/client.ts), the CLI and the WebUI.
 *
 * The status document itself is `StatusDoc` (src/shared/status.ts). Plans and alert records are defined by
 * the core and the store port, which the client may not import (layering: client imports only shared/),
 * so `PlanDoc` and `AlertDoc` restate their shapes here; the API's route code assigns the core's values to
 * these types, so the compiler keeps the two in step.
 */
import type {
  GroupStatus,
  MirrorDiskStatus,
  MonitorStatus,
  ResourceStatus,
  ServerStatus,
  StatusDoc,
} from '../shared/status.ts';

/** `GET /api/v1/cluster`. */
export interface ClusterInfo {
  name: string;
  state: StatusDoc['cluster']['state'];
  warnings: string[];
  /** The server that answered. */
  server: string;
  /** sha256 of the compiled configuration this server runs with. */
  configHash: string;
  /** Server names in priority order (the first is the master server). */
  servers: string[];
}

/** `GET /api/v1/servers`. */
export interface ServerList {
  servers: ServerStatus[];
}

/** `GET /api/v1/md`: the answering server's mirror disk copies. */
export interface MirrorList {
  mirrors: MirrorDiskStatus[];
}

/** `GET /api/v1/groups`; `GET /api/v1/groups/:name` answers one `GroupStatus`. */
export interface GroupList {
  groups: GroupStatus[];
}

/** One group resource in `GET /api/v1/resources`: its status plus the group it belongs to and where it runs. */
export interface ResourceEntry extends ResourceStatus {
  group: string;
  server: string | null;
}

/** `GET /api/v1/resources`. */
export interface ResourceList {
  resources: ResourceEntry[];
}

/** `GET /api/v1/monitors`. */
export interface MonitorList {
  monitors: MonitorStatus[];
}

/** One alert log entry (same shape as the store port's `AlertRecord`). */
export interface AlertDoc {
  /** Monotonic sequence number within the answering server's alert log. */
  seq: number;
  /** Wall-clock milliseconds since the epoch. */
  time: number;
  server: string;
  level: 'info' | 'warning' | 'error';
  objectKind: string;
  object: string;
  code: string;
  message: string;
}

/** `GET /api/v1/alerts?after=&limit=`: newest last. */
export interface AlertList {
  alerts: AlertDoc[];
}

/** One step of a plan (same shape as the core's `PlanStep`). */
export interface PlanStepDoc {
  id: string;
  text: string;
  reason: string;
  dependsOn: string[];
  /** `ready` = carried out now, `running` = in flight, `waiting` = blocked (see `waitingFor`). */
  status?: 'ready' | 'running' | 'waiting';
  /** What the step waits for besides `dependsOn`, e.g. `grant from node-1`. */
  waitingFor?: string;
}

/** `GET /api/v1/plan`: what the answering server would do now, as data and as the daemon's text rendering. */
export interface PlanDoc {
  plan: { server: string; steps: PlanStepDoc[] };
  text: string;
}

/** Result of one server's part of a `--all` cluster operation. */
export interface ServerOpResult {
  server: string;
  ok: boolean;
  /** OperationErrorCode when `ok` is false. */
  code?: string;
  message: string;
}

/** 200 answer of every POST operation. */
export interface OpResult {
  ok: true;
  message: string;
  /** Server that carried the operation out. */
  server?: string;
  /** Per-server results of `cluster start|stop` with `all: true`. */
  results?: ServerOpResult[];
}

/** Body of `POST /cluster/start` and `/cluster/stop`. */
export interface ClusterOpBody {
  /** Every server of the cluster instead of only the one that answers. */
  all?: boolean;
}

/** Body of `POST /groups/:name/start`. */
export interface GroupStartBody {
  /** Start on this server instead of the group's default placement. */
  server?: string;
}

/** Body of `POST /groups/:name/move`. */
export interface GroupMoveBody {
  /** Target server; default: the next eligible server in the group's startup order. */
  to?: string;
}

/** Body of `POST /monitors/suspend` and `/monitors/resume`. */
export interface MonitorOpBody {
  /** One monitor; all monitors when absent. */
  monitor?: string;
}

/** Header that marks a request already forwarded by another server's API (never forwarded again). */
export const FORWARDED_HEADER = 'x-tandem-forwarded';

/** API path prefix. */
export const API_PREFIX = '/api/v1';

/** Default TCP port of the control API. */
export const DEFAULT_API_PORT = 29003;
