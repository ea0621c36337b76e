/**
 * The little POSIX path arithmetic the config compiler needs to resolve relative paths (secretFile, a
 * custom monitor's cwd) against the config file's directory. `shared/` may not import `node:path`
 * (it is pure and also used by the WebUI), so this is a minimal re-implementation of `normalize`,
 * `dirname` and `resolve` for `/`-separated paths. Relative input stays relative: the compiler never
 * consults the process's working directory.
 */

/** Collapses `//`, `.` and `..` segments. `''` becomes `.`; `/..` stays `/`; a trailing slash is dropped. */
export function normalizePosix(p: string): string {
  if (p === '') return '.';
  const absolute = p.startsWith('/');
  const out: string[] = [];
  for (const seg of p.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') {
      if (out.length > 0 && out[out.length - 1] !== '..') out.pop();
      else if (!absolute) out.push('..');
    } else {
      out.push(seg);
    }
  }
  const body = out.join('/');
  if (absolute) return '/' + body;
  return body === '' ? '.' : body;
}

/** Directory part: `/etc/tandem/cluster.yaml` -> `/etc/tandem`, `cluster.yaml` -> `.`, `/x` -> `/`. */
export function dirnamePosix(p: string): string {
  const n = normalizePosix(p);
  const i = n.lastIndexOf('/');
  if (i < 0) return '.';
  if (i === 0) return '/';
  return n.slice(0, i);
}

/** `p` when absolute, else `base/p`; both normalized. */
export function resolvePosix(base: string, p: string): string {
  if (p.startsWith('/')) return normalizePosix(p);
  return normalizePosix(`${base}/${p}`);
}

export function isAbsolutePosix(p: string): boolean {
  return p.startsWith('/');
}
