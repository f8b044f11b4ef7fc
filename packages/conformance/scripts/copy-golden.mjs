#!/usr/bin/env node
/**
 * Build step: copies the golden vectors (README.md and every *.json) from the repository's shared/golden
 * into this package's golden/ folder, which is gitignored and shipped in the tarball (`files`), so the
 * installed CLI finds them with no repository around it. shared/golden stays the one source of truth
 * (README.md there says how the vectors were generated, and travels with them); turbo hashes it as an
 * input of this package's build, so regenerated vectors are copied again.
 *
 * Looks for `<repo>/../shared/golden` then `<repo>/shared/golden`, and fails, saying where it looked,
 * when neither holds README.md, deform_conv2d.json and deform_roi_pool.json, or when a file is not a
 * vectors document with cases.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const pkg = resolve(fileURLToPath(new URL('..', import.meta.url)));
const repo = resolve(pkg, '..', '..');
const REQUIRED = ['README.md', 'deform_conv2d.json', 'deform_roi_pool.json'];
const candidates = [join(repo, '..', 'shared', 'golden'), join(repo, 'shared', 'golden')];

function fail(message) {
  process.stderr.write(`copy-golden: ${message}\n`);
  process.exit(1);
}

const source = candidates.find((dir) => REQUIRED.every((f) => existsSync(join(dir, f))));
if (source === undefined) {
  fail(
    `cannot find the golden vectors: neither ${candidates.join(' nor ')} holds ${REQUIRED.join(', ')}. ` +
      '@dcnv2/conformance ships them (golden/), so its build needs the shared/ folder beside or inside the repository.',
  );
}

const files = readdirSync(source).filter((f) => f === 'README.md' || f.endsWith('.json')).sort();
for (const f of files.filter((name) => name.endsWith('.json'))) {
  let doc;
  try {
    doc = JSON.parse(readFileSync(join(source, f), 'utf8'));
  } catch (e) {
    fail(`${join(source, f)} is not valid JSON: ${e.message}`);
  }
  if (!Array.isArray(doc?.cases) || doc.cases.length === 0) fail(`${join(source, f)} has no "cases" list`);
}

// Runs on every build and pack, maybe while tests read golden/: files already up to date are left alone,
// changed ones are replaced atomically (write beside, then rename), and files no longer in the source go.
const dest = join(pkg, 'golden');
mkdirSync(dest, { recursive: true });
for (const f of readdirSync(dest)) if (!files.includes(f)) rmSync(join(dest, f), { recursive: true, force: true });
for (const f of files) {
  const bytes = readFileSync(join(source, f));
  const target = join(dest, f);
  if (existsSync(target) && readFileSync(target).equals(bytes)) continue;
  // Writable copies (the source may be read-only), so a later build or a turbo cache restore can replace them.
  writeFileSync(`${target}.tmp`, bytes, { mode: 0o644 });
  renameSync(`${target}.tmp`, target);
}
process.stdout.write(`copy-golden: ${files.join(', ')} from ${source} -> ${relative(process.cwd(), dest) || '.'}\n`);
