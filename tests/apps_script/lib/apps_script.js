'use strict';
// Stand-ins for the Apps Script services the add-on uses, and a loader that
// runs the add-on's .gs files in a V8 context with them, the way Apps Script
// does (every file in one global scope). They behave like Google's services
// as documented — signatures, return values, limits, the errors they throw —
// and record what the user would see (menus, dialogs, toasts, sidebars).
// UrlFetchApp.fetch makes real, synchronous HTTP requests (a child process
// per request, lib/http_child.js), so the add-on talks to the real service,
// and like Apps Script it fetches nothing the manifest's urlFetchWhitelist
// does not cover (developers.google.com/apps-script/manifest/allowlist-url).
// Google's servers reach the service at its public https:// address; here a
// `network` map says which local (plain HTTP) server answers each such
// origin, as a TLS front would.

const {execFileSync} = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const vm = require('node:vm');

const ADDON_DIR = path.resolve(__dirname, '..', '..', '..', 'templates', 'apps_script');
const HTTP_CHILD = path.join(__dirname, 'http_child.js');
const FETCH_OPTIONS = new Set(['method', 'headers', 'payload', 'contentType', 'muteHttpExceptions',
  'followRedirects', 'validateHttpsCertificates', 'escaping', 'useIntranet']);
const METHODS = new Set(['get', 'delete', 'patch', 'post', 'put']);
const BUTTON = {OK: 'OK', CANCEL: 'CANCEL', YES: 'YES', NO: 'NO', CLOSE: 'CLOSE'};
const BUTTON_SET = {OK: 'OK', OK_CANCEL: 'OK_CANCEL', YES_NO: 'YES_NO', YES_NO_CANCEL: 'YES_NO_CANCEL'};
const CACHE_MAX_SECONDS = 21600;

/** A spreadsheet several users may have open: its document lock is shared by their executions. */
class Document {
  /** `sheetsApi`: where the spreadsheet lives (the Sheets emulator); `active`: the tab in view. */
  constructor({id, name, sheetsApi, active = 'KPI Daily'}) {
    Object.assign(this, {id, name, sheetsApi, active, lockOwner: null});
  }

  /** The spreadsheet's sheets as the Sheets API gives them (title, developer metadata). */
  sheets() {
    const url = `${this.sheetsApi}/v4/spreadsheets/${this.id}?fields=` +
      encodeURIComponent('sheets(properties(sheetId,title),developerMetadata)');
    const answer = syncHttp({url, method: 'GET', headers: {}, body: null, timeoutMs: 30000});
    if (answer.failure || answer.status !== 200) throw new Error(`stand-in: ${url}: ${JSON.stringify(answer)}`);
    return JSON.parse(Buffer.from(answer.body, 'base64').toString('utf8')).sheets;
  }

  /** Someone else's execution (a colleague, a first click) holds the document lock. */
  holdLock(owner) {
    if (this.lockOwner !== null) throw new Error(`lock already held by ${this.lockOwner}`);
    this.lockOwner = owner;
  }

  releaseLock(owner) {
    if (this.lockOwner === owner) this.lockOwner = null;
  }
}

/** The add-on as one user runs it in one spreadsheet. */
class Addon {
  /**
   * `addonDir`: the add-on's files (appsscript.json, .gs, .html) as deployed;
   * `network`: {'https://public.origin': 'http://127.0.0.1:port'}.
   */
  constructor({document, properties = {}, identityToken = null, email = 'lea@tradein.example',
    fetchTimeoutMs = 60000, addonDir = ADDON_DIR, network = {}}) {
    Object.assign(this, {document, email, identityToken, fetchTimeoutMs, addonDir, network});
    const manifest = JSON.parse(fs.readFileSync(path.join(addonDir, 'appsscript.json'), 'utf8'));
    this.allowlist = manifest.urlFetchWhitelist || null;
    this.properties = {...properties};
    this.menus = [];
    this.dialogs = [];
    this.answers = [];
    this.toasts = [];
    this.sidebars = [];
    this.requests = [];
    this.logs = [];
    this.userCache = new Cache();
    this.execution = null;
    this.executions = 0;
    this.context = vm.createContext(this.globals());
    for (const file of fs.readdirSync(addonDir).filter((f) => f.endsWith('.gs')).sort()) {
      const code = fs.readFileSync(path.join(addonDir, file), 'utf8');
      vm.runInContext(code, this.context, {filename: file});
    }
  }

