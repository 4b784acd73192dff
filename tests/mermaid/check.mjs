// Parses each Mermaid file given with Mermaid itself (the version .ci/run installs into
// target/node), as GitHub's renderer would before drawing: exit 1 and the parser's message on
// the first file it rejects. Usage: node tests/mermaid/check.mjs PREFIX FILE...
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import fs from 'node:fs';
import path from 'node:path';

const [prefix, ...files] = process.argv.slice(2);
const require = createRequire(path.resolve(prefix, 'package.json'));
const { JSDOM } = require('jsdom');
const dom = new JSDOM('<!DOCTYPE html><body></body>');
globalThis.window = dom.window;
globalThis.document = dom.window.document;
globalThis.DOMParser = dom.window.DOMParser;
const entry = path.resolve(prefix, 'node_modules/mermaid/dist/mermaid.core.mjs');
const mermaid = (await import(pathToFileURL(entry).href)).default;
mermaid.initialize({ startOnLoad: false });
let bad = 0;
for (const file of files) {
  try {
    const result = await mermaid.parse(fs.readFileSync(file, 'utf8'));
    console.log(`${file}: ${result.diagramType}`);
  } catch (e) {
    bad += 1;
    console.log(`${file}: ${e.message || e}`);
  }
}
process.exit(bad ? 1 : 0);
