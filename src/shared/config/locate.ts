/**
 * Finds where a config path sits in the YAML source (issue section 2: every issue carries line:col).
 * A present value points at the value (a scalar) or at its key (a map or list under a key); `key` mode
 * points at the key itself; a missing key points at its parent object, so "required key is missing"
 * lands on the object that lacks it.
 */
import type { Document, LineCounter, Node as YamlNode } from 'yaml';
import { isAlias, isMap, isScalar, isSeq } from 'yaml';
import type { Locator, PathSeg } from './issues.ts';

type Pos = { line: number; col: number };

function keyText(key: unknown): string {
  if (isScalar(key)) return String(key.value);
  return String(key);
}

/** A locator over a parsed YAML document. */
export function yamlLocator(doc: Document, lines: LineCounter): Locator {
  const at = (node: unknown): Pos | null => {
    const range = (node as YamlNode | null | undefined)?.range;
    if (range === undefined || range === null) return null;
    const p = lines.linePos(range[0]);
    return { line: p.line, col: p.col };
  };
  const root: Pos = at(doc.contents) ?? { line: 1, col: 1 };

  return (path: readonly PathSeg[], pointAt) => {
    let node: unknown = doc.contents;
    let keyNode: unknown = null;
    let anchor: Pos = root;
    for (const seg of path) {
      if (isAlias(node)) node = node.resolve(doc);
      if (isMap(node)) {
        const pair = node.items.find((p) => keyText(p.key) === String(seg));
        if (pair === undefined) return anchor;
        keyNode = pair.key;
        node = pair.value;
      } else if (isSeq(node) && typeof seg === 'number') {
        const item: unknown = node.items[seg];
        if (item === undefined) return anchor;
        keyNode = null;
        node = item;
      } else {
        return anchor;
      }
      anchor = at(keyNode) ?? at(node) ?? anchor;
    }
    if (pointAt === 'key' && keyNode !== null) return at(keyNode) ?? anchor;
    if (isScalar(node) && node.value !== null) return at(node) ?? anchor;
    if (isAlias(node)) return at(node) ?? anchor;
    return at(keyNode) ?? at(node) ?? anchor;
  };
}
