/// <reference types="vitest/config" />
import { defineConfig } from 'vite';
import { svelte } from '@sveltejs/vite-plugin-svelte';

// The dev server proxies the hub's same-origin endpoints so cookies and the live
// socket behave exactly as when the hub serves the built files itself.
const hub = process.env.LUNASENTRI_HUB_URL ?? 'http://127.0.0.1:8080';

export default defineConfig({
  plugins: [svelte()],
  server: {
    proxy: {
      '/api': { target: hub, ws: true, changeOrigin: false },
      '/agent': { target: hub, ws: true },
      '/install.sh': { target: hub },
    },
  },
  build: {
    target: 'es2022',
    sourcemap: false,
    reportCompressedSize: true,
  },
  test: {
    include: ['tests/unit/**/*.test.ts'],
    environment: 'node',
  },
});
