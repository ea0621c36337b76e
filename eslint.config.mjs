// Lint: typescript-eslint (type-aware), import cycles, and the layering of docs/architecture.md:
//   shared <- core <- ports <- drivers <- daemon <- api ; adapters only from the composition root;
//   client <- cli, webui (which import only client and shared). core is pure: no node:*, no clock, no randomness.
import tseslint from 'typescript-eslint';
import importX from 'eslint-plugin-import-x';

const L = (p) => `./src/${p}`;
const zones = [
  // The AWS simulator (`tandem sim`) is a composition root of its own: it may use shared/ only.
  {
    target: L('sim'),
    from: [
      L('core'),
      L('ports'),
      L('drivers'),
      L('adapters'),
      L('daemon'),
      L('api'),
      L('client'),
      L('cli'),
      L('webui'),
      L('witness'),
    ],
  },
  // target may not import from `from`
  {
    target: L('shared'),
    from: [
      L('core'),
      L('ports'),
      L('drivers'),
      L('adapters'),
      L('daemon'),
      L('api'),
      L('client'),
      L('cli'),
      L('webui'),
      L('witness'),
    ],
  },
  {
    target: L('core'),
    from: [
      L('ports'),
      L('drivers'),
      L('adapters'),
      L('daemon'),
      L('api'),
      L('client'),
      L('cli'),
      L('webui'),
      L('witness'),
    ],
  },
  {
    target: L('ports'),
    from: [
      L('drivers'),
      L('adapters'),
      L('daemon'),
      L('api'),
      L('client'),
      L('cli'),
      L('webui'),
      L('witness'),
    ],
  },
  {
    target: L('drivers'),
    from: [L('adapters'), L('daemon'), L('api'), L('client'), L('cli'), L('webui'), L('witness')],
  },
  {
    target: L('adapters'),
    from: [L('core'), L('drivers'), L('daemon'), L('api'), L('client'), L('cli'), L('webui'), L('witness')],
  },
  { target: L('daemon'), from: [L('adapters'), L('api'), L('client'), L('cli'), L('webui'), L('witness')] },
  { target: L('api'), from: [L('adapters'), L('cli'), L('webui'), L('witness')] },
  {
    target: L('client'),
    from: [
      L('core'),
      L('ports'),
      L('drivers'),
      L('adapters'),
      L('daemon'),
      L('api'),
      L('cli'),
      L('webui'),
      L('witness'),
    ],
  },
  {
    target: L('cli'),
    from: [
      L('core'),
      L('ports'),
      L('drivers'),
      L('adapters'),
      L('daemon'),
      L('api'),
      L('webui'),
      L('witness'),
    ],
  },
  {
    target: L('webui'),
    from: [L('core'), L('ports'), L('drivers'), L('adapters'), L('daemon'), L('api'), L('cli'), L('witness')],
  },
];

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
    files: ['src/core/**/*.ts', 'src/shared/**/*.ts'],
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
          zones: zones.map((z) =>
            z.target === L('daemon')
              ? {
                  ...z,
                  target: './src/daemon/main.ts',
                  from: z.from.filter((f) => f !== L('adapters') && f !== L('api')),
                }
              : z,
          ),
        },
      ],
    },
  },
  {
    files: ['**/*.test.ts', 'test/**/*.ts', 'tools/**/*.ts', 'demo/**/*.ts', 'bench/**/*.ts'],
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
