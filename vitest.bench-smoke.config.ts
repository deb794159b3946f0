import { defineConfig } from 'vitest/config';

// The benchmark's smoke run (`npm run bench -- --quick`, about 15 s), run by `npm test` after the
// other suites so that it does not compete with them for the machine's cores.
export default defineConfig({
  test: { include: ['test/bench/**/*.test.ts'], testTimeout: 360_000, hookTimeout: 60_000, pool: 'forks' },
});
