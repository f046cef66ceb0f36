"use strict";
// The Config page: the file in use (secrets hidden), an upload checked (errors with their
// line and field, and a diff) before it can be applied, and a restart when one is needed.
let uploaded = null;
async function showConfig() {
  const c = await api('/ui/api/config');
  if (!c.file) { document.getElementById('config-result').textContent = (c.errors && c.errors[0] && c.errors[0].message) || c.error || ''; return; }
  document.getElementById('config-file').textContent = c.file;
  document.getElementById('config-text').textContent = c.text;
}
function result(text, ok) {
  const out = document.getElementById('config-result'); out.textContent = text; out.className = ok ? 'Good' : 'Bad';
}
function showErrors(errors) {
  document.getElementById('config-errors').replaceChildren(...(errors || []).map(e => {
    const li = el('li', (e.line ? 'line ' + e.line + ': ' : '') + (e.field ? e.field + ': ' : '') + e.message);
    li.dataset.line = e.line; li.dataset.field = e.field || '';
    return li;
  }));
}
function showDiff(diff) {
  const pre = document.getElementById('config-diff');
  pre.replaceChildren(...(diff || []).map(d => el('div', d.op + ' ' + d.text, d.op === '+' ? 'Good' : (d.op === '-' ? 'Bad' : ''))));
}
async function send(path) {
  const r = await fetch(path, {method: 'POST', credentials: 'same-origin', headers: {'content-type': 'application/toml', 'x-csrf-token': csrf()}, body: uploaded});
  if (r.status === 401) { location.href = '/ui/login'; throw new Error('logged out'); }
  return r.json();
}
async function checkUpload() {
  const f = document.getElementById('config-upload').files[0];
  if (!f) { result('choose a file first', false); return; }
  uploaded = await f.text();
  const r = await send('/ui/api/config/check');
  showErrors(r.errors); showDiff(r.diff);
  document.getElementById('config-apply').disabled = !r.ok;
  if (r.ok) result(r.sections.length ? 'valid; changes: ' + r.sections.join(', ') + (r.restart_needed ? ' (a restart is needed for them to apply)' : ' (applied at once)') : 'valid; nothing changes', true);
  else result(r.error || 'not valid: nothing was written', false);
}
async function applyUpload() {
  const r = await send('/ui/api/config/apply');
  showErrors(r.errors);
  result(r.message || r.error || (r.errors && r.errors.length ? 'not valid: nothing was written' : ''), r.ok);
  document.getElementById('config-apply').disabled = true;
  document.getElementById('config-restart').hidden = !(r.ok && r.restart_needed);
  showConfig();
}
async function restartNow() {
  const r = await api('/ui/api/restart', {method: 'POST', headers: {'x-csrf-token': csrf()}});
  result(r.message || r.error, r.ok);
  document.getElementById('config-restart').hidden = true;
  if (r.ok) {
    // Back when the gateway answers again (the session ends with the process: log in again).
    const poll = setInterval(() => fetch('/ui/login').then(x => { if (x.ok) { clearInterval(poll); location.href = '/ui/login'; } }).catch(() => {}), 1000);
  }
}
document.addEventListener('DOMContentLoaded', () => {
  showConfig().catch(() => {});
  document.getElementById('config-check').addEventListener('click', () => checkUpload());
  document.getElementById('config-apply').addEventListener('click', () => applyUpload());
  document.getElementById('config-restart').addEventListener('click', () => restartNow());
  document.getElementById('config-upload').addEventListener('change', () => { document.getElementById('config-apply').disabled = true; });
});
