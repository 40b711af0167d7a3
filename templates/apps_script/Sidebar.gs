/**
 * Trade-In Ops add-on: what the sidebar (Sidebar.html) asks the server for,
 * through google.script.run. Each function returns plain data and never
 * throws: a failure is a message in `error`, shown by the sidebar.
 *
 * Contract with Sidebar.html:
 *   sidebarData() -> {
 *     spreadsheet: {id, name},
 *     runs: [run, ...],        // the last 10 runs of this spreadsheet, newest first
 *     alerts: [alert, ...],    // the active alerts
 *     following: run_id|null,  // the run the user just started from the menu, to follow
 *     error: null|string       // why runs/alerts could not be read (they are then [])
 *   }
 *   runStatus(runId) -> run | {error: string}
 * where run is the body of GET /runs/<run_id> (run_id, kind, status, trigger,
 * requested_by, tabs, queued_at, started_at, finished_at, duration_seconds,
 * api_calls, cells_written, bytes_sent, rows_written, error, warnings). The sidebar
 * polls runStatus with a growing delay until the run's status is succeeded
 * or failed; the server side never waits in a loop.
 */

var RUNS_SHOWN = 10;
var FOLLOW_SECONDS = 3600;
var RUN_ID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * What sidebarData() gives the sidebar (the contract above).
 * @typedef {{spreadsheet: ?{id: string, name: string}, runs: Array<Json>,
 *     alerts: Array<Json>, following: ?string, error: ?string}} SidebarData
 */

/**
 * Everything the sidebar shows when it opens or is refreshed.
 * @return {SidebarData}
 */
function sidebarData() {
  /** @type {SidebarData} */
  var data = {spreadsheet: null, runs: [], alerts: [], following: null, error: null};
  try {
    var spreadsheet = SpreadsheetApp.getActive();
    var id = spreadsheet.getId();
    data.spreadsheet = {id: id, name: spreadsheet.getName()};
    data.following = followedRun_(id);
    var query = '?spreadsheet_id=' + encodeURIComponent(id);
    var runs = callBackend_('get', '/runs' + query + '&limit=' + RUNS_SHOWN);
    if (!runs.ok) {
      data.error = runs.message;
      return data;
    }
    data.runs = runs.body.runs || [];
    var alerts = callBackend_('get', '/alerts' + query);
    if (!alerts.ok) data.error = alerts.message;
    else data.alerts = alerts.body.alerts || [];
  } catch (error) {
    data.error = unexpectedMessage_(error);
  }
  return data;
}

/**
 * One run's status and figures, or {error}.
 * @param {*} runId from the page: checked before use.
 * @return {Json}
 */
function runStatus(runId) {
  try {
    if (typeof runId !== 'string' || !RUN_ID_PATTERN.test(runId)) {
      return {error: 'No such run: "' + runId + '" is not a run id.'};
    }
    var answer = callBackend_('get', '/runs/' + runId);
    if (answer.ok) return answer.body;
    if (answer.status === 404) {
      return {error: 'Run ' + runId + ' is not a run of a registered spreadsheet.'};
    }
    return {error: answer.message};
  } catch (error) {
    return {error: unexpectedMessage_(error)};
  }
}

/**
 * Remember the run a menu refresh started, so the sidebar follows it when it opens.
 * @param {string} spreadsheetId
 * @param {string} runId
 */
function followRun_(spreadsheetId, runId) {
  CacheService.getUserCache().put(followKey_(spreadsheetId), runId, FOLLOW_SECONDS);
}

/**
 * @param {string} spreadsheetId
 * @return {?string}
 */
function followedRun_(spreadsheetId) {
  return CacheService.getUserCache().get(followKey_(spreadsheetId)) || null;
}

/**
 * @param {string} spreadsheetId
 * @return {string}
 */
function followKey_(spreadsheetId) {
  return 'trade-in-ops:following:' + spreadsheetId;
}

/** Open (or reopen) the sidebar; it loads sidebarData() itself. */
function openSidebar_() {
  var html = HtmlService.createHtmlOutputFromFile('Sidebar').setTitle('Trade-In Ops');
  SpreadsheetApp.getUi().showSidebar(html);
}
