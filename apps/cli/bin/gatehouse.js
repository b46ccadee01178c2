#!/usr/bin/env node
// The installed `gatehouse` command. A committed file keeps its run bit (git records it), whereas the
// build rewrites dist/main.js without one; this shim only loads the build.
import { existsSync } from 'node:fs';

const entry = new URL('../dist/main.js', import.meta.url);
if (!existsSync(entry)) {
  process.stderr.write('gatehouse: the CLI is not built yet: run npm run build (or npm start) at the repository root\n');
  process.exit(5);
}
await import(entry.href);
