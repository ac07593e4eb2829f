// Behaviour every page shares, kept out of the HTML so the Content-Security-Policy can refuse inline scripts:
// on phones filter panels start folded unless a filter is in use; [data-print] buttons print the page;
// a form with data-confirm asks that question before it is sent.
(function () {
  "use strict";
  if (window.matchMedia("(max-width: 640px)").matches) {
    document.querySelectorAll("details[data-mobile-collapse]:not([data-active])").forEach(function (d) { d.open = false; });
  }
  document.querySelectorAll("[data-print]").forEach(function (button) {
    button.addEventListener("click", function () { window.print(); });
  });
  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.confirm(form.dataset.confirm)) { event.preventDefault(); }
    });
  });
})();
