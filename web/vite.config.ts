// The web app's build: index.html and src/app into out/, which `medshare serve` embeds (the
// check in scripts/test rebuilds it and fails when the checked-in copy is stale). `npm run dev`
// serves the pages with the API of a `medshare serve` on 127.0.0.1:8080.
import { defineConfig } from 'vite';

export default defineConfig({
  base: '/',
  build: {
    outDir: 'out',
    emptyOutDir: true,
    // Deterministic output: no source maps, no inlined build metadata.
    sourcemap: false,
    reportCompressedSize: false,
  },
  server: {
    host: '127.0.0.1',
    proxy: { '/api': 'http://127.0.0.1:8080' },
    // The pages import the contracts' ABIs from ../contracts/out.
    fs: { allow: ['..'] },
  },
});
