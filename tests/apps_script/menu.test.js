'use strict';
// The "Trade-In Ops" menu against the real service: each item's requests are
// the ones the service accepts, and the user sees what happened.

const assert = require('node:assert/strict');
const {after, before, test} = require('node:test');
const fs = require('node:fs');
const path = require('node:path');
const {ADDON_DIR} = require('./lib/apps_script');
const {startService} = require('./lib/service');
const {addonFor, followRun, onlyDialog, FR_GOOD, FR_CRACKED, PUBLIC} = require('./lib/helpers');

let service;
before(async () => { service = await startService(); });
after(async () => { await service?.stop(); });

const ITEMS = ['Refresh all', 'Refresh this tab', 'Preview pricing changes',
  'Push pricing changes', 'Sync status'];

test('the manifest asks for V8 and only the narrowest scopes that work', () => {
  const manifest = JSON.parse(fs.readFileSync(path.join(ADDON_DIR, 'appsscript.json'), 'utf8'));
  assert.equal(manifest.runtimeVersion, 'V8');
  assert.deepEqual([...manifest.oauthScopes].sort(), [
    'https://www.googleapis.com/auth/script.container.ui',
    'https://www.googleapis.com/auth/script.external_request',
    'https://www.googleapis.com/auth/spreadsheets.currentonly',
    'https://www.googleapis.com/auth/userinfo.email',
    'openid',
  ]);
});

test('onOpen builds the Trade-In Ops menu with exactly its five items, calling no one', async () => {
  const addon = await addonFor(service);
  addon.run('onOpen', {authMode: 'LIMITED'});
  const [menu] = addon.menus;
  assert.equal(addon.menus.length, 1);
  assert.equal(menu.caption, 'Trade-In Ops');
  assert.deepEqual(menu.items.map((item) => item.label), ITEMS);
  for (const item of menu.items) assert.equal(typeof addon.context[item.functionName], 'function');
  assert.equal(addon.requests.length, 0);  // a simple trigger may not fetch
});

test('Refresh all starts a run, toasts, opens the sidebar which follows it to its end', async () => {
  const addon = await addonFor(service);
  addon.run('refreshAll');
  assert.deepEqual(addon.dialogs, []);
  assert.match(addon.toasts[0].msg, /^Refresh started \(all tabs\)/);
  assert.equal(addon.sidebars.length, 1);
  assert.equal(addon.sidebars[0].title, 'Trade-In Ops');
  const [request] = addon.requests;
  assert.equal(request.method, 'POST');
  assert.equal(request.url, `${PUBLIC.service}/hooks/refresh`);
  assert.equal(request.headers.Authorization, `Bearer ${addon.identityToken}`);
  assert.deepEqual(JSON.parse(request.payload), {spreadsheet_id: service.sheets.ops});
  assert.equal(addon.document.lockOwner, null);  // released for the next click

  const data = addon.plain(addon.run('sidebarData'));
  assert.ok(data.following, 'the sidebar is told which run to follow');
  const run = await followRun(addon, data.following);
  assert.equal(run.status, 'succeeded', run.error);
  assert.equal(run.trigger, 'menu');
  assert.equal(run.requested_by, 'lea@tradein.example');
  for (const tab of ['KPI Daily', 'Pricing', 'Sync Status']) assert.ok(run.tabs.includes(tab), tab);
  assert.ok(run.cells_written > 0);
});

test('a second Refresh all while the first is on its way joins it: one run, both followed', async () => {
  await service.hold('ops');
  const first = await addonFor(service);
  const second = await addonFor(service, {claims: {email: 'marc@tradein.example'}});
  try {
    first.run('refreshAll');
    second.run('refreshAll');
  } finally {
    await service.release('ops');
  }
  assert.match(first.toasts[0].msg, /^Refresh started \(all tabs\)/);
  assert.match(second.toasts[0].msg, /^Refresh started \(joined the one already on its way\)/);
  const runId = first.plain(first.run('sidebarData')).following;
  assert.equal(second.plain(second.run('sidebarData')).following, runId);
  const run = await followRun(second, runId);
  assert.equal(run.status, 'succeeded', run.error);
  assert.equal(run.requested_by, 'lea@tradein.example');
});

test('Refresh this tab refreshes only the active tab', async () => {
  const addon = await addonFor(service, {active: 'KPI Daily'});
  addon.run('refreshThisTab');
  assert.deepEqual(addon.dialogs, []);
  assert.match(addon.toasts[0].msg, /^Refresh started \("KPI Daily"\)/);
  assert.deepEqual(JSON.parse(addon.requests[0].payload).tabs, ['KPI Daily']);
  const run = await followRun(addon, addon.plain(addon.run('sidebarData')).following);
  assert.equal(run.status, 'succeeded', run.error);
  assert.deepEqual(run.tabs, ['KPI Daily']);
});

