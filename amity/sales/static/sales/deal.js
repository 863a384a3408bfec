/* Deal page: line-item rows (add a row, live amounts and total; the server recomputes on save). */
(function () {
  "use strict";

  function number(value) {
    var n = parseFloat(String(value || "").replace(/,/g, ""));
    return isFinite(n) ? n : null;
  }

  function format(n) {
    return n.toLocaleString(document.documentElement.lang || undefined,
                            { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  }

  function recompute(form) {
    var total = 0;
    form.querySelectorAll("[data-line-row]").forEach(function (row) {
      var qty = number(row.querySelector('[name="li_quantity"]').value);
      var price = number(row.querySelector('[name="li_unit_price"]').value);
      var disc = number(row.querySelector('[name="li_discount"]').value) || 0;
      var cell = row.querySelector("[data-line-amount]");
      if (qty === null || price === null) { cell.textContent = ""; return; }
      var amount = Math.round(qty * price * (100 - disc)) / 100;
      total += amount;
      cell.textContent = format(amount);
    });
    var totalCell = form.querySelector("[data-line-total]");
    if (totalCell) {
      var currency = totalCell.textContent.trim().split(" ")[0];
      totalCell.textContent = currency + " " + format(total);
    }
  }

  function init() {
    var form = document.querySelector("[data-line-items]");
    if (!form) return;
    form.addEventListener("input", function () { recompute(form); });
    form.addEventListener("change", function (event) {
      var select = event.target;
      if (select.name !== "li_product" || !select.value) return;
      var name = select.closest("[data-line-row]").querySelector('[name="li_name"]');
      if (!name.value) name.value = select.options[select.selectedIndex].text.split(" · ")[0];
    });
    var add = form.querySelector("[data-add-line]");
    if (add) {
      add.addEventListener("click", function () {
        var rows = form.querySelectorAll("[data-line-row]");
        var fresh = rows[rows.length - 1].cloneNode(true);
        fresh.classList.remove("has-error");
        fresh.querySelectorAll("input").forEach(function (input) { input.value = ""; input.removeAttribute("aria-invalid"); });
        fresh.querySelectorAll("select").forEach(function (select) { select.selectedIndex = 0; });
        fresh.querySelectorAll(".field-error").forEach(function (p) { p.remove(); });
        fresh.querySelector("[data-line-amount]").textContent = "";
        form.querySelector("[data-line-rows]").appendChild(fresh);
        fresh.querySelector('[name="li_name"]').focus();
      });
    }
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
