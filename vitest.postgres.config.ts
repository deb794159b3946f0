import { defineConfig } from 'vitest/config';
import base from './vitest.config.js';

/**
 * The PostgreSQL pass of `npm test`: the suites that hold for either database, run again with
 * every harness daemon on PostgreSQL (one throwaway server for the run, a fresh database per
 * harness). What only a SQLite file has (backups, integrity checks, the file's crash points,
 * the single-daemon lock) is tested by the SQLite pass alone; test/postgres/ has PostgreSQL's own.
 */
export default defineConfig({
  test: {
    ...base.test,
    include: ['test/integration/**/*.test.ts', 'test/electrum-flows/**/*.test.ts', 'test/money/**/*.test.ts', 'test/chaos/fault-matrix.test.ts'],
    // What only a SQLite file has lives in *.sqlite.test.ts files, run by the SQLite pass alone.
    exclude: [...(base.test?.exclude ?? []), '**/*.sqlite.test.ts'],
    env: { TB_TEST_DATABASE: 'postgres' },
    globalSetup: ['test/support/postgres-global.ts'],
  },
});
