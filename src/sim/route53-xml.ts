/**
 * The little XML the Route 53 simulator needs: escaping for the responses it writes, and a strict,
 * small parser for the request bodies the SDK and the AWS CLI send (ChangeResourceRecordSets). It
 * handles elements, text, CDATA and the five predefined entities plus numeric character references;
 * attributes are read past and ignored (Route 53 requests carry only `xmlns`). Anything malformed is
 * reported as an `XmlSyntaxError` so the handler can answer with AWS's `MalformedInput`.
 */

/** One parsed element: its local name, its child elements in order, and its concatenated text. */
export interface XmlElement {
  name: string;
  children: XmlElement[];
  text: string;
}

export class XmlSyntaxError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'XmlSyntaxError';
  }
}

/** Escapes text for use inside an element or a double-quoted attribute. */
export function xmlEscape(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

function decodeEntities(raw: string): string {
  return raw.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[a-zA-Z]+);/g, (whole, ref: string) => {
    if (ref.startsWith('#x')) return String.fromCodePoint(parseInt(ref.slice(2), 16));
    if (ref.startsWith('#')) return String.fromCodePoint(parseInt(ref.slice(1), 10));
    const named = ENTITIES[ref];
    if (named === undefined) throw new XmlSyntaxError(`unknown entity ${whole}`);
    return named;
  });
}

/** Strips a namespace prefix: `r53:Name` -> `Name`. */
function localName(qname: string): string {
  const colon = qname.indexOf(':');
  return colon === -1 ? qname : qname.slice(colon + 1);
}

/** Parses a document and returns its root element. Throws `XmlSyntaxError` on malformed input. */
export function parseXml(source: string): XmlElement {
  let pos = 0;
  const stack: XmlElement[] = [];
  let root: XmlElement | undefined;
  while (pos < source.length) {
    const lt = source.indexOf('<', pos);
    const textEnd = lt === -1 ? source.length : lt;
    const text = source.slice(pos, textEnd);
    const top = stack[stack.length - 1];
    if (top !== undefined) top.text += decodeEntities(text);
    else if (text.trim() !== '') throw new XmlSyntaxError('text outside the root element');
    if (lt === -1) break;
    if (source.startsWith('<?', lt)) {
      const end = source.indexOf('?>', lt);
      if (end === -1) throw new XmlSyntaxError('unterminated processing instruction');
      pos = end + 2;
    } else if (source.startsWith('<!--', lt)) {
      const end = source.indexOf('-->', lt);
      if (end === -1) throw new XmlSyntaxError('unterminated comment');
      pos = end + 3;
    } else if (source.startsWith('<![CDATA[', lt)) {
      const end = source.indexOf(']]>', lt);
      if (end === -1 || top === undefined) throw new XmlSyntaxError('misplaced or unterminated CDATA');
      top.text += source.slice(lt + 9, end);
      pos = end + 3;
    } else if (source.startsWith('<!', lt)) {
      throw new XmlSyntaxError('DOCTYPE and declarations are not accepted');
    } else if (source.startsWith('</', lt)) {
      const end = source.indexOf('>', lt);
      if (end === -1) throw new XmlSyntaxError('unterminated end tag');
      const name = localName(source.slice(lt + 2, end).trim());
      const open = stack.pop();
      if (open === undefined || open.name !== name) {
        throw new XmlSyntaxError(`end tag </${name}> does not match <${open?.name ?? ''}>`);
      }
      pos = end + 1;
    } else {
      const end = source.indexOf('>', lt);
      if (end === -1) throw new XmlSyntaxError('unterminated start tag');
      let inner = source.slice(lt + 1, end);
      const selfClosing = inner.endsWith('/');
      if (selfClosing) inner = inner.slice(0, -1);
      const match = /^([A-Za-z_][\w.:-]*)/.exec(inner);
      if (match?.[1] === undefined) throw new XmlSyntaxError(`bad start tag <${inner}>`);
      const element: XmlElement = { name: localName(match[1]), children: [], text: '' };
      if (top !== undefined) top.children.push(element);
      else if (root === undefined) root = element;
      else throw new XmlSyntaxError('more than one root element');
      if (!selfClosing) stack.push(element);
      pos = end + 1;
    }
  }
  if (stack.length > 0)
    throw new XmlSyntaxError(`element <${stack[stack.length - 1]?.name ?? ''}> is not closed`);
  if (root === undefined) throw new XmlSyntaxError('the document is empty');
  return root;
}

/** The first child called `name`, if any. */
export function child(element: XmlElement, name: string): XmlElement | undefined {
  return element.children.find((c) => c.name === name);
}

/** All children called `name`. */
export function children(element: XmlElement, name: string): XmlElement[] {
  return element.children.filter((c) => c.name === name);
}
