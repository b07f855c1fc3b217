#!/usr/bin/env node
// appwarden CLI entry: registers the TypeScript loader (tsx) and runs server/cli.ts.
import { register } from 'tsx/esm/api';

// `appwarden diff … | head` closes our stdout early: that is the reader's choice, not an error to crash on.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw err;
  });
}

register();
const { main } = await import('../server/cli.ts');
process.exitCode = await main(process.argv.slice(2));
