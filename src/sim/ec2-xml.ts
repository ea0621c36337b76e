/**
 * XML building blocks of the simulator's EC2 Query API (issue 4 section 5): response envelopes in the
 * `http://ec2.amazonaws.com/doc/2016-11-15/` namespace and AWS's EC2 error document, shaped exactly as the
 * AWS SDK v3 `ec2` protocol parser expects them.
 */
import type { SimResponse } from './http-types.ts';

export const EC2_NS = 'http://ec2.amazonaws.com/doc/2016-11-15/';

export function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** `<tag>value</tag>`; an undefined value omits the element, as AWS does for absent fields. */
export function el(tag: string, value: string | number | boolean | undefined): string {
  if (value === undefined) return '';
  return `<${tag}>${typeof value === 'string' ? esc(value) : String(value)}</${tag}>`;
}

/** `<tag>` holding raw (already built) children. */
export function wrap(tag: string, inner: string): string {
  return `<${tag}>${inner}</${tag}>`;
}

/** An EC2 list: `<tagSet><item>…</item>…</tagSet>`. */
export function set<T>(tag: string, items: readonly T[], render: (item: T) => string): string {
  return wrap(tag, items.map((i) => wrap('item', render(i))).join(''));
}

/** A successful `<ActionResponse>` with its requestId. */
export function ok(action: string, requestId: string, inner: string): SimResponse {
  return {
    status: 200,
    headers: { 'content-type': 'text/xml;charset=UTF-8', 'x-amzn-requestid': requestId },
    body:
      `<?xml version="1.0" encoding="UTF-8"?>\n<${action}Response xmlns="${EC2_NS}">` +
      `${el('requestId', requestId)}${inner}</${action}Response>`,
  };
}

/** AWS's EC2 error document (`<Response><Errors><Error>…`). */
export function ec2ErrorResponse(
  status: number,
  code: string,
  message: string,
  requestId: string,
): SimResponse {
  return {
    status,
    headers: { 'content-type': 'text/xml;charset=UTF-8', 'x-amzn-requestid': requestId },
    body:
      `<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error>${el('Code', code)}` +
      `${el('Message', message)}</Error></Errors>${el('RequestID', requestId)}</Response>`,
  };
}

/** A refusal the handler raises; the dispatcher turns it into `ec2ErrorResponse`. */
export class Ec2Fault extends Error {
  readonly code: string;
  readonly status: number;
  constructor(code: string, message: string, status = 400) {
    super(message);
    this.name = 'Ec2Fault';
    this.code = code;
    this.status = status;
  }
}
