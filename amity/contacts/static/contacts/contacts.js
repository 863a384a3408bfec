// Contact and company lists: fold the filter bar on phones, auto-submit the sort, select-all, bulk inputs,
// and tag autocomplete. Loaded as a file (not inline) so the page works under the strict CSP.
(function () {
  "use strict";
  function ready(fn) {
    if (document.readyState !== "loading") fn(); else document.addEventListener("DOMContentLoaded", fn);
  }
  ready(function () {
    var wide = window.matchMedia("(min-width: 720px)");
    document.querySelectorAll("details[data-open-wide]").forEach(function (d) { if (wide.matches) d.open = true; });

    document.querySelectorAll("[data-autosubmit]").forEach(function (el) {
      el.addEventListener("change", function () { el.form.requestSubmit ? el.form.requestSubmit() : el.form.submit(); });
    });

    var all = document.querySelector("[data-select-all]");
    var boxes = function () { return document.querySelectorAll("input[name=ids][form=bulk-form]"); };
    var counter = document.querySelector("[data-selected-count]");
    function updateCount() {
      if (!counter) return;
      var n = Array.prototype.filter.call(boxes(), function (b) { return b.checked; }).length;
      counter.textContent = n ? counter.dataset.some.replace("%s", n) : counter.dataset.none;
    }
    if (all) all.addEventListener("change", function () {
      boxes().forEach(function (box) { box.checked = all.checked; });
      updateCount();
    });
    boxes().forEach(function (box) { box.addEventListener("change", updateCount); });

    var action = document.getElementById("bulk-action");
    function showBulkInputs() {
      document.querySelectorAll("[data-bulk-for]").forEach(function (el) {
        el.hidden = el.dataset.bulkFor !== action.value;
      });
    }
    if (action) { action.addEventListener("change", showBulkInputs); showBulkInputs(); }

    var list = document.getElementById("tag-names");
    document.querySelectorAll("input[list=tag-names][data-tag-suggest]").forEach(function (input) {
      var timer;
      input.addEventListener("input", function () {
        clearTimeout(timer);
        timer = setTimeout(function () {
          fetch(input.dataset.tagSuggest + "?q=" + encodeURIComponent(input.value), {credentials: "same-origin"})
            .then(function (r) { return r.ok ? r.json() : {tags: []}; })
            .then(function (data) {
              if (!list) return;
              list.replaceChildren.apply(list, data.tags.map(function (name) {
                var option = document.createElement("option");
                option.value = name;
                return option;
              }));
            });
        }, 150);
      });
    });
  });
})();
