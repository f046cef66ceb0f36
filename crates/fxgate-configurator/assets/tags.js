"use strict";
// The Tags page: the folder tree (loaded one folder at a time), the open folder's tags a page at a
// time (or the prefix filter's), polled every 2 s, a write box for `write` users, and the trend of
// one numeric tag as an SVG drawn with DOM calls.
// One closure: no name of this page can clash with common.js's.
(() => {
const PAGE = 500;
const view = {folder: null, offset: 0, total: 0, trend: null};
let editing = false;
const $ = id => document.getElementById(id);
const enc = encodeURIComponent;

async function write(tag, input) {
  const text = input.value.trim();
  let value = text;
  if (text === 'true' || text === 'false') value = text === 'true'; else if (text !== '' && !isNaN(Number(text))) value = Number(text);
  const r = await api('/ui/api/write', {method: 'POST', headers: {'content-type': 'application/json', 'x-csrf-token': csrf()}, body: JSON.stringify({tag, value})});
  const out = $('write-result');
  out.textContent = tag + ': ' + r.status; out.className = quality(r.status);
}

// A button that keeps the table from being redrawn under the pointer between press and click.
function button(text, cls, onclick) {
  const b = el('button', text, cls);
  b.addEventListener('mousedown', () => editing = true);
  b.addEventListener('click', async () => { try { await onclick(); } finally { editing = false; } });
  return b;
}

// The table: redrawn when the list of tags changes, else its values, qualities and times set in
// place (no elements made every 2 s, and a focused write box stays as it is).
function show(t, name) {
  const tbody = document.querySelector('#tags tbody');
  const key = t.may_write + '\n' + t.tags.map(x => x.tag).join('\n');
  if (key === view.key && tbody.rows.length === t.tags.length) {
    t.tags.forEach((x, i) => {
      const c = tbody.rows[i].cells;
      c[1].textContent = String(x.v); c[2].textContent = x.q; c[2].className = quality(x.q); c[3].textContent = x.st;
    });
  } else fill(tbody, t, name);
  view.key = key;
  view.total = t.total;
  const shown = t.tags.length ? (view.offset + 1) + '–' + (view.offset + t.tags.length) : '0';
  $('count').textContent = shown + ' of ' + t.total + ' tags';
  $('prev').disabled = view.offset === 0;
  $('next').disabled = view.offset + t.tags.length >= t.total;
}

function fill(tbody, t, name) {
  if (!performance.getEntriesByName('tags-first-render').length) queueMicrotask(() => performance.mark('tags-first-render'));
  rows(tbody, t.tags, x => {
    const w = document.createElement('td');
    if (x.writable && t.may_write) {
      const i = document.createElement('input'); i.size = 8; i.dataset.tag = x.tag;
      i.addEventListener('focus', () => editing = true); i.addEventListener('blur', () => editing = false);
      const b = button('Write', '', async () => { await write(x.tag, i); editing = false; await tags(); });
      b.dataset.tag = x.tag;
      w.append(i, b);
    }
    const tr = document.createElement('td');
    if (x.numeric) { const b = button('Trend', 'trend', () => openTrend(x.tag)); b.dataset.trend = x.tag; tr.append(b); }
    const v = el('td', x.v); v.dataset.tag = x.tag; v.className = 'value';
    return [el('td', name(x.tag)), v, el('td', x.q, quality(x.q)), el('td', x.st), w, tr];
  });
}

// The poll: the open folder's (or the filter's) page of values, and the open trend.
async function tags() {
  if (editing) return;
  const prefix = $('prefix').value;
  if (prefix !== '') {
    const t = await api('/ui/api/tags?prefix=' + enc(prefix) + '&offset=' + view.offset + '&limit=' + PAGE);
    show(t, tag => tag);
  } else if (view.folder !== null) {
    const below = $('below').checked;
    const t = await api('/ui/api/tags?folder=' + enc(view.folder) + '&folders=false&below=' + below + '&offset=' + view.offset + '&limit=' + PAGE);
    if (t.error) { $('count').textContent = t.error; return; }
    const cut = view.folder === '' ? 0 : view.folder.length + 1;
    show(t, tag => tag.slice(cut));
  }
  if (view.trend) await drawTrend();
}

// One folder's subfolders (and its counts), with no tags.
const folderInfo = path => api('/ui/api/tags?folder=' + enc(path) + '&limit=0');

function folderItem(f) {
  const li = el('li'); li.dataset.path = f.path;
  const toggle = el('button', f.folders ? '▸' : '', 'toggle');
  toggle.addEventListener('click', () => expand(li, !li.querySelector('ul')));
  const a = el('a', f.name + ' (' + f.below + ')', 'folder'); a.href = '#' + enc(f.path); a.dataset.folder = f.path;
  a.addEventListener('click', e => { e.preventDefault(); openFolder(f.path); expand(li, true); });
  li.append(toggle, a);
  return li;
}

function fillFolders(ul, info) {
  ul.replaceChildren(...info.folders.map(folderItem));
  if (info.folders_total > info.folders.length) ul.append(el('li', '… ' + (info.folders_total - info.folders.length) + ' more folders'));
}

async function expand(li, open) {
  const toggle = li.querySelector('button.toggle');
  const had = li.querySelector('ul');
  if (!open) { if (had) had.remove(); if (toggle.textContent) toggle.textContent = '▸'; return; }
  if (had || !toggle.textContent) return;
  const ul = document.createElement('ul'); li.append(ul);
  toggle.textContent = '▾';
  fillFolders(ul, await folderInfo(li.dataset.path));
}

function openFolder(path) {
  view.folder = path; view.offset = 0;
  $('prefix').value = '';
  $('folder').textContent = path === '' ? '(all folders)' : path;
  history.replaceState(null, '', '#' + enc(path));
  document.querySelectorAll('#tree a.open').forEach(a => a.classList.remove('open'));
  document.querySelectorAll('#tree a.folder').forEach(a => { if (a.dataset.folder === path) a.classList.add('open'); });
  return tags();
}

// The tree's top level, then the folder named in the address (its parents opened), else the first
// folder that holds tags.
async function start() {
  const root = await folderInfo('');
  fillFolders($('folders'), root);
  let path = '';
  try { path = decodeURIComponent(location.hash.slice(1)); } catch (e) { path = ''; }
  if (location.hash === '') {
    let info = root; path = '';
    for (let depth = 0; info.total === 0 && info.folders.length && depth < 16; depth++) {
      path = info.folders[0].path;
      info = await folderInfo(path);
    }
  }
  const parts = path.split('/');
  for (let i = 1; i < parts.length; i++) {
    const li = [...document.querySelectorAll('#tree li')].find(l => l.dataset.path === parts.slice(0, i).join('/'));
    if (li) await expand(li, true);
  }
  await openFolder(path);
}

const SVG = 'http://www.w3.org/2000/svg';
function svg(tag, attrs, text) {
  const e = document.createElementNS(SVG, tag);
  Object.entries(attrs).forEach(([k, v]) => e.setAttribute(k, String(v)));
  if (text !== undefined) e.textContent = text;
  return e;
}
const clock = ms => new Date(ms).toLocaleTimeString();
const num = v => String(Number(v.toPrecision(6)));
const span = ms => ms < 120000 ? Math.round(ms / 1000) + ' s' : Math.round(ms / 60000) + ' min';

async function openTrend(tag) {
  view.trend = tag;
  $('trend').hidden = false;
  $('trend-tag').textContent = tag;
  await drawTrend();
}

async function drawTrend() {
  const tag = view.trend;
  const t = await api('/ui/api/trend?tag=' + enc(tag));
  const chart = $('trend-chart'), info = $('trend-info');
  if (t.error) { chart.replaceChildren(); info.textContent = t.error; info.className = 'err'; view.trend = null; return; }
  if (view.trend !== tag) return;
  const W = 640, H = 180, L = 60, R = 10, T = 12, B = 22;
  const pts = t.points, vals = pts.filter(p => p[1] !== null).map(p => p[1]);
  const t0 = pts.length ? Math.min(pts[0][0], t.now) : t.now, t1 = Math.max(t.now, t0 + 1000);
  let lo = vals.length ? Math.min(...vals) : 0, hi = vals.length ? Math.max(...vals) : 1;
  const pad = hi === lo ? 1 : 0;
  const x = ms => L + (ms - t0) / (t1 - t0) * (W - L - R);
  const y = v => T + (hi + pad - v) / (hi - lo + 2 * pad) * (H - T - B);
  const parts = [svg('rect', {x: L, y: T, width: W - L - R, height: H - T - B, fill: 'none', stroke: '#ddd'})];
  let line = [];
  const flush = () => { if (line.length) parts.push(svg('polyline', {class: 'line', points: (line.length === 1 ? [line[0], line[0]] : line).join(' ')})); line = []; };
  pts.forEach((p, i) => {
    if (p[1] === null) {
      flush();
      const end = i + 1 < pts.length ? pts[i + 1][0] : t.now;
      parts.push(svg('rect', {class: 'gap', x: x(p[0]), y: T, width: Math.max(2, x(end) - x(p[0])), height: H - T - B}));
    } else line.push(x(p[0]).toFixed(1) + ',' + y(p[1]).toFixed(1));
  });
  flush();
  parts.push(svg('text', {id: 'trend-max', x: 4, y: T + 8}, num(hi)), svg('text', {id: 'trend-min', x: 4, y: H - B}, num(lo)),
    svg('text', {x: L, y: H - 6}, clock(t0)), svg('text', {id: 'trend-span', x: W - R, y: H - 6, 'text-anchor': 'end'}, 'last ' + span(t1 - t0) + ' → ' + clock(t.now)));
  chart.replaceChildren(...parts);
  info.className = '';
  info.textContent = 'recorded since ' + clock(t.since) + ' (one point a second for ' + span(t.window_ms) + ' at most; ' +
    t.points.length + ' points; gaps: Bad)';
}

document.addEventListener('DOMContentLoaded', () => {
  $('prefix').addEventListener('input', () => { view.offset = 0; tags(); });
  $('below').addEventListener('change', () => { view.offset = 0; tags(); });
  $('prev').addEventListener('click', () => { view.offset = Math.max(0, view.offset - PAGE); tags(); });
  $('next').addEventListener('click', () => { if (view.offset + PAGE < view.total) view.offset += PAGE; tags(); });
  $('trend-close').addEventListener('click', () => { view.trend = null; $('trend').hidden = true; });
  // start() showed the first page; the poll goes on from there.
  start().catch(() => {}).finally(() => setTimeout(() => every(tags), 2000));
});
})();
