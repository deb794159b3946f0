import { defineConfig } from 'vitest/config';

// `npm run screenshots`: regenerates docs/screenshots/*.png by driving the pages in Chromium.
export default defineConfig({
  test: { include: ['test/web/screenshots.capture.ts'], testTimeout: 60_000, hookTimeout: 60_000, pool: 'forks' },
});
