/**
 * Trade-In Ops add-on: the one way the script talks to the Trade-In Ops
 * service (the webhook). Every call goes through callBackend_(), which signs
 * it with the user's Google identity token and turns every failure into one
 * sentence a person can act on, so no menu item ever shows a raw script error.
 *
 * The service's URL is the script property SHEETS_SYNC_URL (Extensions ›
 * Apps Script › Project settings › Script properties), e.g.
 * https://tradein-ops.ew.r.appspot.com
 */

var BACKEND_URL_PROPERTY = 'SHEETS_SYNC_URL';
var SERVICE_NAME = 'the Trade-In Ops service';

/**
 * A JSON object as the service answers it (its fields vary by route).
 * @typedef {Object<string, any>} Json
 */

/**
 * What callBackend_() gives back: the service's answer, or why there is none.
 * `ok` tells which, so a caller that returned on `!ok` has a body.
 * @typedef {{ok: true, status: number, body: Json, message: null}} Success
 * @typedef {{ok: false, status: number, body: ?Json, message: string}} Failure
 * @typedef {Success|Failure} Answer
 */

/**
 * Call the service and read its JSON answer.
 *
 * @param {GoogleAppsScript.URL_Fetch.HttpMethod} method 'get' or 'post'.
 * @param {string} path e.g. '/hooks/refresh' (with its query string, if any).
 * @param {Object=} payload sent as a JSON body (post only).
 * @return {Answer} status is 0 when no HTTP answer came; message is null when ok.
 */
function callBackend_(method, path, payload) {
  var base = backendUrl_();
  if (base.message !== undefined) return failure_(0, null, base.message);
  var token = identityToken_();
  if (token.message !== undefined) return failure_(0, null, token.message);
  /** @type {GoogleAppsScript.URL_Fetch.URLFetchRequestOptions} */
  var options = {
    method: method,
    headers: {Authorization: 'Bearer ' + token.value},
    muteHttpExceptions: true,
    followRedirects: false
  };
  if (payload !== undefined) {
    options.contentType = 'application/json';
    options.payload = JSON.stringify(payload);
  }
  var response;
  try {
    response = UrlFetchApp.fetch(base.url + path, options);
  } catch (error) {
    return failure_(0, null, unreachableMessage_(error, base.url));
  }
  return readAnswer_(response, path);
}

/**
 * The service's base URL from the script property, without a trailing slash.
 * @return {{url: string, message?: undefined}|{url?: undefined, message: string}}
 */
function backendUrl_() {
  var url = PropertiesService.getScriptProperties().getProperty(BACKEND_URL_PROPERTY);
  url = (url || '').trim().replace(/\/+$/, '');
  if (!url) {
    return {message: 'Trade-In Ops is not set up yet: the script property ' +
        BACKEND_URL_PROPERTY + ' is missing. In Extensions › Apps Script › Project settings › ' +
        'Script properties, set it to the address of ' + SERVICE_NAME +
        ' (e.g. https://tradein-ops.ew.r.appspot.com).'};
  }
  if (!/^https?:\/\/[^\s/]+/.test(url)) {
    return {message: 'The script property ' + BACKEND_URL_PROPERTY + ' is "' + url +
        '", which is not a web address. Set it to the address of ' + SERVICE_NAME +
        ', starting with https://.'};
  }
  return {url: url};
}

/**
 * The user's Google ID token (needs the "openid" scope in appsscript.json).
 * @return {{value: string, message?: undefined}|{value?: undefined, message: string}}
 */
function identityToken_() {
  var token = null;
  try {
    token = ScriptApp.getIdentityToken();
  } catch (error) {
    token = null;
  }
  if (!token) {
    return {message: 'Trade-In Ops could not get your Google sign-in (identity token). The ' +
        'script\'s appsscript.json must list the "openid" and userinfo.email scopes; ' +
        'reinstall the add-on from the repository\'s templates/apps_script and accept ' +
        'its permissions.'};
  }
  return {value: token};
}

/**
 * The message for a request that got no HTTP answer (down, unreachable, too slow,
 * or refused by Apps Script itself: the manifest's urlFetchWhitelist does not
 * cover the address, which happens when SHEETS_SYNC_URL names another service
 * than the one the add-on was deployed for). Google does not publish the wording
 * of that refusal, so the other messages name the allowlist too.
 * @param {*} error what UrlFetchApp.fetch threw.
 * @param {string} url the service's base URL.
 * @return {string}
 */
