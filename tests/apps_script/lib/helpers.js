'use strict';
// What the add-on's test files share: an add-on for a user of one of the
// service's spreadsheets, and following a run as the sidebar does.

const {Addon, Document} = require('./apps_script');

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const FR_GOOD = ['S1', 'P1', 'good', 'FR'];
const FR_CRACKED = ['S1', 'P1', 'cracked', 'FR'];

/**
 * The add-on as Lea (or `claims`' user) runs it in the service's spreadsheet `sheet`
 * ('ops', 'france', 'stranger'), SHEETS_SYNC_URL set to the service unless `url` says.
 */
async function addonFor(service, {sheet = 'ops', active, claims = {}, url, document, ...rest} = {}) {
  const doc = document || new Document({id: service.sheets[sheet], name: sheet, active,
    sheetsApi: service.emulator});
  const token = await service.token(claims);
  const email = claims.email || 'lea@tradein.example';
  const properties = {SHEETS_SYNC_URL: url === undefined ? service.url : url};
  if (url === null) delete properties.SHEETS_SYNC_URL;
  return new Addon({document: doc, properties, identityToken: token, email, ...rest});
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

module.exports = {addonFor, followRun, onlyDialog, sleep, FR_GOOD, FR_CRACKED};