  /**
   * Run a top-level function as Apps Script runs a menu item or a google.script.run
   * call: one execution, whose locks are released when it ends. A thrown error is
   * what the user would see as a raw script error, so it is re-thrown as such.
   */
  run(name, ...args) {
    const fn = this.context[name];
    if (typeof fn !== 'function') throw new Error(`Script function not found: ${name}`);
    this.execution = `execution-${++this.executions}`;
    try {
      return fn(...args);
    } finally {
      this.document.releaseLock(this.execution);
      this.execution = null;
    }
  }

  /** Values from the context (e.g. results) as plain Node objects. */
  plain(value) {
    return value === undefined ? undefined : JSON.parse(JSON.stringify(value));
  }

  globals() {
    return {
      SpreadsheetApp: this.spreadsheetApp(),
      HtmlService: htmlService(this.addonDir),
      UrlFetchApp: {fetch: (url, params) => this.fetch(url, params)},
      ScriptApp: {getIdentityToken: () => this.identityToken},
      PropertiesService: {getScriptProperties: () => this.scriptProperties()},
      LockService: {getDocumentLock: () => new Lock(this)},
      CacheService: {getUserCache: () => this.userCache},
      Session: {getActiveUser: () => ({getEmail: () => this.email})},
      Utilities: utilities(),
      console: recordingConsole(this.logs),
    };
  }

  spreadsheetApp() {
    const doc = this.document;
    const sheet = () => activeSheet(doc);
    const spreadsheet = {
      getId: () => doc.id,
      getName: () => doc.name,
      getActiveSheet: sheet,
      toast: (msg, title, timeoutSeconds) => {
        this.toasts.push({msg: String(msg), title, timeoutSeconds});
      },
    };
    return {
      getActive: () => spreadsheet,
      getActiveSpreadsheet: () => spreadsheet,
      getActiveSheet: sheet,
      getUi: () => this.ui(),
    };
  }

  ui() {
    const addon = this;
    return {
      Button: BUTTON,
      ButtonSet: BUTTON_SET,
      createMenu(caption) {
        const menu = {caption, items: []};
        const builder = {
          addItem(label, functionName) {
            menu.items.push({label, functionName});
            return builder;
          },
          addSeparator() {
            menu.items.push({separator: true});
            return builder;
          },
          addToUi() {
            addon.menus.push(menu);
          },
        };
        return builder;
      },
      alert(...args) {
        return addon.alert(args);
      },
      showSidebar(output) {
        if (!output || typeof output.getContent !== 'function') {
          throw new Error('Exception: Invalid argument: userInterface');
        }
        addon.sidebars.push({title: output.getTitle(), content: output.getContent()});
      },
    };
  }

  /** Ui.alert(prompt) | (prompt, buttons) | (title, prompt, buttons); the user's answer. */
  alert(args) {
    const [title, prompt, buttons] = args.length === 3 ? args
      : args.length === 2 ? ['', args[0], args[1]] : ['', args[0], BUTTON_SET.OK];
    if (!Object.values(BUTTON_SET).includes(buttons)) {
      throw new Error('Exception: Invalid argument: buttons');
    }
    this.dialogs.push({title, prompt: String(prompt), buttons});
    if (buttons === BUTTON_SET.OK) return BUTTON.OK;
    if (!this.answers.length) throw new Error(`the test did not say how the user answers "${prompt}"`);
    return this.answers.shift();
  }

  scriptProperties() {
    const props = this.properties;
    const store = {
      getProperty: (key) => (Object.hasOwn(props, key) ? props[key] : null),
      setProperty: (key, value) => { props[key] = String(value); return store; },
      getProperties: () => ({...props}),
    };
    return store;
  }

