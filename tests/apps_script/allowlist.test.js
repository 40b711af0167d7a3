'use strict';
// The UrlFetchApp stand-in applies the manifest's urlFetchWhitelist as Google
// documents it (developers.google.com/apps-script/manifest/allowlist-url, its
// own examples), and the add-on `sheets-sync addon` writes allows exactly the
// service's address.

const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const {test} = require('node:test');
const {allowlisted, ADDON_DIR} = require('./lib/apps_script');
const {deployedFor} = require('./lib/helpers');

test('a prefix covers itself and its children, path case-sensitive (Google\'s examples)', () => {
  const prefix = ['https://example.com/foo'];
  for (const url of ['https://example.com/foo', 'https://example.com/foo/', 'https://example.com/foo/bar',
    'https://example.com/foo?bar', 'https://example.com/foo#bar']) {
    assert.ok(allowlisted(url, prefix), url);
  }
  for (const url of ['https://example.com/foobar', 'https://example.com/Foo', 'http://example.com/foo',
    'https://sub.example.com/foo', 'https://example.com:8443/foo', 'https://example.com.evil.test/foo']) {
    assert.ok(!allowlisted(url, prefix), url);
  }
});

test('a leading wildcard stands for one or more subdomains, never none (Google\'s examples)', () => {
  const prefix = ['https://*.example.com/foo'];
  assert.ok(allowlisted('https://subdomain.example.com/foo', prefix));
  assert.ok(allowlisted('https://any.number.of.subdomains.example.com/foo', prefix));
  assert.ok(!allowlisted('https://subdomain.example.com/bar', prefix));
  assert.ok(!allowlisted('https://example.com/foo', prefix));
  assert.ok(!allowlisted('https://badexample.com/foo', prefix));
});

test('sheets-sync addon: the manifest allows the service\'s address, the rest is the template', () => {
  const dir = deployedFor('https://tradein-ops.test');
  const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'appsscript.json'), 'utf8'));
  const template = JSON.parse(fs.readFileSync(path.join(ADDON_DIR, 'appsscript.json'), 'utf8'));
  assert.deepEqual(manifest.urlFetchWhitelist, ['https://tradein-ops.test/']);
  assert.deepEqual({...manifest, urlFetchWhitelist: null}, {...template, urlFetchWhitelist: null});
  assert.ok(allowlisted('https://tradein-ops.test/hooks/refresh', manifest.urlFetchWhitelist));
  assert.ok(allowlisted('https://tradein-ops.test/runs?spreadsheet_id=x&limit=10', manifest.urlFetchWhitelist));
  for (const file of fs.readdirSync(ADDON_DIR).filter((f) => /\.(gs|html)$/.test(f))) {
    assert.equal(fs.readFileSync(path.join(dir, file), 'utf8'),
      fs.readFileSync(path.join(ADDON_DIR, file), 'utf8'), file);
  }
});
