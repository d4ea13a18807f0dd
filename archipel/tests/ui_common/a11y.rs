//! The RGAA 4.1 criteria a script can check on a rendered page: the page's language, one h1 and
//! a main region, a skip link first, labels on every field, text on every link and button,
//! titles on frames, alternatives on images, unique ids, and text contrast (WCAG AA ratios,
//! computed from the styles as rendered).

use super::browser::Browser;

const AUDIT: &str = r#"
const problems = [];
const lang = document.documentElement.getAttribute('lang');
if (!lang || !['fr', 'en'].includes(lang)) problems.push('html lang is ' + lang);
if (document.querySelectorAll('h1').length !== 1) problems.push('h1 count ' + document.querySelectorAll('h1').length);
if (!document.querySelector('main')) problems.push('no main');
if (!document.title.trim()) problems.push('no title');
const focusable = document.querySelector('a[href], button, input:not([type=hidden]), select, textarea');
if (!focusable || !focusable.classList.contains('skip')) problems.push('the first focusable element is not the skip link');
for (const f of document.querySelectorAll('input:not([type=hidden]):not([type=submit]), select, textarea')) {
  const labelled = (f.id && document.querySelector('label[for="' + f.id + '"]')) || f.getAttribute('aria-label') || f.getAttribute('aria-labelledby') || f.closest('label');
  if (!labelled) problems.push('field without label: ' + (f.name || f.id));
}
for (const a of document.querySelectorAll('a[href], button')) {
  if (!(a.textContent.trim() || a.getAttribute('aria-label'))) problems.push('link or button without text: ' + a.outerHTML.slice(0, 80));
}
for (const i of document.querySelectorAll('iframe')) if (!i.getAttribute('title')) problems.push('iframe without title');
for (const i of document.querySelectorAll('img')) if (!i.hasAttribute('alt')) problems.push('img without alt');
const ids = new Set();
for (const e of document.querySelectorAll('[id]')) { if (ids.has(e.id)) problems.push('duplicate id ' + e.id); ids.add(e.id); }
for (const t of document.querySelectorAll('table')) if (!t.querySelector('th')) problems.push('table without headers');
function rgb(s) { const m = s.match(/[\d.]+/g); return m ? m.map(Number) : [0, 0, 0, 0]; }
function lum(c) { const v = c.slice(0, 3).map(x => { x /= 255; return x <= 0.03928 ? x / 12.92 : Math.pow((x + 0.055) / 1.055, 2.4); }); return 0.2126 * v[0] + 0.7152 * v[1] + 0.0722 * v[2]; }
function bg(e) { for (; e; e = e.parentElement) { const c = rgb(getComputedStyle(e).backgroundColor); if (c.length < 4 || c[3] > 0) return c; } return [255, 255, 255]; }
const seen = new Set();
const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
while (walker.nextNode()) {
  const e = walker.currentNode.parentElement;
  if (!e || seen.has(e) || !walker.currentNode.textContent.trim()) continue;
  seen.add(e);
  const st = getComputedStyle(e);
  if (st.visibility === 'hidden' || st.display === 'none' || e.closest('[hidden], .skip, .visually-hidden, details:not([open])')) continue;
  const fg = rgb(st.color), b = bg(e);
  const l1 = lum(fg), l2 = lum(b);
  const ratio = (Math.max(l1, l2) + 0.05) / (Math.min(l1, l2) + 0.05);
  const size = parseFloat(st.fontSize), bold = parseInt(st.fontWeight) >= 700;
  const large = size >= 24 || (bold && size >= 18.66);
  if (ratio < (large ? 3 : 4.5)) problems.push('contrast ' + ratio.toFixed(2) + ' for "' + walker.currentNode.textContent.trim().slice(0, 30) + '"');
}
return problems;
"#;

/// Runs the audit on the page the browser shows; panics listing what fails.
pub async fn check(b: &Browser, what: &str) {
    let v = b.js(AUDIT).await;
    let problems: Vec<String> = v
        .as_array()
        .map(|a| a.iter().filter_map(|x| x.as_str().map(str::to_owned)).collect())
        .unwrap_or_default();
    assert!(
        problems.is_empty(),
        "accessibility of {what} ({}): {problems:#?}",
        b.url().await
    );
}