test('Refresh this tab on a tab of the team\'s own says so, asking the service nothing', async () => {
  await service.addSheet('france', 'My notes');
  const addon = await addonFor(service, {sheet: 'france', active: 'My notes'});
  addon.run('refreshThisTab');
  const dialog = onlyDialog(addon);
  assert.equal(dialog.title, 'Refresh this tab');
  assert.match(dialog.prompt, /^"My notes" is not a tab Trade-In Ops fills in/);
  assert.match(dialog.prompt, /Refresh all/);
  assert.deepEqual([addon.requests, addon.toasts, addon.sidebars], [[], [], []]);
});

test('Refresh this tab on a managed tab this spreadsheet no longer gets names the tabs it gets', async () => {
  const addon = await addonFor(service, {sheet: 'france', active: 'KPI Weekly'});
  addon.run('refreshThisTab');
  assert.match(onlyDialog(addon).prompt,
    /^"KPI Weekly" is not refreshed for this spreadsheet: it gets KPI Daily, Pricing\./);
  assert.deepEqual(JSON.parse(addon.requests[0].payload).tabs, ['KPI Weekly']);
  assert.deepEqual(addon.toasts, []);
});

test('Refresh this tab on a managed tab the team renamed refreshes it (and it gets its title back)', async () => {
  await service.renameSheet('ops', 'KPI Daily', 'KPI (ours)');
  const addon = await addonFor(service, {active: 'KPI (ours)'});
  addon.run('refreshThisTab');
  assert.deepEqual(addon.dialogs, []);
  assert.deepEqual(JSON.parse(addon.requests[0].payload).tabs, ['KPI Daily']);
  const run = await followRun(addon, addon.plain(addon.run('sidebarData')).following);
  assert.equal(run.status, 'succeeded', run.error);
  const titles = addon.document.sheets().map((sheet) => sheet.properties.title);
  assert.ok(titles.includes('KPI Daily') && !titles.includes('KPI (ours)'), titles.join(', '));
});

test('Sync status opens the sidebar; its data are this spreadsheet and its runs', async () => {
  const addon = await addonFor(service);
  addon.run('showSyncStatus');
  assert.deepEqual(addon.dialogs, []);
  assert.equal(addon.sidebars.length, 1);
  assert.match(addon.sidebars[0].content, /google\.script\.run/);
  const data = addon.plain(addon.run('sidebarData'));
  assert.deepEqual(data.spreadsheet, {id: service.sheets.ops, name: 'ops'});
  assert.equal(data.error, null);
  assert.ok(data.runs.length >= 2, 'the two refreshes above are listed');
  assert.ok(data.runs.every((run) => run.spreadsheet_id === service.sheets.ops));
  assert.ok(Array.isArray(data.alerts));
});

test('runStatus refuses what is not a run id, and says so for an unknown run', async () => {
  const addon = await addonFor(service);
  assert.match(addon.plain(addon.run('runStatus', '../hooks/refresh')).error, /is not a run id/);
  const unknown = addon.plain(addon.run('runStatus', '6f1c2b0e-3d4a-4b5c-8d9e-0a1b2c3d4e5f'));
  assert.match(unknown.error, /not a run of a registered spreadsheet/);
  assert.equal(addon.requests.length, 1);
});

test('Preview pricing changes shows the counts and the rows that would not go through', async () => {
  await service.type('ops', [[FR_GOOD, 'New price', '125'], [FR_CRACKED, 'New price', 'abc']]);
  const addon = await addonFor(service);
  addon.run('previewPricingChanges');
  const dialog = onlyDialog(addon);
  assert.equal(dialog.title, 'Preview pricing changes');
  assert.match(dialog.prompt, /1 price change would be applied, 1 rejected, 0 conflicts/);
  assert.match(dialog.prompt, /\nExpected effect \(win model, advisory\): \d+\.\d → \d+\.\d orders per 28 days \([+-]\d+\.\d\); cost [+-]\d+\.\d\d EUR per 28 days\.\n/);
  assert.match(dialog.prompt, /• Row \d+ \(S1 P1 cracked FR\): /);
  assert.match(dialog.prompt, /Nothing was pushed/);
  assert.deepEqual(JSON.parse(addon.requests[0].payload),
    {spreadsheet_id: service.sheets.ops, dry_run: true});
  assert.equal(await service.read('ops', FR_GOOD, 'Status'), null);  // nothing written
});

test('Push pricing changes answered No pushes nothing', async () => {
  const addon = await addonFor(service);
  addon.answers.push('NO');
  addon.run('pushPricingChanges');
  const [question] = addon.dialogs;
  assert.equal(question.buttons, 'YES_NO');
  assert.match(question.prompt, /Push 1 price change now\?/);
  assert.equal(addon.requests.length, 1);
  assert.match(addon.toasts[0].msg, /Nothing was pushed/);
  assert.equal(await service.read('ops', FR_GOOD, 'Current price'), 120);
});

