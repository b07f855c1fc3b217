// npm run gen: regenerates every generated file (TypeScript types from schemas/, the compiled
// decision cases, docs/openapi.json). With --check it writes nothing and exits 1 naming what is stale (used by tests).
import { genCases } from './gen-cases.ts';
import { genOpenApi } from './gen-openapi.ts';
import { genTypes } from './gen-types.ts';

const check = process.argv.includes('--check');
const changed = [
  ...(await genTypes({ check })),
  ...(await genCases({ check })),
  ...(await genOpenApi({ check })),
];
if (check && changed.length > 0) {
  console.error(`stale generated files: ${changed.join(', ')}; run npm run gen and commit them`);
  process.exit(1);
}
console.log(
  changed.length > 0
    ? `${check ? 'stale' : 'wrote'}: ${changed.join(', ')}`
    : 'generated files are up to date',
);