function unreachableMessage_(error, url) {
  var text = String(error && error.message ? error.message : error).replace(/^Exception:\s*/, '');
  if (/timeout|timed out/i.test(text)) {
    return SERVICE_NAME.charAt(0).toUpperCase() + SERVICE_NAME.slice(1) + ' (' + url +
        ') did not answer in time. It may be busy: try again in a minute. If it keeps ' +
        'happening, tell the team that runs the service.';
  }
  if (/whitelist|allowlist|not permitted/i.test(text)) {
    return 'Trade-In Ops may not call ' + url + ': the add-on\'s allowlist (urlFetchWhitelist ' +
        'in appsscript.json) does not cover it (' + firstLine_(text) + '). Set the script ' +
        'property ' + BACKEND_URL_PROPERTY + ' to the address the add-on was installed for, or ' +
        'install it again for this one (sheets-sync addon --url ' + url + ').';
  }
  return 'Cannot reach ' + SERVICE_NAME + ' at ' + url + ' (' + firstLine_(text) +
      '). It may be down: try again in a few minutes. If it keeps happening, check the ' +
      'script property ' + BACKEND_URL_PROPERTY + ' (the add-on\'s urlFetchWhitelist in ' +
      'appsscript.json must cover it) or tell the team that runs the service.';
}

/**
 * Turn an HTTP answer into {ok, status, body, message}.
 * @param {GoogleAppsScript.URL_Fetch.HTTPResponse} response
 * @param {string} path the path asked for, to name it in messages.
 * @return {Answer}
 */
function readAnswer_(response, path) {
  var status = response.getResponseCode();
  var requestId = header_(response, 'X-Request-Id');
  var body = parseJson_(response.getContentText());
  if (status >= 500) return failure_(status, body, serverMessage_(status, body, response, requestId));
  if (status >= 300 && status < 400) {
    return failure_(status, null, 'The address in ' + BACKEND_URL_PROPERTY + ' sends requests ' +
        'elsewhere (HTTP ' + status + ' to ' + (header_(response, 'Location') || 'another page') +
        '). Set the script property to the address of ' + SERVICE_NAME + ' itself (with ' +
        'https:// if it redirects there).');
  }
  if (body === null) {
    return failure_(status, null, 'The address in ' + BACKEND_URL_PROPERTY + ' answered (HTTP ' +
        status + '), but not like ' + SERVICE_NAME + ' (no JSON). Check that the script ' +
        'property points to the service itself, e.g. https://tradein-ops.ew.r.appspot.com.');
  }
  if (status >= 200 && status < 300) return {ok: true, status: status, body: body, message: null};
  return failure_(status, body, clientMessage_(status, body, path, requestId));
}

/**
 * The message for a 4xx answer: what happened and what to do.
 * @param {number} status
 * @param {?Json} body
 * @param {string} path
 * @param {?string} requestId the service's X-Request-Id, when it gave one.
 * @return {string}
 */
function clientMessage_(status, body, path, requestId) {
  var said = body && typeof body.error === 'string' ? body.error : '';
  if (status === 401) {
    return SERVICE_NAME.charAt(0).toUpperCase() + SERVICE_NAME.slice(1) + ' did not accept ' +
        'your Google sign-in (401). Reload the spreadsheet and try again. If it persists, ' +
        'ask its administrator to check that this script\'s OAuth client id is in ' +
        'SHEETS_SYNC_OIDC_AUDIENCES.';
  }
  if (status === 403 && body && typeof body.reason === 'string') {
    return accessMessage_(body.reason, said, status, requestId);
  }
  if (status === 403 && (said === 'forbidden' || !said)) {
    return 'Your account' + userEmail_() + ' is not allowed to use Trade-In Ops (403). Ask ' +
        'for access: the service\'s administrator adds you to SHEETS_SYNC_ALLOWED_EMAILS ' +
        '(or your domain to SHEETS_SYNC_ALLOWED_DOMAINS).';
  }
  if (status === 404 && /not registered/.test(said)) {
    return 'This spreadsheet is not registered with Trade-In Ops (404). Ask the service\'s ' +
        'administrator to add it to sheets-sync.yaml (its id is ' + spreadsheetIdForHelp_() + ').';
  }
  if (status === 404 && !/^\/runs\//.test(path)) {
    return SERVICE_NAME.charAt(0).toUpperCase() + SERVICE_NAME.slice(1) + ' has no ' +
        path.split('?')[0] + ' (404): it may be an older version, or ' + BACKEND_URL_PROPERTY +
        ' points to the wrong address.';
  }
  if (status === 413) {
    return 'The request was too large for ' + SERVICE_NAME + ' (413): ' + said;
  }
  return said ? said + withRequestId_(status, requestId)
      : 'The service refused the request' + withRequestId_(status, requestId) + '.';
}