  /** UrlFetchApp.fetch: a real HTTP request, synchronous, failing like Apps Script's. */
  fetch(url, params = {}) {
    for (const key of Object.keys(params)) {
      if (!FETCH_OPTIONS.has(key)) throw new Error(`Exception: Unexpected fetch option: ${key}`);
    }
    if (!/^https?:\/\//.test(String(url))) throw new Error(`Exception: Invalid argument: ${url}`);
    if (this.allowlist && !allowlisted(String(url), this.allowlist)) {
      // Google does not publish this exception's wording; the add-on must not rely on it.
      throw new Error(`Exception: UrlFetch calls to ${url} are not permitted by the script's ` +
        'urlFetchWhitelist (appsscript.json).');
    }
    const method = String(params.method || 'get').toLowerCase();
    if (!METHODS.has(method)) throw new Error(`Exception: Invalid argument: method`);
    const headers = {'User-Agent': 'Mozilla/5.0 (compatible; Google-Apps-Script)',
      ...(params.headers || {})};
    let body = null;
    if (params.payload !== undefined) {
      if (typeof params.payload !== 'string') throw new Error('stand-in: payload must be a string');
      headers['Content-Type'] = params.contentType || 'application/x-www-form-urlencoded';
      body = Buffer.from(params.payload, 'utf8').toString('base64');
    }
    const request = {url: this.route(String(url)), method: method.toUpperCase(), headers, body,
      followRedirects: params.followRedirects !== false, timeoutMs: this.fetchTimeoutMs};
    this.requests.push({url, method: request.method, headers, payload: params.payload});
    const answer = syncHttp(request);
    if (answer.failure) {
      const what = answer.failure.kind === 'timeout' ? 'Timeout' : 'Address unavailable';
      throw new Error(`${what}: ${url}`);
    }
    const response = new HttpResponse(answer);
    if (!params.muteHttpExceptions && answer.status >= 400) {
      throw new Error(`Request failed for ${new URL(url).host} returned code ${answer.status}. ` +
        `Truncated server response: ${response.getContentText().slice(0, 100)}`);
    }
    return response;
  }

  /** Where the request really goes: the local server behind a public origin, if any. */
  route(url) {
    const {origin} = new URL(url);
    return Object.hasOwn(this.network, origin) ? this.network[origin] + url.slice(origin.length) : url;
  }
}

/**
 * Whether a urlFetchWhitelist prefix covers `url`, by Google's published rules:
 * the URL is the prefix or a child of it (path case-sensitive; after a prefix
 * not ending in '/', the URL goes on with '/', '?' or '#'); a leading '*.'
 * stands for one or more subdomains (at least one).
 */
function allowlisted(url, prefixes) {
  return prefixes.some((prefix) => coveredBy(url, String(prefix)));
}

function coveredBy(url, prefix) {
  const wild = prefix.startsWith('https://*.');
  const target = new URL(url);
  const pattern = new URL(wild ? prefix.replace('*.', 'wildcard.') : prefix);
  const base = pattern.hostname.replace(/^wildcard\./, '');
  const hostOk = wild ? target.hostname.endsWith(`.${base}`) : target.hostname === pattern.hostname;
  if (target.protocol !== 'https:' || target.port !== pattern.port || !hostOk) return false;
  const rest = target.pathname + target.search + target.hash;
  const path = pattern.pathname;
  if (!rest.startsWith(path)) return false;
  return path.endsWith('/') || rest.length === path.length || '/?#'.includes(rest[path.length]);
}

/** One real HTTP request, synchronously: a child process does it while we wait. */
function syncHttp(request) {
  return JSON.parse(execFileSync(process.execPath, [HTTP_CHILD], {
    input: JSON.stringify(request), maxBuffer: 64 * 1024 * 1024, timeout: request.timeoutMs + 30000,
  }).toString('utf8'));
}

/** The Sheet in view: its name and its developer metadata, read from the spreadsheet itself. */
function activeSheet(doc) {
  return {
    getName: () => doc.active,
    getDeveloperMetadata() {
      const found = doc.sheets().find((sheet) => sheet.properties.title === doc.active);
      if (!found) throw new Error(`stand-in: the spreadsheet has no sheet "${doc.active}"`);
      return (found.developerMetadata || []).map((tag) => ({
        getId: () => tag.metadataId,
        getKey: () => tag.metadataKey,
        getValue: () => (tag.metadataValue === undefined ? null : tag.metadataValue),
        getVisibility: () => tag.visibility,
      }));
    },
  };
}

class HttpResponse {
  constructor({status, headers, body}) {
    this.status = status;
    this.headers = headers;
    this.bytes = Buffer.from(body, 'base64');
  }

