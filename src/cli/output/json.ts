/**
 * JSON output of the CLI (`--json`, `--output json`): the API's documents as they are (the StatusDoc is a
 * stable contract), pretty-printed, one document per command. Errors are printed as the API's ErrorBody.
 */
import type { ErrorBody } from '../../shared/errors.ts';

export function renderJson(value: unknown): string {
  return JSON.stringify(value, null, 2) + '\n';
}

export function renderJsonError(e: ErrorBody['error']): string {
  return renderJson({ error: e } satisfies ErrorBody);
}
