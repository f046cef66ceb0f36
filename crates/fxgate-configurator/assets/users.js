"use strict";
async function userChange(body) {
  const r = await api('/ui/api/users', {method: 'POST', headers: {'content-type': 'application/json', 'x-csrf-token': csrf()}, body: JSON.stringify(body)});
  const out = document.getElementById('users-result'); out.textContent = r.message || r.error; out.className = r.ok ? 'Good' : 'Bad';
  users();
}
async function users() {
  const u = await api('/ui/api/users');
  if (u.error) { document.getElementById('users-result').textContent = u.error; return; }
  document.getElementById('users-file').textContent = u.file || '(the embedded default: start with --config FILE to change users)';
  rows(document.querySelector('#users tbody'), u.users, x => {
    const roles = document.createElement('input'); roles.value = x.roles.join(', '); roles.dataset.user = x.name; roles.className = 'roles';
    const act = document.createElement('td');
    const set = el('button', 'Set roles'); set.addEventListener('click', () => userChange({action: 'roles', name: x.name, roles: roleList(roles.value)}));
    const rm = el('button', 'Remove'); rm.dataset.remove = x.name; rm.addEventListener('click', () => userChange({action: 'remove', name: x.name}));
    act.append(set, rm);
    const r = document.createElement('td'); r.appendChild(roles);
    return [el('td', x.name), r, el('td', x.password ? 'set' : 'none'), act];
  });
}
document.addEventListener('DOMContentLoaded', () => {
  users().catch(() => {});
  document.getElementById('add-user').addEventListener('click', () => userChange({action: 'add', name: document.getElementById('new-name').value,
    password: document.getElementById('new-password').value, roles: roleList(document.getElementById('new-roles').value)}));
});
