// The in-store purchase form of the 360 commerce card: quantity steppers, product suggestions by name or SKU,
// the catalogue price filled in when a product is chosen (still editable) and the running total.
// Delegated on document, so it keeps working after htmx swaps the card. Without it the form still posts.
(function () {
  "use strict";
  let timer = null;

  function number(text) {
    const value = parseFloat(String(text || "").replace(",", "."));
    return Number.isFinite(value) ? value : null;
  }

  function form(el) { return el && el.closest ? el.closest(".cm-form") : null; }

  function updateTotal(f) {
    if (!f) return;
    let total = 0, complete = false;
    f.querySelectorAll("[data-line]").forEach(function (line) {
      const qty = number(line.querySelector("[data-qty]").value);
      const price = number(line.querySelector("[data-price]").value);
      if (qty !== null && price !== null && line.querySelector("[data-product]").value.trim()) {
        total += qty * price;
        complete = true;
      }
    });
    const out = f.querySelector("[data-total]");
    const currency = f.querySelector("[data-currency]");
    if (out) out.textContent = complete ? (currency ? currency.value + " " : "") + total.toFixed(2) : "—";
  }

  function datalist(f) {
    const input = f.querySelector("[data-product]");
    return input ? document.getElementById(input.getAttribute("list")) : null;
  }

  function prefill(input) {
    const f = form(input), list = f && datalist(f);
    if (!list) return;
    const option = Array.from(list.options).find(function (o) { return o.value === input.value.trim(); });
    const price = input.closest("[data-line]").querySelector("[data-price]");
    if (option && option.dataset.price && (!price.value || price.dataset.auto === "1")) {
      price.value = option.dataset.price;
      price.dataset.auto = "1";
    }
    updateTotal(f);
  }

  function suggest(input) {
    const f = form(input), list = f && datalist(f);
    if (!list || !f.dataset.searchUrl) return;
    const currency = f.querySelector("[data-currency]");
    const url = f.dataset.searchUrl + "?q=" + encodeURIComponent(input.value.trim()) +
      "&currency=" + encodeURIComponent(currency ? currency.value : "");
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : { items: [] }; })
      .then(function (data) {
        list.replaceChildren.apply(list, (data.items || []).map(function (p) {
          const o = document.createElement("option");
          o.value = p.sku;
          o.textContent = p.name + (p.unit_price ? " · " + p.unit_price : "");
          o.dataset.price = p.unit_price || "";
          return o;
        }));
        prefill(input);
      })
      .catch(function () { /* suggestions are a convenience; typing a SKU still works */ });
  }

  document.addEventListener("click", function (event) {
    const button = event.target.closest("[data-step]");
    if (!button || !form(button)) return;
    const input = button.parentElement.querySelector("[data-qty]");
    const next = Math.max(1, (number(input.value) || 0) + parseInt(button.dataset.step, 10));
    input.value = String(next);
    updateTotal(form(button));
  });

  document.addEventListener("input", function (event) {
    const t = event.target;
    if (!form(t)) return;
    if (t.matches("[data-product]")) {
      prefill(t);
      clearTimeout(timer);
      timer = setTimeout(function () { suggest(t); }, 200);
    } else {
      if (t.matches("[data-price]")) t.dataset.auto = "0";
      updateTotal(form(t));
    }
  });

  document.addEventListener("change", function (event) {
    if (event.target.matches && event.target.matches("[data-currency]")) updateTotal(form(event.target));
  });

  function init(root) {
    (root || document).querySelectorAll(".cm-form").forEach(function (f) {
      updateTotal(f);
      const first = f.querySelector("[data-product]");
      if (first && !first.value && f.dataset.focused !== "1") { f.dataset.focused = "1"; }
    });
  }
  document.addEventListener("DOMContentLoaded", function () { init(document); });
  document.addEventListener("htmx:afterSettle", function (event) { init(event.target); });
})();
