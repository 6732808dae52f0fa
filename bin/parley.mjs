#!/usr/bin/env node
// Launcher for the TypeScript CLI: register tsx's loader, then run server/cli/main.ts (no build step needed).
import { register } from 'tsx/esm/api';

register();
const { run } = await import('../server/cli/main.ts');
process.exitCode = await run(process.argv.slice(2));