/**
 * The message for a 403 about this spreadsheet (its members and pricers in
 * sheets-sync.yaml), as the service's `reason` says; the account may use
 * Trade-In Ops, just not this way on this spreadsheet.
 * @param {string} reason
 * @param {string} said the service's `error`, '' when none.
 * @param {number} status
 * @param {?string} requestId
 * @return {string}
 */
function accessMessage_(reason, said, status, requestId) {
  var admin = ' Ask the service\'s administrator to add you to its ';
  if (reason === 'not_a_member') {
    return 'Your account' + userEmail_() + ' is not a member of this spreadsheet in Trade-In ' +
        'Ops (403): it may not refresh it, see its runs and alerts or push its prices.' + admin +
        'members in sheets-sync.yaml.';
  }
  if (reason === 'not_a_pricer') {
    return 'Your account' + userEmail_() + ' may refresh this spreadsheet but not push its ' +
        'prices (403).' + admin + 'pricers in sheets-sync.yaml.';
  }
  if (reason === 'no_pricers') {
    return 'This spreadsheet accepts no price push (403): no one is listed in its pricers in ' +
        'sheets-sync.yaml. Ask the service\'s administrator to list who may push its prices.';
  }
  return said ? said + withRequestId_(status, requestId)
      : 'The service refused the request' + withRequestId_(status, requestId) + '.';
}

/**
 * The message for a 5xx answer; 503 comes with Retry-After.
 * @param {number} status
 * @param {?Json} body
 * @param {GoogleAppsScript.URL_Fetch.HTTPResponse} response
 * @param {?string} requestId
 * @return {string}
 */
function serverMessage_(status, body, response, requestId) {
  var said = body && typeof body.error === 'string' ? body.error : '';
  if (status === 503 || status === 429) {
    var wait = parseInt(header_(response, 'Retry-After') || '', 10);
    return SERVICE_NAME.charAt(0).toUpperCase() + SERVICE_NAME.slice(1) + ' is busy or ' +
        'cannot do it right now' + (said ? ' (' + said + ')' : '') + '. Try again in ' +
        (wait > 0 ? wait + ' seconds' : 'a minute') + '.';
  }
  return SERVICE_NAME.charAt(0).toUpperCase() + SERVICE_NAME.slice(1) + ' failed (HTTP ' +
      status + (requestId ? ', request id ' + requestId : '') + '). Try again; if it happens ' +
      'again, give the request id to the team that runs the service.';
}

/**
 * @param {number} status
 * @param {?Json} body
 * @param {string} message
 * @return {Failure}
 */
function failure_(status, body, message) {
  return {ok: false, status: status, body: body, message: message};
}

/**
 * @param {string} text
 * @return {?Json} null unless the text is a JSON object (or array).
 */
function parseJson_(text) {
  try {
    var value = JSON.parse(text);
    return value !== null && typeof value === 'object' ? value : null;
  } catch (error) {
    return null;
  }
}

/**
 * A response header, whatever its case.
 * @param {GoogleAppsScript.URL_Fetch.HTTPResponse} response
 * @param {string} name
 * @return {?string}
 */
function header_(response, name) {
  /** @type {Object<string, *>} */
  var headers = response.getHeaders() || {};
  for (var key in headers) {
    if (key.toLowerCase() === name.toLowerCase()) return String(headers[key]);
  }
  return null;
}

/**
 * @param {number} status
 * @param {?string} requestId
 * @return {string}
 */
function withRequestId_(status, requestId) {
  return ' (HTTP ' + status + (requestId ? ', request id ' + requestId : '') + ')';
}

/**
 * @param {*} text
 * @return {string}
 */
function firstLine_(text) {
  return String(text).split('\n')[0].slice(0, 200);
}

/** " (lea@…)" when the signed-in address is known, for "ask for access" messages. */
function userEmail_() {
  try {
    var email = Session.getActiveUser().getEmail();
    return email ? ' (' + email + ')' : '';
  } catch (error) {
    return '';
  }
}

function spreadsheetIdForHelp_() {
  try {
    return SpreadsheetApp.getActive().getId();
  } catch (error) {
    return 'in its address, between /d/ and /edit';
  }
}
