import { configDefaults, defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'src/**/*.test.ts'],
    // The benchmark's smoke run needs the machine to itself: `npm test` runs it after the rest (vitest.bench-smoke.config.ts).
    exclude: [...configDefaults.exclude, 'test/bench/**'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    reporters: process.env.CI ? ['default'] : ['default'],
  },
});
