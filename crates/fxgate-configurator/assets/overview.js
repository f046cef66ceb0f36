"use strict";
async function overview() {
  const o = await api('/ui/api/overview');
  document.getElementById('version').textContent = o.version;
  document.getElementById('uptime').textContent = o.uptime_s + ' s';
  document.getElementById('sessions').textContent = o.sessions;
  document.getElementById('endpoints').replaceChildren(...o.endpoints.map(e => el('li', e)));
  document.getElementById('warnings').replaceChildren(...o.warnings.map(w => el('p', w, 'warn')));
  restartPending(document.getElementById('restart-pending'), o.restart_pending);
  rows(document.querySelector('#components tbody'), o.components, c => [el('td', c.name), el('td', c.ok ? 'healthy' : c.detail, c.ok ? 'Good' : 'Bad')]);
  rows(document.querySelector('#upstreams tbody'), o.upstreams, u => [el('td', u.name), el('td', u.url), el('td', u.state, u.state === 'Connected' ? 'Good' : 'Bad'), el('td', u.last_error)]);
  rows(document.querySelector('#status tbody'), o.status, s => [el('td', s.tag), el('td', s.v), el('td', s.q, quality(s.q))]);
}
document.addEventListener('DOMContentLoaded', () => {
  every(overview);
});
