'use strict';
// What the add-on's test files share: an add-on for a user of one of the
// service's spreadsheets, deployed as `sheets-sync addon` writes it, and
// following a run as the sidebar does.

const {execFileSync} = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const {Addon, Document} = require('./apps_script');
const {PYTHON, ROOT} = require('./service');

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const FR_GOOD = ['S1', 'P1', 'good', 'FR'];
const FR_CRACKED = ['S1', 'P1', 'cracked', 'FR'];

/**
 * The public https:// addresses Google's servers would call: the service (as
 * on App Engine), other web pages (a sign-in page, a proxy's error page, a
 * redirect: the control server's), and a host where nothing listens.
 */
const PUBLIC = {
  service: 'https://tradein-ops.test',
  pages: 'https://pages.tradein-ops.test',
  down: 'https://down.tradein-ops.test',
};
const deployments = new Map();
process.on('exit', () => {
  for (const dir of deployments.values()) fs.rmSync(dir, {recursive: true, force: true});
});

/** The add-on's files as `sheets-sync addon --url <url>` writes them (once per url). */
function deployedFor(url) {
  if (!deployments.has(url)) {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'tradein-addon-'));
    execFileSync(PYTHON, ['-c', 'from sheets_sync.cli import main; main()', 'addon', '--url', url,
      '--out', out], {cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe']});
    deployments.set(url, out);
  }
  return deployments.get(url);
}

/** Which local server answers each public address. */
function networkOf(service) {
  return {[PUBLIC.service]: service.url, [PUBLIC.pages]: service.controlUrl};
}

/**
 * The add-on as Lea (or `claims`' user) runs it in the service's spreadsheet `sheet`
 * ('ops', 'france', 'stranger'), SHEETS_SYNC_URL set to the service's public
 * address unless `url` says, deployed for the service's address unless `deployment`
 * names another; `network` adds public addresses.
 */
async function addonFor(service, {sheet = 'ops', active, claims = {}, url, document,
  deployment = PUBLIC.service, network = {}, ...rest} = {}) {
  const doc = document || new Document({id: service.sheets[sheet], name: sheet, active,
    sheetsApi: service.emulator});
  const token = await service.token(claims);
  const email = claims.email || 'lea@tradein.example';
  const properties = {SHEETS_SYNC_URL: url === undefined ? PUBLIC.service : url};
  if (url === null) delete properties.SHEETS_SYNC_URL;
  return new Addon({document: doc, properties, identityToken: token, email,
    addonDir: deployedFor(deployment), network: {...networkOf(service), ...network}, ...rest});
}

/** Poll runStatus (as the sidebar does, with a growing delay) until the run has ended. */
async function followRun(addon, runId) {
  let delay = 100;
  for (let waited = 0; waited < 60000; waited += delay, delay = Math.min(delay * 1.5, 1000)) {
    const run = addon.plain(addon.run('runStatus', runId));
    if (run.error) throw new Error(`runStatus(${runId}): ${run.error}`);
    if (run.status === 'succeeded' || run.status === 'failed') return run;
    await sleep(delay);
  }
  throw new Error(`run ${runId} did not end within a minute`);
}

/** The one dialog the last action showed (and there was exactly one). */
function onlyDialog(addon) {
  if (addon.dialogs.length !== 1) {
    throw new Error(`expected one dialog, got ${JSON.stringify(addon.dialogs, null, 1)}`);
  }
  return addon.dialogs[0];
}

module.exports = {addonFor, deployedFor, followRun, onlyDialog, sleep, FR_GOOD, FR_CRACKED, PUBLIC};
