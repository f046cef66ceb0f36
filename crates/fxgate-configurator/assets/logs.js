"use strict";
async function logs() {
  const l = await api('/ui/api/logs?level=' + document.getElementById('level').value);
  document.getElementById('files').textContent = l.files;
  document.getElementById('logs').textContent = l.lines.join('\n');
}
document.addEventListener('DOMContentLoaded', () => {
  every(logs);
  document.getElementById('level').addEventListener('change', () => logs());
});
