'use strict';
// Starts the real Trade-In Ops service for a test file (service.py) and gives
// the test what stands in for the rest of the world: ID tokens, the team
// typing into the Pricing tab, and the Sheets emulator's fault controls.

const {spawn} = require('node:child_process');
const path = require('node:path');
const readline = require('node:readline');

const ROOT = path.resolve(__dirname, '..', '..', '..');
const PYTHON = process.env.SHEETS_SYNC_TEST_PYTHON || path.join(ROOT, '.venv', 'bin', 'python');

/** Start service.py; resolves once it printed its addresses. */
async function startService() {
  const child = spawn(PYTHON, ['-P', path.join(__dirname, '..', 'service.py')], {
    cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk) => { stderr += chunk; });
  const first = await new Promise((resolve, reject) => {
    const lines = readline.createInterface({input: child.stdout});
    lines.once('line', resolve);
    child.once('exit', (code) => reject(new Error(`service.py exited (${code}):\n${stderr}`)));
  });
  const info = JSON.parse(first);
  return new Service(info, child);
}

class Service {
  constructor(info, child) {
    const {control, ...rest} = info;
    Object.assign(this, rest);
    this.controlUrl = control;
    this.child = child;
    this.minted = [];
  }

  /** An ID token as ScriptApp.getIdentityToken() gives (Lea's unless claims say otherwise). */
  async token(claims = {}) {
    const {token} = await this.control('/token', claims);
    this.minted.push(token);
    return token;
  }

  /** The team types into the Pricing tab: edits are [[seller, product, grade, country], header, value]. */
  async type(sheet, edits) {
    return this.control('/type', {sheet, edits});
  }

  /** A cell of the Pricing tab, read back as the service reads it. */
  async read(sheet, key, header) {
    return (await this.control('/read', {sheet, key, header})).value;
  }

  /** Another run holds the spreadsheet's run lock until release(): refreshes stay queued. */
  async hold(sheet) {
    return this.control('/hold', {sheet});
  }

  async release(sheet) {
    return this.control('/release', {sheet});
  }

  /** Make the Sheets emulator fail (kind 503, hang…) on matching requests. */
  async fault(spec) {
    return post(`${this.emulator}/_emulator/faults`, spec);
  }

  /** The team adds a tab of its own to a spreadsheet (Sheets API, on the emulator). */
  async addSheet(sheet, title) {
    return this.sheetsUpdate(sheet, [{addSheet: {properties: {title}}}]);
  }

  /** The team renames a tab. */
  async renameSheet(sheet, from, to) {
    const book = await (await fetch(`${this.emulator}/v4/spreadsheets/${this.sheets[sheet]}`)).json();
    const {sheetId} = book.sheets.find((s) => s.properties.title === from).properties;
    return this.sheetsUpdate(sheet, [{updateSheetProperties: {
      properties: {sheetId, title: to}, fields: 'title'}}]);
  }

  async sheetsUpdate(sheet, requests) {
    return post(`${this.emulator}/v4/spreadsheets/${this.sheets[sheet]}:batchUpdate`, {requests});
  }

  async clearFaults() {
    const response = await fetch(`${this.emulator}/_emulator/faults`, {method: 'DELETE'});
    if (!response.ok) throw new Error(`clearing faults: HTTP ${response.status}`);
  }

  async control(route, body) {
    return post(this.controlUrl + route, body);
  }

  async stop() {
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.stdin.end();
    await exited;
  }
}

async function post(url, body) {
  const response = await fetch(url, {
    method: 'POST', headers: {'Content-Type': 'application/json'}, body: JSON.stringify(body),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`POST ${url}: HTTP ${response.status} ${text}`);
  return JSON.parse(text);
}

module.exports = {startService, ROOT, PYTHON};
