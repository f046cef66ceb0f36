// Shared by every page: the CSRF token, element helpers, the JSON API call, table rows, the 2 s refresh.
"use strict";
const csrf = () => document.querySelector('meta[name="csrf"]').content;
const el = (tag, text, cls) => { const e = document.createElement(tag); if (text !== undefined) e.textContent = String(text); if (cls) e.className = cls; return e; };
const quality = q => q.split('_')[0];
async function api(path, opts) {
  const r = await fetch(path, Object.assign({credentials: 'same-origin'}, opts || {}));
  if (r.status === 401) { location.href = '/ui/login'; throw new Error('logged out'); }
  return r.json();
}
function rows(tbody, list, cells) {
  tbody.replaceChildren(...list.map(x => { const tr = document.createElement('tr'); cells(x).forEach(c => tr.appendChild(c)); return tr; }));
}
const roleList = text => text.split(/[\s,]+/).filter(Boolean);
function every(f) { f().catch(() => {}); setInterval(() => f().catch(() => {}), 2000); }
// Changes written to the file that a restart applies: a warning and a Restart button in `box`.
function restartPending(box, pending) {
  const key = JSON.stringify(pending || []);
  if (box.dataset.pending === key) return;
  box.dataset.pending = key;
  if (!pending || !pending.length) { box.replaceChildren(); return; }
  const b = el('button', 'Restart now'); b.id = 'restart-now';
  b.addEventListener('click', async () => {
    const r = await api('/ui/api/restart', {method: 'POST', headers: {'x-csrf-token': csrf()}});
    box.replaceChildren(el('p', r.message || r.error, r.ok ? 'warn' : 'Bad'));
    if (r.ok) {
      const poll = setInterval(() => fetch('/ui/login').then(x => { if (x.ok) { clearInterval(poll); location.href = '/ui/login'; } }).catch(() => {}), 1000);
    }
  });
  const p = el('p', 'Written to the file, applied after a restart: ' + pending.join('; ') + ' ', 'warn'); p.id = 'pending';
  p.appendChild(b);
  box.replaceChildren(p);
}
