"use strict";
function certResult(r) {
  const out = document.getElementById('cert-result'); out.textContent = r.message || r.error; out.className = r.ok ? 'Good' : 'Bad';
}
async function certPost(path, body) {
  certResult(await api(path, {method: 'POST', headers: {'content-type': 'application/json', 'x-csrf-token': csrf()}, body: JSON.stringify(body)}));
  certificates();
}
function deleteButton(path, body, what) {
  const b = el('button', 'Delete'); b.dataset.delete = body.thumbprint || body.id; b.dataset.store = body.store;
  b.addEventListener('click', () => { if (confirm('Delete this ' + what + ' from ' + body.store + '?')) certPost(path, body); });
  return b;
}
async function certificates() {
  const c = await api('/ui/api/certificates');
  if (c.error) { certResult(c); return; }
  rows(document.querySelector('#certificates tbody'), c.certificates, x => {
    const act = document.createElement('td');
    if (c.may_configure && x.store !== 'user' && x.thumbprint) {
      const to = x.state === 'rejected' ? 'trust' : 'reject';
      const b = el('button', to === 'trust' ? 'Trust' : 'Reject'); b.dataset.thumbprint = x.thumbprint; b.dataset.action = to;
      b.addEventListener('click', () => certPost('/ui/api/certificates/' + to, {thumbprint: x.thumbprint}));
      act.appendChild(b);
    }
    if (c.may_configure && x.thumbprint) act.appendChild(deleteButton('/ui/api/certificates/delete', {thumbprint: x.thumbprint, store: x.store}, 'certificate'));
    return [el('td', x.store), el('td', x.state, x.state === 'trusted' ? 'Good' : 'Bad'), el('td', x.subject), el('td', x.issuer),
      el('td', x.not_before), el('td', x.not_after), el('td', x.thumbprint), act];
  });
  document.getElementById('crl-note').textContent = 'CRLs are ' + c.crl_note + '.';
  rows(document.querySelector('#crls tbody'), c.crls, x => {
    const act = document.createElement('td');
    if (c.may_configure) act.appendChild(deleteButton('/ui/api/certificates/crl/delete', {id: x.id, store: x.store}, 'CRL'));
    return [el('td', x.store), el('td', x.issuer), el('td', x.this_update), el('td', x.next_update || '-'), el('td', x.revoked), el('td', x.id), act];
  });
  document.getElementById('upload-form').hidden = !c.may_configure;
}
async function upload() {
  const file = document.getElementById('upload-file').files[0];
  if (!file) { certResult({ok: false, message: 'choose a file first'}); return; }
  const q = new URLSearchParams({store: document.getElementById('upload-store').value, kind: document.getElementById('upload-kind').value});
  certResult(await api('/ui/api/certificates/upload?' + q, {method: 'POST', headers: {'content-type': 'application/octet-stream', 'x-csrf-token': csrf()}, body: file}));
  certificates();
}
document.addEventListener('DOMContentLoaded', () => {
  every(certificates);
  document.getElementById('upload').addEventListener('click', () => upload().catch(e => certResult({ok: false, message: String(e)})));
});
