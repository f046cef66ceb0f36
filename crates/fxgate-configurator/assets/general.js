"use strict";
async function general() {
  const g = await api('/ui/api/general');
  if (g.error) { document.getElementById('general-result').textContent = g.error; return; }
  document.getElementById('anonymous').checked = g.anonymous;
  document.getElementById('anonymous-roles').value = g.anonymous_roles.join(', ');
  rows(document.querySelector('#at-start tbody'), g.at_start, x => [el('td', x[0]), el('td', x[1])]);
}
async function saveGeneral() {
  const body = {anonymous: document.getElementById('anonymous').checked, anonymous_roles: roleList(document.getElementById('anonymous-roles').value)};
  const r = await api('/ui/api/general', {method: 'POST', headers: {'content-type': 'application/json', 'x-csrf-token': csrf()}, body: JSON.stringify(body)});
  const out = document.getElementById('general-result'); out.textContent = r.message || r.error; out.className = r.ok ? 'Good' : 'Bad';
  general();
}
document.addEventListener('DOMContentLoaded', () => {
  general().catch(() => {});
  document.getElementById('save-general').addEventListener('click', () => saveGeneral());
});
