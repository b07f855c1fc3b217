#!/usr/bin/env node
// appwarden CLI entry: registers the TypeScript loader (tsx) and runs server/cli.ts.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../server/cli.ts');
process.exitCode = await main(process.argv.slice(2));
