/* Amity's small client-side layer: no build step, no inline handlers (CSP), progressive enhancement only.
   Every page works without it; this adds the nav drawer, theme switch, command palette, confirmations,
   select-all for bulk tables and auto-submitting filter selects. */
(function () {
  "use strict";

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  /* ---------- side navigation (off-canvas under 900px) ---------- */
  function initNav() {
    var toggle = document.querySelector("[data-nav-toggle]");
    var nav = document.getElementById("sidenav");
    if (!nav) return;

    // Mark the current section: the link whose path is the longest prefix of the current path.
    var path = window.location.pathname, best = null, bestLen = -1;
    nav.querySelectorAll("a[href]").forEach(function (a) {
      var href = a.getAttribute("href");
      if (!href || href.charAt(0) !== "/") return;
      var matches = href === "/" ? path === "/" : path.indexOf(href) === 0;
      if (matches && href.length > bestLen) { best = a; bestLen = href.length; }
    });
    if (best && !nav.querySelector('[aria-current="page"]')) best.setAttribute("aria-current", "page");

    if (!toggle) return;
    function setOpen(open) {
      nav.classList.toggle("is-open", open);
      toggle.setAttribute("aria-expanded", open ? "true" : "false");
      if (open) {
        var first = nav.querySelector("a, button");
        if (first) first.focus();
      }
    }
    toggle.addEventListener("click", function (e) {
      e.stopPropagation();
      setOpen(!nav.classList.contains("is-open"));
    });
    document.addEventListener("click", function (e) {
      if (nav.classList.contains("is-open") && !nav.contains(e.target)) setOpen(false);
    });
    document.addEventListener("keydown", function (e) {
      if (e.key === "Escape" && nav.classList.contains("is-open")) { setOpen(false); toggle.focus(); }
    });
  }

  /* ---------- theme switch: applied at once, saved on the server ---------- */
  function initTheme() {
    var buttons = document.querySelectorAll("[data-theme-set]");
    if (!buttons.length) return;
    var html = document.documentElement;
    function mark(theme) {
      buttons.forEach(function (b) {
        b.setAttribute("aria-pressed", b.getAttribute("data-theme-set") === theme ? "true" : "false");
      });
    }
    mark(html.getAttribute("data-theme") || "system");
    buttons.forEach(function (button) {
      button.addEventListener("click", function () {
        var theme = button.getAttribute("data-theme-set");
        if (["dark", "light", "system"].indexOf(theme) < 0) return;
        html.setAttribute("data-theme", theme);
        mark(theme);
        var url = button.getAttribute("data-theme-url") ||
          (button.closest("[data-theme-url]") || {getAttribute: function () { return ""; }}).getAttribute("data-theme-url");
        if (!url) return;
        try {
          var body = new URLSearchParams();
          body.set("theme", theme);
          fetch(url, {
            method: "POST", credentials: "same-origin", body: body,
            headers: {"X-CSRFToken": csrfToken(), "X-Requested-With": "fetch"}
          }).catch(function () { /* the theme still applies for this page */ });
        } catch (err) { /* older browsers: the page keeps the new theme until reload */ }
      });
    });
  }

  /* ---------- command palette ---------- */
  function initPalette() {
    var dialog = document.getElementById("palette");
    if (!dialog || typeof dialog.showModal !== "function") return;
    var input = dialog.querySelector("[data-palette-input]");
    var results = dialog.querySelector("[data-palette-results]");
    var form = dialog.querySelector("form");
    var url = dialog.getAttribute("data-palette-url");
    var hint = results ? results.innerHTML : "";
    var timer = null, controller = null, lastQuery = null;

    if (/Mac|iPhone|iPad/.test(navigator.platform || "")) {
      document.querySelectorAll("[data-palette-open] kbd").forEach(function (k) { k.textContent = "⌘ K"; });
    }

    function items() { return Array.prototype.slice.call(results.querySelectorAll("[data-palette-item]")); }
    function selected() { return results.querySelector('[data-palette-item][aria-selected="true"]'); }
    function select(index) {
      var list = items();
      if (!list.length) { input.removeAttribute("aria-activedescendant"); return; }
      index = (index + list.length) % list.length;
      list.forEach(function (el, i) { el.setAttribute("aria-selected", i === index ? "true" : "false"); });
      input.setAttribute("aria-activedescendant", list[index].id);
      list[index].scrollIntoView({block: "nearest"});
    }

    function open() {
      if (dialog.open) { input.focus(); input.select(); return; }
      dialog.showModal();
      input.focus();
      input.select();
    }
    function close() { if (dialog.open) dialog.close(); }

    function run(q) {
      if (q === lastQuery) return;
      lastQuery = q;
      if (controller) controller.abort();
      if (q.trim().length === 0) { results.innerHTML = hint; return; }
      controller = typeof AbortController === "function" ? new AbortController() : null;
      fetch(url + "?q=" + encodeURIComponent(q), {
        credentials: "same-origin",
        headers: {"X-Requested-With": "fetch"},
        signal: controller ? controller.signal : undefined
      }).then(function (r) {
        if (r.status === 401 || r.status === 403 || r.redirected) { window.location.reload(); return null; }
        return r.ok ? r.text() : null;
      }).then(function (html) {
        if (html === null || input.value !== q) return;
        results.innerHTML = html; // server-rendered, autoescaped fragment
        select(0);
      }).catch(function () { /* aborted or offline: keep the previous results */ });
    }

    document.querySelectorAll("[data-palette-open]").forEach(function (b) {
      b.addEventListener("click", function (e) { e.preventDefault(); open(); });
    });
    document.addEventListener("keydown", function (e) {
      if ((e.ctrlKey || e.metaKey) && !e.altKey && (e.key === "k" || e.key === "K")) {
        e.preventDefault();
        if (dialog.open) close(); else open();
      } else if (e.key === "/" && !dialog.open && !/^(INPUT|TEXTAREA|SELECT)$/.test((e.target.tagName || "")) &&
                 !e.target.isContentEditable) {
        e.preventDefault();
        open();
      }
    });
    input.addEventListener("input", function () {
      clearTimeout(timer);
      var q = input.value;
      timer = setTimeout(function () { run(q); }, 150);
    });
    input.addEventListener("keydown", function (e) {
      var list = items(), current = list.indexOf(selected());
      // type=search would only clear itself on Escape; the palette closes instead, as it promises.
      if (e.key === "Escape") { e.preventDefault(); close(); }
      else if (e.key === "ArrowDown") { e.preventDefault(); select(current + 1); }
      else if (e.key === "ArrowUp") { e.preventDefault(); select(current < 0 ? -1 : current - 1); }
      else if (e.key === "Enter") {
        var sel = selected();
        // Only follow a selection that belongs to the query on screen; otherwise show the full results page.
        if (sel && lastQuery === input.value) { e.preventDefault(); window.location.assign(sel.getAttribute("href")); }
      }
    });
    results.addEventListener("mousemove", function (e) {
      var item = e.target.closest("[data-palette-item]");
      if (item && item.getAttribute("aria-selected") !== "true") select(items().indexOf(item));
    });
    // A click on the backdrop (outside the dialog box) closes it.
    dialog.addEventListener("click", function (e) {
      if (e.target !== dialog) return;
      var r = dialog.getBoundingClientRect();
      if (e.clientX < r.left || e.clientX > r.right || e.clientY < r.top || e.clientY > r.bottom) close();
    });
    dialog.addEventListener("close", function () { clearTimeout(timer); });
    if (form) form.addEventListener("submit", function (e) { if (!input.value.trim()) e.preventDefault(); });
  }

  /* ---------- confirmations: data-confirm on forms, buttons and links ---------- */
  function initConfirm() {
    document.addEventListener("submit", function (e) {
      var form = e.target;
      var submitter = e.submitter;
      var message = (submitter && submitter.getAttribute("data-confirm")) || form.getAttribute("data-confirm");
      if (message && !window.confirm(message)) { e.preventDefault(); e.stopImmediatePropagation(); }
    }, true);
    document.addEventListener("click", function (e) {
      var el = e.target.closest('a[data-confirm], button[data-confirm][type="button"]');
      if (!el) return;
      if (!window.confirm(el.getAttribute("data-confirm"))) { e.preventDefault(); e.stopImmediatePropagation(); }
    }, true);
  }

  /* ---------- bulk tables: a select-all checkbox toggles input[name=ids] in the same form ---------- */
  function initSelectAll() {
    function boxes(master) {
      var scope = master.form || master.closest("form") || document;
      return Array.prototype.slice.call(scope.querySelectorAll('input[type=checkbox][name="ids"]'));
    }
    function sync(master) {
      var all = boxes(master), checked = all.filter(function (b) { return b.checked; }).length;
      master.checked = all.length > 0 && checked === all.length;
      master.indeterminate = checked > 0 && checked < all.length;
      var scope = master.form || master.closest("form");
      if (scope) {
        scope.querySelectorAll("[data-selected-count]").forEach(function (el) { el.textContent = String(checked); });
        scope.querySelectorAll("[data-needs-selection]").forEach(function (el) { el.disabled = checked === 0; });
      }
    }
    document.querySelectorAll("[data-select-all]").forEach(function (master) {
      if (master.dataset.selectAllBound) { sync(master); return; }
      master.dataset.selectAllBound = "1";
      master.addEventListener("change", function () {
        boxes(master).forEach(function (b) { b.checked = master.checked; });
        sync(master);
      });
      sync(master);
    });
    if (selectAllListening) return;
    selectAllListening = true;
    document.addEventListener("change", function (e) {
      var t = e.target;
      if (!(t instanceof HTMLInputElement) || t.name !== "ids") return;
      var scope = t.form || t.closest("form") || document;
      scope.querySelectorAll("[data-select-all]").forEach(sync);
    });
  }
  var selectAllListening = false;

  /* ---------- filter forms: selects with data-autosubmit submit on change ---------- */
  function initAutosubmit() {
    document.addEventListener("change", function (e) {
      var t = e.target;
      if (!t.matches || !t.matches("[data-autosubmit]") || !t.form) return;
      if (typeof t.form.requestSubmit === "function") t.form.requestSubmit(); else t.form.submit();
    });
  }

  function init() {
    initNav();
    initTheme();
    initPalette();
    initConfirm();
    initSelectAll();
    initAutosubmit();
    // htmx swaps in new bulk tables: wire their select-all boxes too.
    document.body.addEventListener("htmx:afterSettle", initSelectAll);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
