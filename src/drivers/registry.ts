/**
 * The driver registry (STYLE.md 8): resource and monitor types by name. The daemon's executor looks types up
 * here; `tandem config` and the docs use `describe()` of each. One instance per daemon: the exec driver keeps
 * track of the commands it is running (for hard stops), the md driver of the NBD servers it runs.
 */
import type { MonitorDriver, ResourceDriver } from './driver.ts';
import { AwsAzMonitorDriver } from './awsazw/driver.ts';
import { AwsDnsDriver } from './awsdns/driver.ts';
import { AwsDnsMonitorDriver } from './awsdns/monitor.ts';
import { AwsEipDriver } from './awseip/driver.ts';
import { AwsEipMonitorDriver } from './awseip/monitor.ts';
import { AwsVipDriver } from './awsvip/driver.ts';
import { AwsVipMonitorDriver } from './awsvip/monitor.ts';
import { CustomMonitorDriver } from './custom/driver.ts';
import { ExecDriver } from './exec/driver.ts';
import { MdDriver } from './md/driver.ts';
import { MdnwMonitorDriver, MdwMonitorDriver } from './md/monitor.ts';
import { AwsFenceMonitorDriver } from './fencing/monitor.ts';
import { PidMonitorDriver } from './pid/driver.ts';

export function resourceDrivers(): Map<string, ResourceDriver> {
  const list: ResourceDriver[] = [
    new ExecDriver(),
    new AwsVipDriver(),
    new AwsEipDriver(),
    new AwsDnsDriver(),
    new MdDriver(),
  ];
  return new Map(list.map((d) => [d.type, d]));
}

export function monitorDrivers(): Map<string, MonitorDriver> {
  const list: MonitorDriver[] = [
    new CustomMonitorDriver(),
    new PidMonitorDriver(),
    new AwsVipMonitorDriver(),
    new AwsEipMonitorDriver(),
    new AwsDnsMonitorDriver(),
    new AwsAzMonitorDriver(),
    new AwsFenceMonitorDriver(),
    new MdwMonitorDriver(),
    new MdnwMonitorDriver(),
  ];
  return new Map(list.map((d) => [d.type, d]));
}
