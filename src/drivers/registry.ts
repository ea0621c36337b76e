/**
 * The driver registry (STYLE.md 8): resource and monitor types by name. The daemon's executor looks types up
 * here; `tandem config` and the docs use `describe()` of each. One instance per daemon: the exec driver keeps
 * track of the commands it is running (for hard stops).
 */
import type { MonitorDriver, ResourceDriver } from './driver.ts';
import { CustomMonitorDriver } from './custom/driver.ts';
import { ExecDriver } from './exec/driver.ts';
import { PidMonitorDriver } from './pid/driver.ts';

export function resourceDrivers(): Map<string, ResourceDriver> {
  const list: ResourceDriver[] = [new ExecDriver()];
  return new Map(list.map((d) => [d.type, d]));
}

export function monitorDrivers(): Map<string, MonitorDriver> {
  const list: MonitorDriver[] = [new CustomMonitorDriver(), new PidMonitorDriver()];
  return new Map(list.map((d) => [d.type, d]));
}
