/**
 * `parseConfigText()`: YAML text in, `CompiledConfig` and every problem out, each problem with the
 * line:col of the offending key or value (issue section 2; what `tandem config check` and the daemon's
 * start print). YAML syntax errors are issues too; when the YAML itself is broken nothing else is
 * checked, since positions after a syntax error cannot be trusted.
 */
import { LineCounter, parseDocument } from 'yaml';
import type { ConfigResult } from './compile.ts';
import { compileConfigWithLocator } from './compile.ts';
import type { ConfigIssue } from './types.ts';
import { yamlLocator } from './locate.ts';

const YAML_REMEDY: Record<string, string> = {
  DUPLICATE_KEY: 'each key may appear once per map; remove or merge the repeated one',
  BAD_INDENT: 'indent nested keys consistently with spaces (YAML does not allow tabs for indentation)',
  TAB_AS_INDENT: 'indent with spaces, not tabs',
  MISSING_CHAR: 'close the quote or bracket that is still open',
  MULTILINE_IMPLICIT_KEY: 'a key must fit on one line; check for a missing ":" or a missing quote',
  BLOCK_AS_IMPLICIT_KEY: 'check the indentation and the ":" of the line above',
  UNEXPECTED_TOKEN: 'check quoting: values containing ": ", "#", "{" or "[" need quotes',
};

/** Parses and compiles cluster YAML. `filePath` should be absolute: relative paths in the file resolve against its directory. */
export function parseConfigText(text: string, filePath: string): ConfigResult {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const syntax: ConfigIssue[] = [];
  for (const e of doc.errors) {
    const { line, col } = lineCounter.linePos(e.pos[0]);
    const message = e.message.split('\n')[0] ?? e.message;
    syntax.push({
      severity: 'error',
      path: '',
      line,
      col,
      message: `YAML syntax error: ${message}`,
      remedy: YAML_REMEDY[e.code] ?? 'fix the YAML syntax at this position',
    });
  }
  if (syntax.length > 0) return { config: null, issues: syntax };

  const warnings: ConfigIssue[] = doc.warnings.map((w) => {
    const { line, col } = lineCounter.linePos(w.pos[0]);
    return {
      severity: 'warning',
      path: '',
      line,
      col,
      message: `YAML: ${w.message.split('\n')[0] ?? w.message}`,
      remedy: 'check this spot',
    };
  });

  let raw: unknown;
  try {
    raw = doc.toJS({ maxAliasCount: 1000 });
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    return {
      config: null,
      issues: [
        ...warnings,
        {
          severity: 'error',
          path: '',
          line: 1,
          col: 1,
          message: `YAML: ${message}`,
          remedy: 'simplify the anchors and aliases',
        },
      ],
    };
  }
  if (raw === null || raw === undefined) {
    return {
      config: null,
      issues: [
        ...warnings,
        {
          severity: 'error',
          path: '',
          line: 1,
          col: 1,
          message: 'the config file is empty',
          remedy:
            'write at least the cluster and servers sections (see docs/configuration.md for an example)',
        },
      ],
    };
  }
  const result = compileConfigWithLocator(raw, filePath, yamlLocator(doc, lineCounter));
  return { config: result.config, issues: [...warnings, ...result.issues] };
}
