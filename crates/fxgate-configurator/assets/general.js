"use strict";
// The General page: anonymous access (applied at once), the log level (applied at once),
// LDS registration and reverse connect (written; a restart applies them, offered here).
function say(r) {
  const out = document.getElementById('general-result'); out.textContent = r.message || r.error; out.className = r.ok ? 'Good' : 'Bad';
  document.querySelectorAll('[data-error-for]').forEach(e => { e.textContent = (!r.ok && e.dataset.errorFor === r.field) ? r.message : ''; });
}
async function post(path, body) {
  const r = await api(path, {method: 'POST', headers: {'content-type': 'application/json', 'x-csrf-token': csrf()}, body: JSON.stringify(body)});
  say(r);
  general();
}
async function general() {
  const g = await api('/ui/api/general');
  if (g.error) { document.getElementById('general-result').textContent = g.error; return; }
  document.getElementById('anonymous').checked = g.anonymous;
  document.getElementById('anonymous-roles').value = g.anonymous_roles.join(', ');
  document.getElementById('log-level').value = g.log_level || '';
  document.getElementById('lds').value = g.register_with_lds;
  document.getElementById('reverse-connect').value = g.reverse_connect.join(', ');
  restartPending(document.getElementById('restart-pending'), g.restart_pending);
  rows(document.querySelector('#at-start tbody'), g.at_start, x => [el('td', x[0]), el('td', x[1])]);
}
document.addEventListener('DOMContentLoaded', () => {
  general().catch(() => {});
  document.getElementById('save-general').addEventListener('click', () => post('/ui/api/general',
    {anonymous: document.getElementById('anonymous').checked, anonymous_roles: roleList(document.getElementById('anonymous-roles').value)}));
  document.getElementById('save-log').addEventListener('click', () => post('/ui/api/general/log', {level: document.getElementById('log-level').value}));
  document.getElementById('save-discovery').addEventListener('click', () => post('/ui/api/general/discovery',
    {register_with_lds: document.getElementById('lds').value, reverse_connect: document.getElementById('reverse-connect').value.split(/[\s,]+/).filter(Boolean)}));
});