test('Push pricing changes previews, asks, pushes, and the Status column explains each row', async () => {
  const addon = await addonFor(service);
  addon.answers.push('YES');
  addon.run('pushPricingChanges');
  assert.equal(addon.dialogs.length, 2);
  const [question, result] = addon.dialogs;
  assert.match(question.prompt, /^If pushed now: 1 price change would be applied, 1 rejected/);
  assert.equal(result.title, 'Push pricing changes');
  assert.match(result.prompt, /^Pushed: 1 price change applied, 1 rejected, 0 conflicts\./);
  assert.match(result.prompt, /The Status column of the Pricing tab explains each row/);
  assert.deepEqual(addon.requests.map((r) => JSON.parse(r.payload).dry_run), [true, false]);
  assert.equal(await service.read('ops', FR_GOOD, 'Current price'), 125);
  assert.match(String(await service.read('ops', FR_GOOD, 'Status')), /applied/i);
  assert.ok(await service.read('ops', FR_CRACKED, 'Status'), 'the rejected row says why');
});

test('A push whose rows moved away says their results are not in the Status column', async () => {
  const addon = await addonFor(service);
  const summary = {applied: 2, rejected: 0, conflicts: 0, unchanged: 0, not_written_back: 1,
    rows: [{row: 5, seller_id: 'S1', product_id: 'P1', grade: 'good', country: 'FR',
      outcome: 'applied', status: '✔ applied', written_back: false,
      note: 'applied, not written back: the row was moved or deleted'}]};
  const text = addon.run('pushedText_', summary);
  assert.match(text, /^Pushed: 2 price changes applied/);
  assert.match(text, /1 row moved or deleted while the push ran: its result is not in the Status/);
  assert.doesNotMatch(addon.run('pushedText_', {...summary, not_written_back: 0}), /moved/);
});

test('the expected effect is one short line, or says why it is missing, or nothing', async () => {
  const addon = await addonFor(service);
  const effect = {available: true, missing: null, edits: 2, expected_orders_28d_before: 3.04,
    expected_orders_28d_after: 4.5, cost_change_28d: {EUR: '-12.5', GBP: '3.10'}};
  assert.equal(addon.run('effectText_', effect), '\nExpected effect (win model, advisory): ' +
      '3.0 → 4.5 orders per 28 days (+1.5); cost -12.50 EUR, +3.10 GBP per 28 days.');
  const missing = {available: false, missing: 'no orders in the 56 days to 2025-06-30 to learn ' +
      'from', edits: 0, expected_orders_28d_before: null, expected_orders_28d_after: null,
    cost_change_28d: null};
  assert.equal(addon.run('effectText_', missing), '\nExpected effect: not available (no ' +
      'orders in the 56 days to 2025-06-30 to learn from).');
  assert.equal(addon.run('effectText_', {...effect, edits: 0}), '');
  assert.equal(addon.run('effectText_', null), '');  // a push's answer has none
});

test('Push pricing changes with only rejected rows, or none, says why nothing is pushed', async () => {
  const addon = await addonFor(service);  // 'abc' is still in the cracked row's New price
  addon.run('pushPricingChanges');
  const dialog = onlyDialog(addon);
  assert.match(dialog.prompt, /^Nothing can be pushed yet\. If pushed now: 0 price changes/);
  assert.match(dialog.prompt, /• Row \d+ \(S1 P1 cracked FR\): .*'abc' is not a price/);
  await service.type('ops', [[FR_CRACKED, 'New price', '']]);
  const again = await addonFor(service);
  again.run('pushPricingChanges');
  assert.match(onlyDialog(again).prompt, /^There is nothing to push/);
  assert.equal(again.requests.length, 1);
});

test('a push from a sheet synced before another sheet\'s push is a conflict, explained', async () => {
  await service.type('france', [[FR_GOOD, 'New price', '128']]);  // it still shows version 1
  const addon = await addonFor(service, {sheet: 'france'});
  addon.run('previewPricingChanges');
  assert.match(onlyDialog(addon).prompt, /0 price changes would be applied, 0 rejected, 1 conflict /);
  assert.match(onlyDialog(addon).prompt, /• Row \d+ \(S1 P1 good FR\): .*changed since this sheet was synced: now 125/);
  const again = await addonFor(service, {sheet: 'france'});
  again.run('pushPricingChanges');
  assert.match(onlyDialog(again).prompt, /^Nothing can be pushed yet\. .*1 conflict/s);
  assert.match(onlyDialog(again).prompt, /Each row above says what to do/);
  assert.equal(again.requests.length, 1);
});

test('logAudience tells the administrator the audience to configure, never the token', async () => {
  const addon = await addonFor(service);
  assert.equal(addon.run('logAudience'), service.audience);
  const logged = addon.logs.map((line) => line.text).join('\n');
  assert.match(logged, new RegExp(`SHEETS_SYNC_OIDC_AUDIENCES=${service.audience}`));
  assert.ok(!logged.includes(addon.identityToken));
});

test('the service never logged a token the add-on sent', async () => {
  const log = fs.readFileSync(service.log, 'utf8');
  assert.ok(log.length > 0);
  for (const token of service.minted) assert.ok(!log.includes(token.split('.')[2]));
});
