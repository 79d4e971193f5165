#!/usr/bin/env node
// The CLI is TypeScript; tsx runs it directly so `npx autosalon` works right after `npm install`.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli/main.ts');
