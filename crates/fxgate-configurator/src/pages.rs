//! The pages, embedded in the binary: server-rendered shells (escaped text only) and one
//! script, `app.js`, that fills them from the JSON API and refreshes them every 2 s. The
//! script sets text with `textContent` only, so nothing a device sends becomes markup; the
//! Content-Security-Policy allows no inline script.

/// HTML-escapes `s` for text and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:0;color:#222}header{background:#1f3a5f;color:#fff;padding:.6em 1em;display:flex;gap:1.5em;align-items:center}\
header a{color:#fff;text-decoration:none}header form{margin-left:auto}main{padding:1em}table{border-collapse:collapse}td,th{border-bottom:1px solid #ddd;padding:.25em .6em;text-align:left}\
.Good{color:#176d1a}.Uncertain{color:#a36a00}.Bad{color:#b00020}.warn{background:#fff4ce;padding:.4em .8em;margin:.3em 0}.err{color:#b00020}";

/// The login page; `message` is shown above the form (already plain text).
pub fn login(message: &str) -> String {
    let msg = if message.is_empty() { String::new() } else { format!("<p class=\"err\" id=\"message\">{}</p>", escape(message)) };
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>fxgate: log in</title><style>{STYLE}</style></head>\
         <body><header><strong>fxgate</strong></header><main><h1>Log in</h1>{msg}\
         <form method=\"post\" action=\"/ui/login\"><p><label>User <input name=\"user\" id=\"user\" autocomplete=\"username\" required></label></p>\
         <p><label>Password <input name=\"password\" id=\"password\" type=\"password\" autocomplete=\"current-password\" required></label></p>\
         <p><button type=\"submit\" id=\"login\">Log in</button></p></form></main></body></html>"
    )
}

/// A page of the configurator for `user`: the frame, and `body` (trusted markup).
pub fn page(title: &str, user: &str, csrf: &str, body: &str) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"csrf\" content=\"{csrf}\">\
         <title>fxgate: {t}</title><style>{STYLE}</style><script src=\"/ui/app.js\" defer></script></head>\
         <body><header><strong>fxgate</strong><a href=\"/ui/overview\">Overview</a><a href=\"/ui/tags\">Tags</a><a href=\"/ui/certificates\">Certificates</a><a href=\"/ui/general\">General</a><a href=\"/ui/users\">Users</a><a href=\"/ui/logs\">Logs</a>\
         <form method=\"post\" action=\"/ui/logout\"><input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
         <span id=\"who\">{u}</span> <button type=\"submit\" id=\"logout\">Log out</button></form></header>\
         <main><h1>{t}</h1>{body}</main></body></html>",
        t = escape(title),
        u = escape(user),
        csrf = escape(csrf),
    )
}

/// The overview's body: filled by `app.js` from `/ui/api/overview`.
pub const OVERVIEW: &str = "<div id=\"warnings\"></div><p>Version <span id=\"version\"></span>, up <span id=\"uptime\"></span>, \
    <span id=\"sessions\"></span> OPC UA sessions.</p><h2>Endpoints</h2><ul id=\"endpoints\"></ul>\
    <h2>Components</h2><table id=\"components\"><thead><tr><th>Component</th><th>Health</th></tr></thead><tbody></tbody></table>\
    <h2>Lines and connections</h2><table id=\"status\"><thead><tr><th>Status tag</th><th>Value</th><th>Quality</th></tr></thead><tbody></tbody></table>";

/// The tags' body: filled by `app.js` from `/ui/api/tags`.
pub const TAGS: &str = "<p><label>Filter <input id=\"prefix\" placeholder=\"Demo/\"></label> <span id=\"count\"></span></p>\
    <p id=\"write-result\"></p><table id=\"tags\"><thead><tr><th>Tag</th><th>Value</th><th>Quality</th><th>Source time</th><th>Write</th></tr></thead>\
    <tbody></tbody></table>";

/// The browser tab's icon (an SVG: "fx" on the header's blue).
pub const FAVICON: &str = "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 32 32\"><rect width=\"32\" height=\"32\" rx=\"6\" fill=\"#1f3a5f\"/>\
<text x=\"16\" y=\"22\" font-family=\"sans-serif\" font-size=\"16\" font-weight=\"bold\" fill=\"#fff\" text-anchor=\"middle\">fx</text></svg>";

/// The certificates' body: filled by `app.js` from `/ui/api/certificates`.
pub const CERTIFICATES: &str = "<p id=\"cert-result\"></p><table id=\"certificates\"><thead><tr><th>Store</th><th>State</th><th>Subject</th>\
    <th>Valid from</th><th>Valid to</th><th>Thumbprint</th><th></th></tr></thead><tbody></tbody></table>";

/// The logs' body: filled by `app.js` from `/ui/api/logs`.
pub const LOGS: &str = "<p><label>Level <select id=\"level\"><option value=\"error\">error</option><option value=\"warn\">warn</option>\
    <option value=\"info\" selected>info</option><option value=\"debug\">debug</option><option value=\"trace\">trace</option></select></label>\
    Files: <code id=\"files\"></code></p><pre id=\"logs\"></pre>";

