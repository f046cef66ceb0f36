"use strict";
async function write(tag, input) {
  const text = input.value.trim();
  let value = text;
  if (text === 'true' || text === 'false') value = text === 'true'; else if (text !== '' && !isNaN(Number(text))) value = Number(text);
  const r = await api('/ui/api/write', {method: 'POST', headers: {'content-type': 'application/json', 'x-csrf-token': csrf()}, body: JSON.stringify({tag, value})});
  const out = document.getElementById('write-result');
  out.textContent = tag + ': ' + r.status; out.className = quality(r.status);
}
let editing = false;
async function tags() {
  if (editing) return;
  const prefix = document.getElementById('prefix').value;
  const t = await api('/ui/api/tags?prefix=' + encodeURIComponent(prefix));
  document.getElementById('count').textContent = t.tags.length + ' of ' + t.total + ' tags';
  rows(document.querySelector('#tags tbody'), t.tags, x => {
    const w = document.createElement('td');
    if (x.writable && t.may_write) {
      const i = document.createElement('input'); i.size = 8; i.dataset.tag = x.tag;
      i.addEventListener('focus', () => editing = true); i.addEventListener('blur', () => editing = false);
      const b = el('button', 'Write'); b.dataset.tag = x.tag;
      b.addEventListener('mousedown', () => editing = true);
      b.addEventListener('click', async () => { await write(x.tag, i); editing = false; tags(); });
      w.append(i, b);
    }
    const v = el('td', x.v); v.dataset.tag = x.tag; v.className = 'value';
    return [el('td', x.tag), v, el('td', x.q, quality(x.q)), el('td', x.st), w];
  });
}
document.addEventListener('DOMContentLoaded', () => {
  every(tags);
  document.getElementById('prefix').addEventListener('input', () => tags());
});