  getResponseCode() { return this.status; }

  getContentText() { return this.bytes.toString('utf8'); }

  getHeaders() { return {...this.headers}; }

  getAllHeaders() { return {...this.headers}; }
}

/** LockService's document lock: one holder at a time across executions and users. */
class Lock {
  constructor(addon) {
    this.addon = addon;
  }

  tryLock(timeoutInMillis) {
    if (!Number.isInteger(timeoutInMillis) || timeoutInMillis < 0) {
      throw new Error('Exception: Invalid argument: timeoutInMillis');
    }
    const doc = this.addon.document;
    const me = this.addon.execution;
    if (doc.lockOwner !== null && doc.lockOwner !== me) return false;
    doc.lockOwner = me;
    return true;
  }

  hasLock() {
    return this.addon.document.lockOwner === this.addon.execution;
  }

  releaseLock() {
    this.addon.document.releaseLock(this.addon.execution);
  }
}

/** CacheService's Cache: strings only, at most 6 hours. */
class Cache {
  constructor() {
    this.entries = new Map();
  }

  put(key, value, expirationInSeconds = 600) {
    if (typeof value !== 'string') throw new Error('Exception: Invalid argument: value');
    if (String(key).length > 250) throw new Error('Exception: Invalid argument: key');
    if (expirationInSeconds > CACHE_MAX_SECONDS) throw new Error('Exception: Invalid argument: expirationInSeconds');
    this.entries.set(String(key), {value, until: Date.now() + expirationInSeconds * 1000});
  }

  get(key) {
    const entry = this.entries.get(String(key));
    return entry && entry.until > Date.now() ? entry.value : null;
  }

  remove(key) {
    this.entries.delete(String(key));
  }
}

function htmlService(addonDir) {
  return {
    createHtmlOutputFromFile(filename) {
      const file = path.join(addonDir, `${filename}.html`);
      if (!fs.existsSync(file)) throw new Error(`Exception: No HTML file named ${filename} was found.`);
      const content = fs.readFileSync(file, 'utf8');
      let title = '';
      const output = {
        setTitle(value) { title = String(value); return output; },
        getTitle: () => title,
        getContent: () => content,
      };
      return output;
    },
  };
}

function utilities() {
  return {
    base64DecodeWebSafe(encoded) {
      if (typeof encoded !== 'string' || encoded.length % 4 !== 0 || /[^A-Za-z0-9_\-=]/.test(encoded)) {
        throw new Error('Exception: Could not decode string.');
      }
      return Array.from(Buffer.from(encoded, 'base64url'), (b) => (b > 127 ? b - 256 : b));
    },
    newBlob(data) {
      const bytes = Buffer.from(Array.isArray(data) ? data.map((b) => b & 255) : String(data));
      return {getDataAsString: () => bytes.toString('utf8'), getBytes: () => Array.from(bytes)};
    },
  };
}

function recordingConsole(logs) {
  const record = (level) => (...args) => logs.push({level, text: args.map(String).join(' ')});
  return {log: record('log'), info: record('info'), warn: record('warn'), error: record('error')};
}

module.exports = {Addon, Document, ADDON_DIR, allowlisted};
