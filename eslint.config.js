// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'coverage/', 'data/', 'bench/', 'artifacts/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: { process: 'readonly', console: 'readonly', Buffer: 'readonly', URL: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', setInterval: 'readonly', clearInterval: 'readonly', fetch: 'readonly', AbortController: 'readonly', AbortSignal: 'readonly', document: 'readonly', window: 'readonly', EventSource: 'readonly' },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-console': ['error', { allow: ['error'] }],
    },
  },
  {
    // Every CSV goes through src/shared/csv.ts, which neutralises spreadsheet formulas (issue 11 item 8).
    files: ['src/**'],
    ignores: ['src/shared/csv.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: ['csv-stringify', 'csv-stringify/*'], message: 'write CSV with toCsv from src/shared/csv.ts: it quotes cells that a spreadsheet would run as formulas' }] }],
    },
  },
  {
    // One transaction idiom: GroupCommit.transaction (the daemon's group commit, or immediateCommit
    // for the CLI and start-up), readSnapshot for consistent reads. Raw better-sqlite3 transactions
    // live only in src/shared/db/, where those are built.
    files: ['src/**'],
    ignores: ['src/shared/db/**'],
    rules: {
      'no-restricted-syntax': [
        'error',
        {
          selector: "CallExpression[callee.type='MemberExpression'][callee.property.name='transaction'][callee.object.name=/^(db|database)$/]",
          message: 'use GroupCommit.transaction (group commit, or immediateCommit(db) outside the daemon) or readSnapshot from src/shared/db/group-commit.ts',
        },
        {
          selector: "CallExpression[callee.type='MemberExpression'][callee.property.name='transaction'][callee.object.type='MemberExpression'][callee.object.property.name=/^(db|database)$/]",
          message: 'use GroupCommit.transaction (group commit, or immediateCommit(db) outside the daemon) or readSnapshot from src/shared/db/group-commit.ts',
        },
      ],
    },
  },
  {
    // The storage port answers promises: a write or read not awaited would run outside the
    // transaction it was meant for, or not before the answer. Type-aware, so src/ only.
    files: ['src/**/*.ts'],
    ignores: ['src/web/client/**'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: false }],
    },
  },
  {
    // The typed client runs in browsers and Node 20: fetch only, and nothing of the daemon but its types.
    files: ['clients/typescript/src/**'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [
        { group: ['node:*'], message: 'the client runs in the browser too: use what fetch and the web platform give' },
        { regex: '^(\\.\\./)+src/', allowTypeImports: true, message: 'the client takes only types from the daemon (import type): its code must not pull the daemon in' },
      ] }],
    },
  },
  {
    files: ['scripts/**', 'test/**', 'bin/**'],
    rules: { 'no-console': 'off' },
  },
);
