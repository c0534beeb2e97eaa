// Live updates: the explorer re-serves the node's committed-block stream (filtered for
// this account) at /live; the dashboard updates its figures and lists refresh their table
// without a page reload.
(function () {
  'use strict';
  function fmt(ms) { return new Date(ms).toISOString().replace('T', ' ').replace(/\..*/, ' UTC'); }
  let pending = null;
  function refreshTable() {
    const holder = document.getElementById('live-table');
    if (!holder || pending) return;
    const url = new URL(window.location.href);
    url.searchParams.set('partial', '1');
    pending = fetch(url, { credentials: 'same-origin' })
      .then((r) => (r.ok ? r.text() : null))
      .then((html) => { if (html !== null) holder.innerHTML = html; })
      .catch(() => {})
      .finally(() => { pending = null; });
  }
  document.addEventListener('DOMContentLoaded', () => {
    if (!window.EventSource || !document.body.dataset.live) return;
    const es = new EventSource('/live');
    // Close the stream when the page goes away: an open stream per visited page would
    // hold the browser's few connections to this host and stall the next requests.
    window.addEventListener('pagehide', () => es.close());
    es.addEventListener('block', (ev) => {
      let b;
      try { b = JSON.parse(ev.data); } catch (e) { return; }
      const h = document.getElementById('live-height');
      if (h) h.textContent = String(b.height);
      const t = document.getElementById('live-time');
      if (t) t.textContent = fmt(b.time_ms);
      const status = document.getElementById('live-status');
      if (status) status.textContent = 'live: block ' + b.height + ' (' + b.txs.length + ' visible transactions)';
      const feed = document.getElementById('live-feed');
      if (feed) {
        const li = document.createElement('li');
        li.textContent = 'block ' + b.height + ' at ' + fmt(b.time_ms) + ': ' + b.txs.map((x) => x.action_name + ' by ' + x.signer_org).join(', ');
        feed.insertBefore(li, feed.firstChild);
        while (feed.children.length > 20) feed.removeChild(feed.lastChild);
      }
      refreshTable();
    });
  });
})();
