import { configDefaults, defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'src/**/*.test.ts'],
    // The benchmark's smoke run needs the machine to itself: `npm test` runs it after the rest (vitest.bench-smoke.config.ts).
    exclude: [...configDefaults.exclude, 'test/bench/**'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    // Every /v1 answer of a harness daemon is checked against the OpenAPI document (test/support/contract.ts).
    setupFiles: ['test/support/contract-setup.ts'],
    reporters: process.env.CI ? ['default'] : ['default'],
  },
});
