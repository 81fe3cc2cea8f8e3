// The template layer: every interpolated value is escaped unless it is markup made by `html`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { escapeHtml, html, Html } from '../../src/dashboard/html.js';

test('escapeHtml escapes the characters that end text or a quoted attribute', () => {
  assert.equal(escapeHtml(`<a href="x" onclick='y'>&\`</a>`), '&lt;a href=&quot;x&quot; onclick=&#39;y&#39;&gt;&amp;&#96;&lt;/a&gt;');
  assert.equal(escapeHtml('plain text 123'), 'plain text 123');
});

test('html escapes strings in text and attribute positions', () => {
  const hostile = '"><script>alert(1)</script><img src=x onerror=alert(2)>';
  const out = String(html`<td title="${hostile}">${hostile}</td>`);
  assert.ok(!out.includes('<script>'), out);
  assert.ok(!out.includes('<img'), out);
  assert.equal(out, `<td title="${escapeHtml(hostile)}">${escapeHtml(hostile)}</td>`);
  // A single-quoted attribute cannot be closed either.
  assert.ok(!String(html`<td title='${"' onmouseover='x"}'>`).includes("' onmouseover"));
});

test('html inserts nested templates as markup and escapes strings inside lists', () => {
  const items = ['<b>', 'ok'].map((x) => html`<li>${x}</li>`);
  assert.equal(String(html`<ul>${items}</ul>`), '<ul><li>&lt;b&gt;</li><li>ok</li></ul>');
  assert.ok(html`x` instanceof Html);
});

test('html renders numbers, and nothing for null, undefined, false and non-finite numbers', () => {
  assert.equal(String(html`${1.5}|${null}|${undefined}|${false}|${NaN}|${true}`), '1.5|||||true');
});

test('an object that merely looks like markup is escaped (only Html instances are trusted)', () => {
  const fake = { toString: () => '<script>x</script>' } as unknown as string;
  assert.equal(String(html`${fake}`), '&lt;script&gt;x&lt;/script&gt;');
});
