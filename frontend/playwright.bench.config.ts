// The overview performance benchmark: same hub and browser as the e2e tests, but only
// `*.bench.ts` files and a longer timeout. Run with `npm run bench:overview`.
import { defineConfig } from '@playwright/test';
import base from './playwright.config';

export default defineConfig({
  ...base,
  testMatch: '**/*.bench.ts',
  timeout: 300_000,
});
