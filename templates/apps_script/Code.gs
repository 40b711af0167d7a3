/**
 * Trade-In Ops add-on: the "Trade-In Ops" menu of the team's spreadsheet.
 *
 * Each item calls the Trade-In Ops service (Backend.gs) with the user's
 * Google identity. A document lock absorbs double clicks: while one item is
 * talking to the service, a second click says so instead of starting again.
 * Every failure ends as a message to the user, never a raw script error.
 */

var MENU_TITLE = 'Trade-In Ops';
var MENU_ITEMS = [
  ['Refresh all', 'refreshAll'],
  ['Refresh this tab', 'refreshThisTab'],
  ['Preview pricing changes', 'previewPricingChanges'],
  ['Push pricing changes', 'pushPricingChanges'],
  ['Sync status', 'showSyncStatus']
];
var LOCK_WAIT_MS = 1000;
var TAB_METADATA_KEY = 'sheets-sync.tab';
var ROWS_LISTED = 8;

/**
 * One row of a pricing push's answer (POST /hooks/pricing).
 * @typedef {{row: number, seller_id: string, product_id: string, grade: string,
 *     country: string, outcome: string, status: string}} PricingRow
 */

/**
 * A preview's expected effect of the edits that would apply (the win model's; advisory).
 * @typedef {{available: boolean, missing: ?string, edits: number,
 *     expected_orders_28d_before: ?number, expected_orders_28d_after: ?number,
 *     cost_change_28d: ?Object<string, string>}} ExpectedEffect
 */

/**
 * The counts and rows of a pricing preview or push.
 * @typedef {{applied: number, rejected: number, conflicts: number, unchanged: number,
 *     rows: ?Array<PricingRow>, not_written_back: ?number,
 *     expected_effect: ?ExpectedEffect}} PricingSummary
 */

/**
 * Simple trigger: build the menu (no service call here: simple triggers may not fetch).
 * @param {GoogleAppsScript.Events.SheetsOnOpen|GoogleAppsScript.Events.AddonOnInstall=} e
 */
function onOpen(e) {
  var menu = SpreadsheetApp.getUi().createMenu(MENU_TITLE);
  MENU_ITEMS.forEach(function (item) {
    menu.addItem(item[0], item[1]);
  });
  menu.addToUi();
}

/**
 * Installed as an add-on: the menu appears without reopening the spreadsheet.
 * @param {GoogleAppsScript.Events.AddonOnInstall} e
 */
function onInstall(e) {
  onOpen(e);
}

/** Menu › Refresh all: sync every tab of this spreadsheet. */
function refreshAll() {
  menuAction_(function () {
    startRefresh_(null);
  });
}

/**
 * Menu › Refresh this tab: sync the active tab only, when Trade-In Ops fills it in.
 * Its tabs carry the developer metadata tag TAB_METADATA_KEY (value: the tab's
 * own title), so a tab the team renamed is still found, and the team's own
 * tabs are told apart without a call to the service.
 */
function refreshThisTab() {
  menuAction_(function () {
    var sheet = SpreadsheetApp.getActiveSheet();
    var title = managedTitle_(sheet);
    if (title === null) {
      return showMessage_('Refresh this tab', '"' + sheet.getName() + '" is not a tab ' +
          'Trade-In Ops fills in, so there is nothing to refresh there. Go to one of its tabs ' +
          '(KPI Daily, Pricing, …) and try again, or use Trade-In Ops › Refresh all.');
    }
    startRefresh_(title);
  });
}

/**
 * The title Trade-In Ops gave this sheet (its tag), or null for the team's own sheets.
 * @param {GoogleAppsScript.Spreadsheet.Sheet} sheet
 * @return {?string}
 */
function managedTitle_(sheet) {
  var tags = sheet.getDeveloperMetadata().filter(function (tag) {
    return tag.getKey() === TAB_METADATA_KEY;
  });
  return tags.length ? tags[0].getValue() : null;
}

/** Menu › Preview pricing changes: what a push would do, nothing written. */
function previewPricingChanges() {
  menuAction_(function () {
    var preview = callBackend_('post', '/hooks/pricing', pricingBody_(true));
    if (!preview.ok) return showMessage_('Preview pricing changes', preview.message);
    showMessage_('Preview pricing changes', previewText_(summary_(preview.body)) +
        '\n\nNothing was pushed. To apply these changes: Trade-In Ops › Push pricing changes.');
  });
}

/** Menu › Push pricing changes: preview, ask, then push; the Status column explains each row. */
function pushPricingChanges() {
  var preview = menuAction_(function () {
    return callBackend_('post', '/hooks/pricing', pricingBody_(true));
  });
  if (!preview) return;
  if (!preview.ok) return showMessage_('Push pricing changes', preview.message);
  var summary = summary_(preview.body);
  var confirmed = guarded_(function () {
    return confirmPush_(summary);
  });
  if (!confirmed) return;
  menuAction_(function () {
    var pushed = callBackend_('post', '/hooks/pricing', pricingBody_(false));
    if (!pushed.ok) return showMessage_('Push pricing changes', pushed.message);
    showMessage_('Push pricing changes', pushedText_(summary_(pushed.body)));
  });
}