/// The users' body: filled by `app.js` from `/ui/api/users` (the `configure` role).
pub const USERS: &str = "<p id=\"users-result\"></p><p>Changes are written to <code id=\"users-file\"></code> and apply at once.</p>\
    <table id=\"users\"><thead><tr><th>User</th><th>Roles</th><th>Password</th><th></th></tr></thead><tbody></tbody></table>\
    <h2>Add a user</h2><p><label>Name <input id=\"new-name\"></label> <label>Password <input id=\"new-password\" type=\"password\" autocomplete=\"new-password\"></label>\
    <label>Roles <input id=\"new-roles\" value=\"read\" title=\"read, write, configure, connection_admin\"></label> <button id=\"add-user\">Add</button></p>";

/// The general body: filled by `app.js` from `/ui/api/general` (the `configure` role).
pub const GENERAL: &str = "<p id=\"general-result\"></p><h2>Identity tokens</h2><p><label><input type=\"checkbox\" id=\"anonymous\"> \
    Anonymous sessions</label> <label>with the roles <input id=\"anonymous-roles\" title=\"read, write, configure\"></label> \
    <button id=\"save-general\">Apply</button></p><p>User names and passwords: the Users page; X.509 user certificates: the \
    Certificates page.</p><h2>Applied at start</h2><table id=\"at-start\"><tbody></tbody></table>";

/// The script of every page.
pub const APP_JS: &str = r#""use strict";
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
async function overview() {
  const o = await api('/ui/api/overview');
  document.getElementById('version').textContent = o.version;
  document.getElementById('uptime').textContent = o.uptime_s + ' s';
  document.getElementById('sessions').textContent = o.sessions;
  document.getElementById('endpoints').replaceChildren(...o.endpoints.map(e => el('li', e)));
  document.getElementById('warnings').replaceChildren(...o.warnings.map(w => el('p', w, 'warn')));
  rows(document.querySelector('#components tbody'), o.components, c => [el('td', c.name), el('td', c.ok ? 'healthy' : c.detail, c.ok ? 'Good' : 'Bad')]);
  rows(document.querySelector('#status tbody'), o.status, s => [el('td', s.tag), el('td', s.v), el('td', s.q, quality(s.q))]);
}
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
async function certificates() {
  const c = await api('/ui/api/certificates');
  rows(document.querySelector('#certificates tbody'), c.certificates, x => {
    const act = document.createElement('td');
    if (c.may_configure && x.store !== 'user' && x.thumbprint) {
      const to = x.state === 'rejected' ? 'trust' : 'reject';
      const b = el('button', to === 'trust' ? 'Trust' : 'Reject'); b.dataset.thumbprint = x.thumbprint; b.dataset.action = to;
      b.addEventListener('click', async () => {
        const r = await api('/ui/api/certificates/' + to, {method: 'POST', headers: {'content-type': 'application/json', 'x-csrf-token': csrf()}, body: JSON.stringify({thumbprint: x.thumbprint})});
        const out = document.getElementById('cert-result'); out.textContent = r.message; out.className = r.ok ? 'Good' : 'Bad';
        certificates();
      });
      act.appendChild(b);
    }
    return [el('td', x.store), el('td', x.state, x.state === 'trusted' ? 'Good' : 'Bad'), el('td', x.subject), el('td', x.not_before), el('td', x.not_after), el('td', x.thumbprint), act];
  });
}
async function logs() {
  const l = await api('/ui/api/logs?level=' + document.getElementById('level').value);
  document.getElementById('files').textContent = l.files;
  document.getElementById('logs').textContent = l.lines.join('\n');
}
async function userChange(body) {
  const r = await api('/ui/api/users', {method: 'POST', headers: {'content-type': 'application/json', 'x-csrf-token': csrf()}, body: JSON.stringify(body)});
  const out = document.getElementById('users-result'); out.textContent = r.message || r.error; out.className = r.ok ? 'Good' : 'Bad';
  users();
}
const roleList = text => text.split(/[\s,]+/).filter(Boolean);
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
function every(f) { f().catch(() => {}); setInterval(() => f().catch(() => {}), 2000); }
document.addEventListener('DOMContentLoaded', () => {
  if (document.getElementById('endpoints')) every(overview);
  if (document.getElementById('certificates')) every(certificates);
  if (document.getElementById('at-start')) {
    general().catch(() => {});
    document.getElementById('save-general').addEventListener('click', () => saveGeneral());
  }
  if (document.getElementById('users')) {
    users().catch(() => {});
    document.getElementById('add-user').addEventListener('click', () => userChange({action: 'add', name: document.getElementById('new-name').value,
      password: document.getElementById('new-password').value, roles: roleList(document.getElementById('new-roles').value)}));
  }
  if (document.getElementById('logs')) { every(logs); document.getElementById('level').addEventListener('change', () => logs()); }
  if (document.getElementById('tags')) { every(tags); document.getElementById('prefix').addEventListener('input', () => tags()); }
});
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped() {
        assert_eq!(escape("<a href=\"x\">'&'</a>"), "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
        let p = page("T", "<script>", "tok", "");
        assert!(p.contains("&lt;script&gt;") && !p.contains("<span id=\"who\"><script>"));
    }
}
