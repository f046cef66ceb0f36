"use strict";
// The Servers page: the aggregated servers with their live state; add, change (Edit, then
// Apply) and remove for users with `configure`. Errors are shown next to their field.
let editingServer = null;
let choicesFilled = false;
function fillSelect(id, options, value) {
  const s = document.getElementById(id);
  if (!choicesFilled) s.replaceChildren(...options.map(o => { const e = el('option', o); e.value = o; return e; }));
  if (value !== undefined) s.value = value;
}
function formValues() {
  const pw = document.getElementById('srv-password').value;
  return {
    name: document.getElementById('srv-name').value, endpoint_url: document.getElementById('srv-url').value,
    security_policy: document.getElementById('srv-policy').value, security_mode: document.getElementById('srv-mode').value,
    username: document.getElementById('srv-user').value,
    // Empty while editing: the configured password stays.
    password: (editingServer !== null && pw === '') ? null : pw,
    enabled: document.getElementById('srv-enabled').checked,
    accept_all_server_certificates: document.getElementById('srv-accept').checked,
  };
}
function showErrors(field, message) {
  document.querySelectorAll('[data-error-for]').forEach(e => { e.textContent = e.dataset.errorFor === field ? message : ''; });
}
function edit(x) {
  editingServer = x.name;
  document.getElementById('form-title').textContent = 'Change ' + x.name;
  document.getElementById('srv-name').value = x.name;
  document.getElementById('srv-url').value = x.endpoint_url;
  document.getElementById('srv-policy').value = x.security_policy;
  document.getElementById('srv-mode').value = x.security_mode;
  document.getElementById('srv-user').value = x.username;
  document.getElementById('srv-password').value = '';
  document.getElementById('srv-password').placeholder = x.has_password ? '(unchanged)' : '(none)';
  document.getElementById('srv-enabled').checked = x.enabled;
  document.getElementById('srv-accept').checked = x.accept_all_server_certificates;
  document.getElementById('srv-save').textContent = 'Apply';
  document.getElementById('srv-cancel').hidden = false;
  showErrors('', '');
}
function resetForm() {
  editingServer = null;
  document.getElementById('form-title').textContent = 'Add a server';
  ['srv-name', 'srv-url', 'srv-user', 'srv-password'].forEach(id => { document.getElementById(id).value = ''; });
  document.getElementById('srv-password').placeholder = '';
  document.getElementById('srv-enabled').checked = true;
  document.getElementById('srv-accept').checked = false;
  document.getElementById('srv-save').textContent = 'Add';
  document.getElementById('srv-cancel').hidden = true;
}
async function serverChange(body) {
  const r = await api('/ui/api/servers', {method: 'POST', headers: {'content-type': 'application/json', 'x-csrf-token': csrf()}, body: JSON.stringify(body)});
  const out = document.getElementById('servers-result'); out.textContent = r.message || r.error; out.className = r.ok ? 'Good' : 'Bad';
  showErrors(r.ok ? '' : (r.field || ''), r.ok ? '' : r.error);
  if (r.ok && body.action !== 'remove') resetForm();
  servers();
}
async function servers() {
  const s = await api('/ui/api/servers');
  if (!s.available) { document.getElementById('servers-file').textContent = 'This gateway has no aggregation.'; return; }
  document.getElementById('servers-file').textContent = s.file ? 'Changes are written to ' + s.file + '.' : 'The gateway runs on the embedded default: start it with --config FILE to change servers.';
  document.getElementById('server-form').hidden = !s.may_configure;
  fillSelect('srv-policy', s.policies, editingServer === null && !choicesFilled ? 'Basic256Sha256' : undefined);
  fillSelect('srv-mode', s.modes, editingServer === null && !choicesFilled ? 'SignAndEncrypt' : undefined);
  choicesFilled = true;
  rows(document.querySelector('#servers tbody'), s.servers, x => {
    const act = document.createElement('td');
    if (s.may_configure) {
      const e = el('button', 'Edit'); e.dataset.edit = x.name; e.addEventListener('click', () => edit(x));
      const rm = el('button', 'Remove'); rm.dataset.remove = x.name;
      rm.addEventListener('click', () => { if (confirm('Remove ' + x.name + '? Its folder disappears for every client.')) serverChange({action: 'remove', name: x.name}); });
      act.append(e, rm);
    }
    const state = el('td', x.enabled ? x.state : 'disabled', x.state === 'Connected' ? 'Good' : (x.enabled ? 'Bad' : 'Uncertain'));
    state.dataset.server = x.name; state.className += ' state';
    return [el('td', x.name), el('td', x.endpoint_url), el('td', x.security_policy), el('td', x.security_mode), el('td', x.username), state, el('td', x.last_error), act];
  });
}
document.addEventListener('DOMContentLoaded', () => {
  every(servers);
  document.getElementById('srv-save').addEventListener('click', () => {
    const server = formValues();
    serverChange(editingServer === null ? {action: 'add', server} : {action: 'change', name: editingServer, server});
  });
  document.getElementById('srv-cancel').addEventListener('click', () => { resetForm(); showErrors('', ''); });
});
