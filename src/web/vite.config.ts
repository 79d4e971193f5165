// The Market application's front end: Vue 3 + the official Bitrix24 UI kit through its Vite plugin (no Nuxt, no
// vue-router), built into dist/web, which the automation service serves (src/service/app-pages.ts).
import { fileURLToPath } from 'node:url';
import vue from '@vitejs/plugin-vue';
import bitrix24UIPluginVite from '@bitrix24/b24ui-nuxt/vite';
import { defineConfig } from 'vite';

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  // Relative asset URLs: the service answers the pages on /install and /app and the assets beside them.
  base: './',
  plugins: [
    vue(),
    bitrix24UIPluginVite({
      // One frame page with sections: no router (vue-router 5 also pulls in build packages that need Node 22).
      router: false,
      // The frame follows the portal's light theme: no colour-mode switching, no localStorage writes.
      colorMode: false,
      // Either one registers every Prose* component globally (motion-v and file-type icons): no Markdown here.
      prose: false,
      mdc: false,
      // Theme CSS only for the components in use.
      experimental: { componentDetection: true },
    }),
  ],
  build: {
    outDir: fileURLToPath(new URL('../../dist/web', import.meta.url)),
    emptyOutDir: true,
    // The kit and the SDK make one ~850 kB main chunk and the charts a lazy ~600 kB one: expected, not a warning.
    chunkSizeWarningLimit: 1000,
  },
});
