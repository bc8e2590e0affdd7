import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // MuJoCo wasm instances are heavy; forks keep each file's heap separate.
    pool: 'forks',
  },
});
