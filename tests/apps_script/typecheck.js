'use strict';
// Type-checks the add-on's .gs files (templates/apps_script/) against Google's
// Apps Script typings (@types/google-apps-script) with tsc, as JavaScript
// (tsconfig.json: allowJs, checkJs, strict). tsc does not know the .gs
// extension, so the files are copied to .js in a temporary directory, in one
// program as Apps Script loads them (one global scope); tsc's messages are
// given back with the .gs paths. Exit status: tsc's (0 when clean).
// Run: node typecheck.js (after npm ci).

const {spawnSync} = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const {ADDON_DIR} = require('./lib/apps_script');

const BASE_CONFIG = path.join(__dirname, 'tsconfig.json');

function main() {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'addon-typecheck-'));
  try {
    const files = fs.readdirSync(ADDON_DIR).filter((f) => f.endsWith('.gs')).sort();
    for (const file of files) {
      fs.copyFileSync(path.join(ADDON_DIR, file), path.join(work, file.replace(/\.gs$/, '.js')));
    }
    fs.writeFileSync(path.join(work, 'tsconfig.json'), JSON.stringify({
      extends: BASE_CONFIG, files: files.map((f) => f.replace(/\.gs$/, '.js')),
    }));
    const tsc = require.resolve('typescript/bin/tsc', {paths: [__dirname]});
    const done = spawnSync(process.execPath, [tsc, '-p', work, '--pretty', 'false'],
      {encoding: 'utf8'});
    const output = `${done.stdout}${done.stderr}`;
    process.stdout.write(withGsPaths(output, work));
    if (done.status !== 0 && !output.trim()) process.stdout.write(`tsc failed (${done.error || done.signal})\n`);
    process.exitCode = done.status === null ? 2 : done.status;
  } finally {
    fs.rmSync(work, {recursive: true, force: true});
  }
}

/** tsc names the temporary .js copies (relative or absolute): name the .gs files instead. */
function withGsPaths(text, work) {
  const shown = path.relative(path.resolve(__dirname, '..', '..'), ADDON_DIR);
  return text.split('\n').map((line) => line.replace(/^(\S*?)([\w-]+)\.js\((\d+,\d+)\)/, (all, dir, name, at) => (
    path.resolve(dir || '.') === work || dir.includes(path.basename(work)) ? `${shown}/${name}.gs(${at})` : all
  ))).join('\n');
}

main();
