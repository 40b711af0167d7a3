'use strict';
// Every way a menu item can fail ends as one clear message to the user —
// what happened and what to do — never a raw script error. The failures are
// real: a closed port, tokens the service refuses, an unregistered sheet, the
// Sheets emulator failing or hanging under the service, pages that are not
// the service, a colleague holding the document lock.

const assert = require('node:assert/strict');
const net = require('node:net');
const {after, before, test} = require('node:test');
const {Document} = require('./lib/apps_script');
const {startService} = require('./lib/service');
const {addonFor, followRun, onlyDialog, PUBLIC} = require('./lib/helpers');

let service;
before(async () => { service = await startService(); });
after(async () => { await service?.stop(); });

const MENU = ['refreshAll', 'refreshThisTab', 'previewPricingChanges', 'pushPricingChanges'];

/** A loopback port nothing listens on: the service is down. */
async function closedPort() {
  const server = net.createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const {port} = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Run each menu item in a fresh add-on; each must show exactly one dialog matching `pattern`. */
async function everyItemSays(options, pattern) {
  for (const item of MENU) {
    const addon = await addonFor(service, options);
    assert.doesNotThrow(() => addon.run(item), `${item} threw a raw error`);
    const dialog = onlyDialog(addon);
    assert.match(dialog.prompt, pattern, `${item}: ${dialog.prompt}`);
    assert.deepEqual(addon.toasts, [], item);
    assert.deepEqual(addon.sidebars, [], item);
  }
}

test('SHEETS_SYNC_URL missing: says how to set it up', async () => {
  await everyItemSays({url: null}, /script property SHEETS_SYNC_URL is missing/);
});

test('SHEETS_SYNC_URL not a web address: says so', async () => {
  await everyItemSays({url: 'tradein-ops'}, /"tradein-ops", which is not a web address/);
});

test('the service down (nothing listening): cannot reach it, try later or check the URL', async () => {
  const network = {[PUBLIC.down]: `http://127.0.0.1:${await closedPort()}`};
  await everyItemSays({url: PUBLIC.down, deployment: PUBLIC.down, network},
    /^Cannot reach the Trade-In Ops service at https:\/\/down\.tradein-ops\.test .*It may be down: try again in a few minutes.*SHEETS_SYNC_URL/);
});

test('SHEETS_SYNC_URL outside the add-on\'s allowlist: Apps Script refuses, the message says why and how', async () => {
  // Deployed for the service, the property then pointed at another address (which answers).
  for (const url of [PUBLIC.pages, 'http://tradein-ops.test', `${PUBLIC.service}.evil.example`]) {
    const network = {'http://tradein-ops.test': service.url, [`${PUBLIC.service}.evil.example`]: service.url};
    await everyItemSays({url, network}, new RegExp('^Trade-In Ops may not call ' + url.replace(/\./g, '\\.') +
      ": the add-on's allowlist \\(urlFetchWhitelist in appsscript\\.json\\) does not cover it.*" +
      'Set the script property SHEETS_SYNC_URL to the address the add-on was installed for, or ' +
      'install it again for this one \\(sheets-sync addon --url '));
    const addon = await addonFor(service, {url, network});
    addon.run('refreshAll');
    assert.deepEqual(addon.requests, [], 'no request left Apps Script');
  }
});

test('401, a token for another audience: the sign-in was not accepted, and what to check', async () => {
  await everyItemSays({claims: {aud: 'another-client.apps.googleusercontent.com'}},
    /did not accept your Google sign-in \(401\).*SHEETS_SYNC_OIDC_AUDIENCES/);
});

test('401, an expired token', async () => {
  await everyItemSays({claims: {iat: -7200, exp: -3600}}, /did not accept your Google sign-in/);
});

test('no identity token (the openid scope missing): says what the manifest needs', async () => {
  const addon = await addonFor(service);
  addon.identityToken = null;
  addon.run('refreshAll');
  assert.match(onlyDialog(addon).prompt, /could not get your Google sign-in.*"openid"/);
  assert.equal(addon.requests.length, 0);
});

test('403, someone outside the allowed domain: ask for access, naming the account', async () => {
  await everyItemSays({claims: {email: 'sam@elsewhere.example'}},
    /^Your account \(sam@elsewhere\.example\) is not allowed to use Trade-In Ops \(403\)\. Ask for access/);
});

test('403, not a member of this spreadsheet: says so and whom to ask, in the sidebar too', async () => {
  const pattern = new RegExp('^Your account \\(sam@tradein\\.example\\) is not a member of this ' +
    'spreadsheet in Trade-In Ops \\(403\\).*add you to its members in sheets-sync\\.yaml\\.$');
  await everyItemSays({sheet: 'france', claims: {email: 'sam@tradein.example'}}, pattern);
  const addon = await addonFor(service, {sheet: 'france', claims: {email: 'sam@tradein.example'}});
  const data = addon.plain(addon.run('sidebarData'));
  assert.match(data.error, pattern);
  assert.deepEqual([data.runs, data.alerts], [[], []]);
});

test('403, a member who is not a pricer: may refresh, not push; whom to ask', async () => {
  for (const item of ['previewPricingChanges', 'pushPricingChanges']) {
    const addon = await addonFor(service, {sheet: 'france', claims: {email: 'marc@tradein.example'}});
    addon.run(item);
    assert.match(onlyDialog(addon).prompt, new RegExp('^Your account \\(marc@tradein\\.example\\) ' +
      'may refresh this spreadsheet but not push its prices \\(403\\)\\. .*its pricers in sheets-sync\\.yaml'));
    assert.equal(addon.requests.length, 1);
  }
  const addon = await addonFor(service, {sheet: 'france', claims: {email: 'marc@tradein.example'}});
  const ticket = addon.plain(addon.context.callBackend_('post', '/hooks/refresh',
    {spreadsheet_id: service.sheets.france, tabs: ['Pricing']}));
  assert.equal(ticket.status, 202);
  assert.equal((await followRun(addon, ticket.body.run_id)).status, 'succeeded');
});

test('403, a spreadsheet without pricers: no one may push it, and it says so', async () => {
  for (const item of ['previewPricingChanges', 'pushPricingChanges']) {
    const addon = await addonFor(service, {sheet: 'board'});
    addon.run(item);
    assert.match(onlyDialog(addon).prompt,
      /^This spreadsheet accepts no price push \(403\): no one is listed in its pricers in sheets-sync\.yaml\./);
  }
});

test('404, a spreadsheet not registered: says so with its id', async () => {
  await everyItemSays({sheet: 'stranger'},
    new RegExp(`not registered with Trade-In Ops \\(404\\).*sheets-sync\\.yaml.*${service.sheets.stranger}`));
});

test('404 in the sidebar too: its data carry the message, no raw error', async () => {
  const addon = await addonFor(service, {sheet: 'stranger'});
  const data = addon.plain(addon.run('sidebarData'));
  assert.match(data.error, /not registered with Trade-In Ops/);
  assert.deepEqual([data.runs, data.alerts], [[], []]);
});

test('413, a body over the service\'s cap: says it was too large and the limit', async () => {
  const addon = await addonFor(service);
  const answer = addon.plain(addon.context.callBackend_('post', '/hooks/refresh',
    {spreadsheet_id: service.sheets.ops, tabs: ['x'.repeat(300 * 1024)]}));
  assert.equal(answer.ok, false);
  assert.equal(answer.status, 413);
  assert.match(answer.message, /too large for the Trade-In Ops service \(413\).*limit is \d+ bytes/);
});

test('503, Sheets failing under the service: busy, try again in the Retry-After seconds', async () => {
  await service.fault({kind: '503', times: 1000});
  try {
    for (const item of ['previewPricingChanges', 'pushPricingChanges']) {
      const addon = await addonFor(service);
      addon.run(item);
      assert.match(onlyDialog(addon).prompt,
        /service is busy or cannot do it right now .*Try again in 10 seconds\./);
    }
  } finally {
    await service.clearFaults();
  }
});

test('502 from a proxy in front of the service (an HTML page): it failed, try again', async () => {
  await everyItemSays({url: `${PUBLIC.pages}/bad-gateway`, deployment: PUBLIC.pages},
    /^The Trade-In Ops service failed \(HTTP 502\)\. Try again/);
});

test('an address that is not the service (a web page): check SHEETS_SYNC_URL', async () => {
  await everyItemSays({url: `${PUBLIC.pages}/html`, deployment: PUBLIC.pages},
    /answered \(HTTP 200\), but not like the Trade-In Ops service \(no JSON\)\. Check that the script property/);
});

test('an address that redirects (http for https, an old host): says where it leads', async () => {
  await everyItemSays({url: `${PUBLIC.pages}/moved`, deployment: PUBLIC.pages},
    /sends requests elsewhere \(HTTP 301 to https:\/\/tradein-ops\.example\/hooks\/(refresh|pricing)\)/);
});

test('timeout, the service hanging on Sheets: did not answer in time, try again', async () => {
  await service.fault({kind: 'hang', times: 1000, hang_seconds: 20});
  try {
    const addon = await addonFor(service, {fetchTimeoutMs: 1500});
    addon.run('previewPricingChanges');
    assert.match(onlyDialog(addon).prompt,
      /^The Trade-In Ops service \(https:\/\/tradein-ops\.test\) did not answer in time\. It may be busy/);
    assert.equal(addon.document.lockOwner, null);
  } finally {
    await service.clearFaults();
  }
});

test('a double click (the document lock held): already running, and no request made', async () => {
  const document = new Document({id: service.sheets.ops, name: 'ops', sheetsApi: service.emulator});
  document.holdLock('first click');
  for (const item of [...MENU, 'showSyncStatus']) {
    const addon = await addonFor(service, {document});
    addon.run(item);
    assert.match(onlyDialog(addon).prompt, /^Trade-In Ops is already running something in this spreadsheet/);
    assert.deepEqual(addon.requests, [], item);
  }
  document.releaseLock('first click');
  const addon = await addonFor(service, {document});
  addon.run('showSyncStatus');
  assert.deepEqual(addon.dialogs, []);
});

test('a colleague\'s click while Lea decides on a push goes through: the lock is not held', async () => {
  const document = new Document({id: service.sheets.ops, name: 'ops', sheetsApi: service.emulator});
  const starter = await addonFor(service, {document});
  const ticket = starter.plain(starter.context.callBackend_('post', '/hooks/refresh',
    {spreadsheet_id: service.sheets.ops, tabs: ['Pricing']}));
  assert.equal((await followRun(starter, ticket.body.run_id)).status, 'succeeded');
  await service.type('ops', [[['S1', 'P1', 'good', 'FR'], 'New price', '130']]);
  const lea = await addonFor(service, {document});
  const colleague = await addonFor(service, {document, claims: {email: 'marc@tradein.example'}});
  lea.answers.push('NO');
  const ask = lea.context.SpreadsheetApp.getUi().alert;
  lea.context.SpreadsheetApp.getUi = () => ({...lea.ui(), alert: (...args) => {
    colleague.run('previewPricingChanges');  // while Lea's question is open
    return ask(...args);
  }});
  lea.run('pushPricingChanges');
  assert.match(onlyDialog(colleague).prompt, /^If pushed now: 1 price change would be applied/);
  await service.type('ops', [[['S1', 'P1', 'good', 'FR'], 'New price', '']]);
});

test('an unexpected script error is still a sentence, not a raw error', async () => {
  const addon = await addonFor(service);
  addon.context.SpreadsheetApp.getActiveSheet = () => { throw new Error('Service Spreadsheets failed'); };
  addon.context.SpreadsheetApp.getActive().getActiveSheet = addon.context.SpreadsheetApp.getActiveSheet;
  assert.doesNotThrow(() => addon.run('refreshThisTab'));
  assert.match(onlyDialog(addon).prompt,
    /^Trade-In Ops hit an unexpected problem \(Service Spreadsheets failed\)\. Try again/);
  assert.match(addon.logs.map((l) => l.text).join('\n'), /Service Spreadsheets failed/);
});
