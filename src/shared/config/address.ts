/**
 * Address syntax of the cluster config (issue section 2): interconnects and the API are written
 * `address[:port]`, where the address is an IPv4 address, an IPv6 address (in brackets when a port
 * follows: `[fd00::1]:29002`) or a DNS host name. NP targets and the witness are a host without port
 * (the port is its own key). Pure syntax checks; nothing is resolved here.
 */

export type HostPortResult =
  | { ok: true; address: string; port: number; kind: 'ipv4' | 'ipv6' | 'hostname' }
  | { ok: false; reason: string };

/** 0-255 without leading zeros (`010` is octal to some tools and decimal to others: refuse it). */
const OCTET = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;

export function isIpv4(s: string): boolean {
  const parts = s.split('.');
  return parts.length === 4 && parts.every((p) => OCTET.test(p));
}

/** RFC 4291 text forms, including `::`, embedded IPv4 (`::ffff:10.0.0.1`) and a zone (`fe80::1%eth0`). */
export function isIpv6(s: string): boolean {
  let body = s;
  const pct = body.indexOf('%');
  if (pct >= 0) {
    if (!/^[A-Za-z0-9_.-]+$/.test(body.slice(pct + 1))) return false;
    body = body.slice(0, pct);
  }
  if (!body.includes(':')) return false;
  const halves = body.split('::');
  if (halves.length > 2) return false;
  const groups = (h: string): string[] => (h === '' ? [] : h.split(':'));
  const head = groups(halves[0] ?? '');
  const tail = halves.length === 2 ? groups(halves[1] ?? '') : [];
  const all = [...head, ...tail];
  let units = 0;
  for (let i = 0; i < all.length; i++) {
    const g = all[i] ?? '';
    if (i === all.length - 1 && g.includes('.')) {
      if (!isIpv4(g)) return false;
      units += 2;
    } else if (/^[0-9A-Fa-f]{1,4}$/.test(g)) {
      units += 1;
    } else {
      return false;
    }
  }
  return halves.length === 2 ? units < 8 : units === 8;
}

/** RFC 1123 host name: dot-separated labels of letters, digits and inner hyphens; at most 253 chars. */
export function isHostname(s: string): boolean {
  const name = s.endsWith('.') ? s.slice(0, -1) : s;
  if (name.length === 0 || name.length > 253) return false;
  const labels = name.split('.');
  if (!labels.every((l) => /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/.test(l))) return false;
  // All-numeric dotted names (300.1.1.1, 10.0.0) are mistyped IPv4 addresses, not host names.
  return !labels.every((l) => /^\d+$/.test(l));
}

/** Which kind of host `s` is, or null when it is none of them. */
export function hostKind(s: string): 'ipv4' | 'ipv6' | 'hostname' | null {
  if (isIpv4(s)) return 'ipv4';
  if (isIpv6(s)) return 'ipv6';
  if (isHostname(s)) return 'hostname';
  return null;
}

function parsePort(s: string): number | null {
  if (!/^\d{1,5}$/.test(s)) return null;
  const n = Number(s);
  return n >= 1 && n <= 65535 ? n : null;
}

/** The reason a host is invalid, worded for the operator. */
function badHost(host: string): string {
  return `"${host}" is not a valid IPv4 address, IPv6 address or host name`;
}

/**
 * Parses `host`, `host:port`, `[ipv6]`, `[ipv6]:port` or a bare IPv6 address (which cannot carry a
 * port). `defaultPort` applies when no port is written.
 */
export function parseHostPort(text: string, defaultPort: number): HostPortResult {
  const s = text.trim();
  if (s === '') return { ok: false, reason: 'the address is empty' };
  let host: string;
  let portText: string | null = null;
  if (s.startsWith('[')) {
    const close = s.indexOf(']');
    if (close < 0) return { ok: false, reason: `"${s}" has "[" without a closing "]"` };
    host = s.slice(1, close);
    const rest = s.slice(close + 1);
    if (rest !== '') {
      if (!rest.startsWith(':'))
        return { ok: false, reason: `"${s}" has text after "]" that is not ":port"` };
      portText = rest.slice(1);
    }
    if (!isIpv6(host)) return { ok: false, reason: `"${host}" in brackets is not an IPv6 address` };
  } else if ((s.match(/:/g) ?? []).length >= 2) {
    host = s; // bare IPv6, no port possible
    if (!isIpv6(host)) return { ok: false, reason: badHost(host) };
  } else {
    const colon = s.indexOf(':');
    host = colon >= 0 ? s.slice(0, colon) : s;
    portText = colon >= 0 ? s.slice(colon + 1) : null;
  }
  const kind = hostKind(host);
  if (kind === null) return { ok: false, reason: badHost(host) };
  let port = defaultPort;
  if (portText !== null) {
    const p = parsePort(portText);
    if (p === null) return { ok: false, reason: `"${portText}" is not a port number (1-65535)` };
    port = p;
  }
  return { ok: true, address: host, port, kind };
}

/** `addr:port`, with brackets around IPv6 addresses; the key used to detect shared endpoints. */
export function formatHostPort(address: string, port: number): string {
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}
