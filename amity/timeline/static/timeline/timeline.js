// @mention autocomplete for note boxes: textarea[data-mention] inside a form[data-mention-url].
// Delegated on document, so it keeps working after htmx swaps the form.
(function () {
  "use strict";
  var menu = null, active = -1, items = [], field = null, timer = null, seq = 0;

  function mentionAt(textarea) {
    var upto = textarea.value.slice(0, textarea.selectionStart);
    var m = /(^|[^\w@])@([\w.\-]*)$/.exec(upto);
    return m ? { query: m[2], start: upto.length - m[2].length - 1 } : null;
  }

  function close() {
    if (menu) { menu.remove(); menu = null; }
    items = []; active = -1;
    if (field) { field.removeAttribute("aria-activedescendant"); field.setAttribute("aria-expanded", "false"); }
  }

  function choose(i) {
    var m = field && mentionAt(field);
    if (!m || !items[i]) { close(); return; }
    var before = field.value.slice(0, m.start), after = field.value.slice(field.selectionStart);
    var insert = "@" + items[i].handle + " ";
    field.value = before + insert + after;
    var pos = before.length + insert.length;
    field.setSelectionRange(pos, pos);
    field.focus();
    close();
  }

  function highlight(i) {
    active = i;
    if (!menu) return;
    Array.prototype.forEach.call(menu.children, function (li, j) {
      li.setAttribute("aria-selected", j === i ? "true" : "false");
    });
    if (menu.children[i]) field.setAttribute("aria-activedescendant", menu.children[i].id);
  }

  function render(results) {
    close();
    items = results;
    if (!results.length) return;
    menu = document.createElement("ul");
    menu.className = "mention-menu";
    menu.setAttribute("role", "listbox");
    menu.id = "mention-menu";
    results.forEach(function (r, i) {
      var li = document.createElement("li");
      li.id = "mention-option-" + i;
      li.setAttribute("role", "option");
      var handle = document.createElement("span");
      handle.className = "handle";
      handle.textContent = "@" + r.handle;  // textContent: names are user data, never HTML
      var name = document.createElement("span");
      name.className = "name";
      name.textContent = r.name;
      li.appendChild(handle); li.appendChild(name);
      li.addEventListener("mousedown", function (ev) { ev.preventDefault(); choose(i); });
      menu.appendChild(li);
    });
    field.parentNode.appendChild(menu);
    field.setAttribute("aria-expanded", "true");
    highlight(0);
  }

  function suggest(textarea) {
    var m = mentionAt(textarea);
    if (!m) { close(); return; }
    var form = textarea.closest("[data-mention-url]");
    if (!form) return;
    field = textarea;
    var mine = ++seq;
    clearTimeout(timer);
    timer = setTimeout(function () {
      fetch(form.getAttribute("data-mention-url") + "?q=" + encodeURIComponent(m.query),
            { headers: { "Accept": "application/json" }, credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.json() : { results: [] }; })
        .then(function (data) { if (mine === seq) render(data.results || []); })
        .catch(close);
    }, 120);
  }

  document.addEventListener("input", function (ev) {
    if (ev.target.matches && ev.target.matches("textarea[data-mention]")) suggest(ev.target);
  });
  document.addEventListener("keydown", function (ev) {
    if (!menu || ev.target !== field) return;
    if (ev.key === "ArrowDown") { ev.preventDefault(); highlight((active + 1) % items.length); }
    else if (ev.key === "ArrowUp") { ev.preventDefault(); highlight((active - 1 + items.length) % items.length); }
    else if (ev.key === "Enter" || ev.key === "Tab") { ev.preventDefault(); choose(active); }
    else if (ev.key === "Escape") { close(); }
  });
  document.addEventListener("focusout", function (ev) { if (ev.target === field) setTimeout(close, 150); });
})();

// "No thanks" on the follow-up offered after logging a call, meeting or email: just remove the offer.
document.addEventListener("click", function (ev) {
  var button = ev.target.closest && ev.target.closest("[data-dismiss='followup']");
  if (!button) return;
  var offer = button.closest("[data-followup]");
  if (offer) offer.remove();
});

// Quick-action tabs: each tab is a link to ?panel=… (a page reload without JavaScript). With htmx here a click
// shows its panel in place instead; a panel not yet rendered is fetched once (its hx-trigger is "qa-open once")
// and then kept. Arrow keys, Home and End move between the tabs, as in a radio group.
(function () {
  "use strict";
  function select(tab, focus) {
    var list = tab.closest("[role=tablist]"), card = tab.closest(".qa");
    if (!list || !card) return;
    Array.prototype.forEach.call(list.querySelectorAll("[data-qa-tab]"), function (other) {
      var on = other === tab, pane = card.querySelector("#" + other.getAttribute("aria-controls"));
      other.setAttribute("aria-selected", on ? "true" : "false");
      if (pane) pane.hidden = !on;
      if (on && pane) window.htmx.trigger(pane, "qa-open");
    });
    if (focus) tab.focus();
  }

  document.addEventListener("click", function (ev) {
    var tab = ev.target.closest && ev.target.closest("[data-qa-tab]");
    if (!tab || !window.htmx || ev.button !== 0 || ev.ctrlKey || ev.metaKey || ev.shiftKey || ev.altKey) return;
    ev.preventDefault();
    select(tab, false);
  });
  document.addEventListener("keydown", function (ev) {
    var tab = ev.target.closest && ev.target.closest("[data-qa-tab]");
    if (!tab || !window.htmx) return;
    var tabs = Array.prototype.slice.call(tab.closest("[role=tablist]").querySelectorAll("[data-qa-tab]"));
    var i = tabs.indexOf(tab), next = null;
    if (ev.key === "ArrowRight" || ev.key === "ArrowDown") next = tabs[(i + 1) % tabs.length];
    else if (ev.key === "ArrowLeft" || ev.key === "ArrowUp") next = tabs[(i - 1 + tabs.length) % tabs.length];
    else if (ev.key === "Home") next = tabs[0];
    else if (ev.key === "End") next = tabs[tabs.length - 1];
    else if (ev.key === " ") next = tab;
    if (!next) return;
    ev.preventDefault();
    select(next, true);
  });
})();
