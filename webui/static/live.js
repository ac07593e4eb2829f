// Parts of a page that keep themselves current without a reload:
// [data-refresh-url] re-fetches its HTML every data-refresh-seconds;
// [data-count-url] shows the number in data-count-field of a JSON reply (hidden at zero).
(function () {
  "use strict";
  function poll(seconds, work) {
    setInterval(function () { work().catch(function () { /* next round retries */ }); }, Math.max(1, seconds) * 1000);
  }
  function get(url) {
    return fetch(url, { credentials: "same-origin", headers: { "X-Requested-With": "fetch" } }).then(function (r) {
      if (!r.ok || r.redirected) { throw new Error("HTTP " + r.status); }
      return r;
    });
  }
  document.querySelectorAll("[data-refresh-url]").forEach(function (el) {
    poll(Number(el.dataset.refreshSeconds || 30), function () {
      return get(el.dataset.refreshUrl).then(function (r) { return r.text(); }).then(function (html) {
        el.innerHTML = html;
        el.dataset.refreshedAt = String(Date.now());
      });
    });
  });
  document.querySelectorAll("[data-count-url]").forEach(function (el) {
    poll(Number(el.dataset.refreshSeconds || 60), function () {
      return get(el.dataset.countUrl).then(function (r) { return r.json(); }).then(function (data) {
        var n = Number(data[el.dataset.countField] || 0);
        el.textContent = String(n);
        el.hidden = n === 0;
      });
    });
  });
})();
