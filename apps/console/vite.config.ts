import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

// Built into dist/, which the gateway serves at / (GATEHOUSE_CONSOLE_DIR); `vite` alone proxies /api to a running gateway.
export default defineConfig({
  plugins: [react()],
  build: { outDir: 'dist', emptyOutDir: true, sourcemap: true },
  server: { proxy: { '/api': process.env['GATEHOUSE_URL'] ?? 'http://127.0.0.1:8080' } },
});