/**
 * The body of a 2xx answer of POST /hooks/pricing, as what it is.
 * @param {Json} body
 * @return {PricingSummary}
 */
function summary_(body) {
  return /** @type {PricingSummary} */ (body);
}

/**
 * Show the preview and ask Yes/No; true to push. Asked without the document
 * lock, so colleagues are not blocked while the user reads.
 * @param {PricingSummary} summary the preview.
 * @return {boolean}
 */
function confirmPush_(summary) {
  if (summary.applied + summary.rejected + summary.conflicts === 0) {
    showMessage_('Push pricing changes', 'There is nothing to push: no row of the ' +
        'Pricing tab has a New price different from its Current price.');
    return false;
  }
  if (summary.applied === 0) {
    showMessage_('Push pricing changes', 'Nothing can be pushed yet. ' +
        previewText_(summary) + '\n\nEach row above says what to do; then push again.');
    return false;
  }
  var ui = SpreadsheetApp.getUi();
  var question = previewText_(summary) + '\n\nPush ' + plural_(summary.applied, 'price change') +
      ' now? Rejected rows and conflicts are not pushed; their Status column will say why.';
  if (ui.alert('Push pricing changes', question, ui.ButtonSet.YES_NO) !== ui.Button.YES) {
    SpreadsheetApp.getActive().toast('Nothing was pushed.', MENU_TITLE, 5);
    return false;
  }
  return true;
}

/** Menu › Sync status: the sidebar with the last runs and the active alerts. */
function showSyncStatus() {
  menuAction_(function () {
    openSidebar_();
  });
}

/**
 * Run a menu action under the document lock; a second click meanwhile is told
 * to wait. Returns the action's value, or undefined when it did not run.
 * @template T
 * @param {function(): T} action
 * @return {T|undefined}
 */
function menuAction_(action) {
  var lock = LockService.getDocumentLock();
  if (!lock || !lock.tryLock(LOCK_WAIT_MS)) {
    showMessage_(MENU_TITLE, 'Trade-In Ops is already running something in this spreadsheet ' +
        '(perhaps a second click, or a colleague\'s). Wait a few seconds for it to finish; ' +
        'Trade-In Ops › Sync status shows the runs.');
    return undefined;
  }
  try {
    return guarded_(action);
  } finally {
    lock.releaseLock();
  }
}

/**
 * Run `action`; anything it throws becomes a message (and undefined), never a raw error.
 * @template T
 * @param {function(): T} action
 * @return {T|undefined}
 */
function guarded_(action) {
  try {
    return action();
  } catch (error) {
    showMessage_(MENU_TITLE, unexpectedMessage_(error));
    return undefined;
  }
}

/**
 * Ask the service to refresh this spreadsheet (one tab, or all when tab is null).
 * @param {?string} tab
 */
function startRefresh_(tab) {
  var spreadsheet = SpreadsheetApp.getActive();
  /** @type {{spreadsheet_id: string, tabs?: Array<string>}} */
  var body = {spreadsheet_id: spreadsheet.getId()};
  if (tab !== null) body.tabs = [tab];
  var answer = callBackend_('post', '/hooks/refresh', body);
  if (!answer.ok) {
    var notOurs = tab !== null && answer.status === 400 && answer.body &&
        /^tabs/.test(String(answer.body.field || ''));
    return showMessage_(tab === null ? 'Refresh all' : 'Refresh this tab',
        notOurs && tab !== null ? notManagedText_(tab, answer.body && answer.body.error) :
        answer.message);
  }
  followRun_(spreadsheet.getId(), answer.body.run_id);
  var what = tab === null ? 'all tabs' : '"' + tab + '"';
  spreadsheet.toast((answer.body.joined ? 'Refresh started (joined the one already on its ' +
      'way)' : 'Refresh started (' + what + ')') + '. The sidebar follows it to its end.',
      MENU_TITLE, 5);
  openSidebar_();
}

/**
 * A managed tab outside this spreadsheet's registered tabs (the service's 400 lists them).
 * @param {string} tab
 * @param {*} said the service's `error`.
 * @return {string}
 */
