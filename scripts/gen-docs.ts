import { writeFileSync } from 'node:fs';
import { renderStackReference } from '../src/contracts/reference.ts';

// Regenerates the docs that come from schemas; their tests fail until this has been run.
writeFileSync(new URL('../docs/stack-reference.md', import.meta.url), renderStackReference());
process.stdout.write('wrote docs/stack-reference.md\n');
