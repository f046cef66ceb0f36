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
