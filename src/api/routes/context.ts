/** What every route module gets from `createApiServer`. */
import type { DaemonControl } from '../../daemon/control.ts';
import type { Logger } from '../../ports/logger.ts';
import type { Dispatcher } from '../dispatch.ts';

export interface RouteContext {
  control: DaemonControl;
  log: Logger;
  dispatch: Dispatcher;
}
