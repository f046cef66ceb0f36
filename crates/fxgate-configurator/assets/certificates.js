"use strict";
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
document.addEventListener('DOMContentLoaded', () => {
  every(certificates);
});