function notManagedText_(tab, said) {
  var listed = /use some of \[(.*)\]/.exec(String(said || ''));
  return '"' + tab + '" is not refreshed for this spreadsheet: it gets ' +
      (listed ? listed[1].replace(/'/g, '') : 'other tabs') + '. Go to one of those tabs and ' +
      'try again, or use Trade-In Ops › Refresh all.';
}

/**
 * @param {boolean} dryRun
 * @return {{spreadsheet_id: string, dry_run: boolean}}
 */
function pricingBody_(dryRun) {
  return {spreadsheet_id: SpreadsheetApp.getActive().getId(), dry_run: dryRun};
}

/**
 * The preview's counts, its expected effect, then the rows that would not go through and why.
 * @param {PricingSummary} summary
 * @return {string}
 */
function previewText_(summary) {
  return 'If pushed now: ' + plural_(summary.applied, 'price change') + ' would be applied, ' +
      summary.rejected + ' rejected, ' + plural_(summary.conflicts, 'conflict') + ' (' +
      summary.unchanged + ' unchanged).' + effectText_(summary.expected_effect) +
      problemRows_(summary.rows);
}

/**
 * One line: what the edits that would apply should do to orders and cost per 28 days.
 * @param {?ExpectedEffect|undefined} effect
 * @return {string}
 */
function effectText_(effect) {
  if (!effect) return '';
  if (!effect.available) return '\nExpected effect: not available (' + effect.missing + ').';
  if (!effect.edits) return '';
  var before = effect.expected_orders_28d_before || 0;
  var after = effect.expected_orders_28d_after || 0;
  var costs = effect.cost_change_28d || {};
  var cost = Object.keys(costs).map(function (currency) {
    return signed_(Number(costs[currency]), 2) + ' ' + currency;
  }).join(', ');
  return '\nExpected effect (win model, advisory): ' + before.toFixed(1) + ' → ' +
      after.toFixed(1) + ' orders per 28 days (' + signed_(after - before, 1) + '); cost ' +
      cost + ' per 28 days.';
}

/**
 * @param {number} value
 * @param {number} places
 * @return {string} the value with its sign, e.g. +1.5 or -3.00
 */
function signed_(value, places) {
  return (value >= 0 ? '+' : '') + value.toFixed(places);
}

/**
 * @param {PricingSummary} summary
 * @return {string}
 */
function pushedText_(summary) {
  return 'Pushed: ' + plural_(summary.applied, 'price change') + ' applied, ' +
      summary.rejected + ' rejected, ' + plural_(summary.conflicts, 'conflict') + '.' +
      problemRows_(summary.rows) + notWrittenBack_(summary) +
      '\n\nThe Status column of the Pricing tab explains each row.';
}

/**
 * Rows moved or deleted while the push ran: their result is in the database only.
 * @param {PricingSummary} summary
 * @return {string}
 */
function notWrittenBack_(summary) {
  var count = summary.not_written_back || 0;
  if (!count) return '';
  return '\n\n' + plural_(count, 'row') + ' moved or deleted while the push ran: ' +
      (count === 1 ? 'its result is' : 'their results are') + ' not in the Status column ' +
      '(what was applied is live). Refresh the Pricing tab to see the prices.';
}

/**
 * "Row 7 (S1 P1 good FR): <status>" for rejected rows and conflicts, the first few.
 * @param {?Array<PricingRow>} rows
 * @return {string}
 */
function problemRows_(rows) {
  var problems = (rows || []).filter(function (row) {
    return row.outcome === 'rejected' || row.outcome === 'conflict';
  });
  if (!problems.length) return '';
  var lines = problems.slice(0, ROWS_LISTED).map(function (row) {
    return '• Row ' + row.row + ' (' + [row.seller_id, row.product_id, row.grade,
        row.country].join(' ') + '): ' + row.status;
  });
  if (problems.length > ROWS_LISTED) lines.push('• … and ' + (problems.length - ROWS_LISTED) +
      ' more (see the Status column).');
  return '\n\n' + lines.join('\n');
}

/**
 * @param {number} count
 * @param {string} noun
 * @return {string}
 */
function plural_(count, noun) {
  return count + ' ' + noun + (count === 1 ? '' : 's');
}

/**
 * A dialog with one OK button.
 * @param {string} title
 * @param {string} message
 */
function showMessage_(title, message) {
  var ui = SpreadsheetApp.getUi();
  ui.alert(title, message, ui.ButtonSet.OK);
}

/**
 * Anything unforeseen, still as a sentence (the details go to the script's log).
 * @param {*} error
 * @return {string}
 */
function unexpectedMessage_(error) {
  console.error('Trade-In Ops: unexpected error: ' + (error && error.stack ? error.stack : error));
  return 'Trade-In Ops hit an unexpected problem (' + firstLine_(error && error.message ?
      error.message : error) + '). Try again; if it keeps happening, tell the team that runs ' +
      'the service.';
}

/**
 * Run once from the script editor (Run › logAudience) to learn the OAuth client id
 * the service must accept: it logs the identity token's audience, never the token.
 */
function logAudience() {
  var token = ScriptApp.getIdentityToken();
  if (!token) throw new Error('No identity token: appsscript.json must list the openid scope.');
  var payload = token.split('.')[1];
  while (payload.length % 4) payload += '=';
  var claims = JSON.parse(Utilities.newBlob(Utilities.base64DecodeWebSafe(payload))
      .getDataAsString());
  console.log('Give the service SHEETS_SYNC_OIDC_AUDIENCES=' + claims.aud +
      ' (signed in as ' + claims.email + ').');
  return claims.aud;
}
