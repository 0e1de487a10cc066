import { defineConfig } from 'vite';

// The bundle is committed under assets/app and embedded in the binary, so the build must be
// byte-for-byte reproducible: no source maps with absolute paths, no timestamps, one CSS file.
export default defineConfig({
  base: '/',
  // Default branding (logo, favicon) lives beside the other embedded assets; copying it into the
  // bundle root lets the panel serve /favicon.svg and /logo.svg with no branding configured.
  publicDir: '../assets/branding',
  oxc: {
    jsx: { runtime: 'automatic', importSource: 'preact' },
  },
  json: { stringify: true },
  build: {
    outDir: '../assets/app',
    emptyOutDir: true,
    assetsDir: 'assets',
    target: 'es2022',
    sourcemap: false,
    cssCodeSplit: false,
    modulePreload: { polyfill: false },
    chunkSizeWarningLimit: 400,
  },
  server: {
    proxy: { '/api': 'http://127.0.0.1:8080', '/branding.css': 'http://127.0.0.1:8080' },
  },
});
