// Lint: typescript-eslint (type-aware), import cycles, and the layering of docs/architecture.md (the ALLOWED
// table below; adapters only from the composition roots). core/ and shared/ are pure: no node:*, no clock,
// no randomness.
import tseslint from 'typescript-eslint';
import importX from 'eslint-plugin-import-x';

const L = (p) => `./src/${p}`;

/**
 * What each folder of src/ may import (besides itself, node builtins and packages); every other folder is
 * forbidden to it. This table is the layering of docs/architecture.md.
 */
const ALLOWED = {
  shared: [],
  core: ['shared'],
  ports: ['shared', 'core'],
  // The AWS access layer (SDK clients, retries, IMDS): used by drivers, the daemon and `tandem doctor`.
  aws: ['shared', 'ports'],
  // The NBD server (protocol only, behind the BlockBackend interface) and the mirror disk engine.
  nbd: ['shared', 'ports'],
  mirror: ['shared', 'ports', 'nbd'],
  drivers: ['shared', 'core', 'ports', 'aws', 'nbd', 'mirror'],
  daemon: ['shared', 'core', 'ports', 'drivers', 'aws', 'nbd', 'mirror'],
  api: ['shared', 'core', 'ports', 'drivers', 'daemon', 'client'],
  adapters: ['shared', 'ports'],
  client: ['shared'],
  cli: ['shared', 'client', 'doctor'],
  // `tandem doctor`: preflight checks of the config against AWS (runs locally, no daemon needed).
  doctor: ['shared', 'aws', 'drivers'],
  webui: ['shared', 'client'],
  // The witness service and the AWS simulator (`tandem sim`) are composition roots of their own.
  witness: ['shared', 'ports', 'adapters'],
  sim: ['shared'],
};
const FOLDERS = Object.keys(ALLOWED);

/** import-x/no-restricted-paths zones for `target` (a folder or a file) allowed to import `allowed`. */
function zone(target, allowed) {
  return { target, from: FOLDERS.filter((f) => !allowed.includes(f)).map(L) };
}
const zones = FOLDERS.map((f) => zone(L(f), [f, ...ALLOWED[f]]));

export default tseslint.config(
  { ignores: ['node_modules/**', 'tmp/**', '**/*.mjs', '**/*.js', 'bin/**'] },
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    plugins: { 'import-x': importX },
    settings: { 'import-x/resolver': { node: { extensions: ['.ts'] } } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/restrict-template-expressions': [
        'error',
        { allowNumber: true, allowBoolean: true },
      ],
      'import-x/no-cycle': 'error',
      'import-x/no-restricted-paths': ['error', { zones }],
      'no-throw-literal': 'error',
    },
  },
  {
    // The decision core is pure (STYLE.md 1): time, randomness and I/O come in as arguments.
    files: ['src/core/**/*.ts', 'src/shared/**/*.ts', 'src/mirror/core/**/*.ts'],
    ignores: ['**/*.test.ts', 'src/shared/crypto.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: [
                'node:*',
                'fs',
                'path',
                'os',
                'child_process',
                'dgram',
                'net',
                'http',
                'https',
                'crypto',
                '@aws-sdk/*',
                'pino',
                'fastify',
              ],
              message: 'core/ and shared/ are pure: pass data in, return data out (STYLE.md 1).',
            },
          ],
        },
      ],
      'no-restricted-properties': [
        'error',
        { object: 'Date', property: 'now', message: 'Time is injected: take `now` as an argument.' },
        { object: 'Math', property: 'random', message: 'Randomness is injected and seeded.' },
        { object: 'process', property: 'env', message: 'No environment reads in the pure layers.' },
      ],
      'no-restricted-globals': [
        'error',
        { name: 'setTimeout', message: 'No hidden timers in the core.' },
        { name: 'setInterval', message: 'No hidden timers in the core.' },
        { name: 'console', message: 'Return diagnostics instead of logging.' },
      ],
    },
  },
  {
    // The composition root wires adapters and the API around the daemon (docs/architecture.md, "Layers").
    files: ['src/daemon/main.ts'],
    rules: {
      'import-x/no-restricted-paths': [
        'error',
        {
          zones: [
            ...zones.filter((z) => z.target !== L('daemon')),
            zone('./src/daemon/main.ts', ['daemon', ...ALLOWED.daemon, 'adapters', 'api']),
          ],
        },
      ],
    },
  },
  {
    files: [
      '**/*.test.ts',
      '**/test-support.ts',
      'test/**/*.ts',
      'tools/**/*.ts',
      'demo/**/*.ts',
      'bench/**/*.ts',
    ],
    rules: {
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      // Tests wire real pieces together like a composition root does; layering applies to src/ only.
      'import-x/no-restricted-paths': 'off',
      // node:test's test() returns a promise that the runner itself awaits.
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          allowForKnownSafeCalls: [
            { from: 'package', name: ['test', 'describe', 'it', 'suite'], package: 'node:test' },
          ],
        },
      ],
    },
  },
);
