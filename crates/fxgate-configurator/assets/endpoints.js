"use strict";
// The Endpoints page: what the gateway offers now, and the switches and address written to
// [server] for the next start (a restart is then offered).
let filled = false;
async function endpoints() {
  const e = await api('/ui/api/endpoints');
  document.getElementById('endpoint-url').textContent = e.url;
  document.getElementById('advice').textContent = e.advice;
  restartPending(document.getElementById('restart-pending'), e.restart_pending);
  rows(document.querySelector('#endpoint-list tbody'), e.endpoints, x => {
    const state = el('td', x.offered ? 'offered' : 'off', x.offered ? (x.deprecated || x.policy === 'None' ? 'Uncertain' : 'Good') : '');
    state.dataset.endpoint = x.policy + ' ' + x.mode;
    return [el('td', x.policy + (x.deprecated ? ' (deprecated)' : '')), el('td', x.mode), state];
  });
  document.getElementById('endpoint-form').hidden = !(e.may_configure && e.editable);
  if (!filled) {
    const s = e.settings;
    document.getElementById('allow-none').checked = s.allow_none;
    document.getElementById('allow-deprecated').checked = s.allow_deprecated;
    document.getElementById('ep-host').value = s.host;
    document.getElementById('ep-port').value = s.port;
    document.getElementById('ep-url').value = s.endpoint_url;
    filled = true;
  }
}
async function saveEndpoints() {
  const body = {
    host: document.getElementById('ep-host').value, port: Number(document.getElementById('ep-port').value),
    endpoint_url: document.getElementById('ep-url').value,
    allow_none: document.getElementById('allow-none').checked, allow_deprecated: document.getElementById('allow-deprecated').checked,
  };
  if ((body.allow_none || body.allow_deprecated) && !confirm('Offer insecure endpoints after the next restart? We strongly advise against it.')) return;
  const r = await api('/ui/api/endpoints', {method: 'POST', headers: {'content-type': 'application/json', 'x-csrf-token': csrf()}, body: JSON.stringify(body)});
  const out = document.getElementById('endpoints-result'); out.textContent = r.message || r.error; out.className = r.ok ? 'Good' : 'Bad';
  document.querySelectorAll('[data-error-for]').forEach(x => { x.textContent = (!r.ok && x.dataset.errorFor === r.field) ? r.message : ''; });
  endpoints();
}
document.addEventListener('DOMContentLoaded', () => {
  every(endpoints);
  document.getElementById('save-endpoints').addEventListener('click', () => saveEndpoints());
});
