import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  // .vue files are type-checked by vue-tsc (npm run typecheck); the kit's plugin generates the two .d.ts files.
  { ignores: ['node_modules/', 'dist/', '.autosalon/', 'coverage/', 'test-artifacts/', 'src/web/node_modules/', 'src/web/auto-imports.d.ts', 'src/web/components.d.ts'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-console': 'off',
    },
  },
  // The front end and the emulator's portal page script run in the browser.
  { files: ['src/web/**/*.ts', 'src/emulator/shell/**/*.js'], languageOptions: { globals: { ...globals.browser } } },
);
