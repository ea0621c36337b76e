/**
 * Every message table of the project (STYLE.md 12), by the heading it has in docs/messages.md. The
 * consistency test (tools/check-messages.test.ts) checks code and docs against each other in both directions.
 */
import type { MessageEntry } from '../src/shared/errors.ts';
import { EXEC_MESSAGES } from '../src/drivers/exec/errors.ts';
import { CUSTOM_MESSAGES } from '../src/drivers/custom/errors.ts';
import { PID_MESSAGES } from '../src/drivers/pid/errors.ts';
import { DAEMON_MESSAGES } from '../src/daemon/messages.ts';
import { AWSVIP_MESSAGES, AWSVIPW_MESSAGES } from '../src/drivers/awsvip/errors.ts';
import { AWSEIP_MESSAGES, AWSEIPW_MESSAGES } from '../src/drivers/awseip/errors.ts';
import { AWSDNS_MESSAGES, AWSDNSW_MESSAGES } from '../src/drivers/awsdns/errors.ts';
import { AWSAZW_MESSAGES } from '../src/drivers/awsazw/errors.ts';
import { AWSFENCEW_MESSAGES, FENCE_MESSAGES } from '../src/drivers/fencing/errors.ts';
import { MD_MESSAGES, MDNW_MESSAGES, MDW_MESSAGES } from '../src/drivers/md/errors.ts';

export const MESSAGE_TABLES: Record<string, readonly MessageEntry[]> = {
  'exec resource': EXEC_MESSAGES,
  'custom monitor': CUSTOM_MESSAGES,
  'pid monitor': PID_MESSAGES,
  'daemon (scripts and OS actions)': DAEMON_MESSAGES,
  'awsvip resource': AWSVIP_MESSAGES,
  'awsvipw monitor': AWSVIPW_MESSAGES,
  'awseip resource': AWSEIP_MESSAGES,
  'awseipw monitor': AWSEIPW_MESSAGES,
  'awsdns resource': AWSDNS_MESSAGES,
  'awsdnsw monitor': AWSDNSW_MESSAGES,
  'awsazw monitor': AWSAZW_MESSAGES,
  'fencing (forced stop)': FENCE_MESSAGES,
  'awsfencew monitor': AWSFENCEW_MESSAGES,
  'md resource': MD_MESSAGES,
  'mdw monitor': MDW_MESSAGES,
  'mdnw monitor': MDNW_MESSAGES,
};

/** Parse docs/messages.md: `## <table>` headings followed by `| code | id | message | remedy |` rows. */
export function parseMessagesDoc(
  text: string,
): Record<string, { code: number; id: string; message: string }[]> {
  const out: Record<string, { code: number; id: string; message: string }[]> = {};
  let current: string | null = null;
  for (const line of text.split('\n')) {
    const h = /^## (.+)$/.exec(line);
    if (h) {
      current = h[1]!.trim();
      out[current] = [];
      continue;
    }
    const row = /^\|\s*(\d+)\s*\|\s*`([A-Z0-9_]+)`\s*\|\s*(.+?)\s*\|\s*(.+?)\s*\|$/.exec(line);
    if (row && current) out[current]!.push({ code: Number(row[1]), id: row[2]!, message: row[3]! });
  }
  return out;
}
