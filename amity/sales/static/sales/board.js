/* Deal board: drag and drop between stage columns, a "Move to…" dialog for keyboards and phones, and the lost
   reason asked for when a deal goes into a lost stage. The server answers a move with the board's columns, so
   counts and totals are always the server's; on an error the card goes back where it was. */
(function () {
  "use strict";

  var dragged = null;      // the card being moved
  var origin = null;       // where it came from, to put it back on an error
  var originNext = null;
  var toastTimer = null;

  function boardEl() { return document.getElementById("board-columns"); }
  function dialogEl() { return document.getElementById("move-dialog"); }
  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  function showError(message) {
    var toast = document.querySelector("[data-board-error]");
    if (!toast) { window.alert(message); return; }
    toast.textContent = message;
    toast.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(function () { toast.hidden = true; }, 8000);
  }

  function announce(message) {
    var status = document.querySelector("[data-board-status]");
    if (status) status.textContent = message;
  }

  function remember(card) {
    dragged = card;
    origin = card.parentNode;
    originNext = card.nextSibling;
  }

  function putBack() {
    if (dragged && origin) origin.insertBefore(dragged, originNext);
    forget();
  }

  function forget() {
    if (dragged) dragged.classList.remove("is-dragging", "is-pending");
    dragged = null; origin = null; originNext = null;
  }

  /* ---------- collapsed won/lost columns (remembered per stage in this browser) ---------- */
  function collapsedStages() {
    try { return JSON.parse(window.localStorage.getItem("amity.board.collapsed") || "[]"); } catch (e) { return []; }
  }
  function applyCollapsed() {
    var stages = collapsedStages();
    document.querySelectorAll(".board-col[data-kind]").forEach(function (col) {
      var collapsed = stages.indexOf(col.dataset.stage) !== -1;
      col.classList.toggle("is-collapsed", collapsed);
      var button = col.querySelector("[data-collapse]");
      if (button) button.setAttribute("aria-expanded", collapsed ? "false" : "true");
    });
  }
  function toggleCollapsed(col) {
    var stages = collapsedStages().filter(function (s) { return s !== col.dataset.stage; });
    if (!col.classList.contains("is-collapsed")) stages.push(col.dataset.stage);
    try { window.localStorage.setItem("amity.board.collapsed", JSON.stringify(stages)); } catch (e) { /* private mode */ }
    applyCollapsed();
  }

  /* ---------- the move request ---------- */
  function stageName(uuid) {
    var heading = document.getElementById("col-" + uuid);
    return heading ? heading.textContent.trim() : "";
  }

  function postMove(values) {
    var board = boardEl();
    var body = new FormData();
    Object.keys(values).forEach(function (key) { body.append(key, values[key]); });
    body.append("filters", board.dataset.filters || "");
    var failed = board.dataset.msgFailed;
    var moved = board.dataset.msgMoved;
    var dealName = dragged ? dragged.dataset.name : "";
    board.classList.add("is-busy");
    return fetch(board.dataset.moveUrl, {
      method: "POST", body: body, credentials: "same-origin",
      headers: { "X-CSRFToken": csrfToken(), "HX-Request": "true" }
    }).then(function (response) {
      return response.text().then(function (text) { return { ok: response.ok, status: response.status, text: text }; });
    }).then(function (result) {
      if (!result.ok) {
        putBack();
        // 400/403 answers are one sentence of plain text; anything else gets the generic message.
        var plain = result.status < 500 && result.text && result.text.length < 400 && result.text.indexOf("<") === -1;
        showError(plain ? result.text : failed);
        board.classList.remove("is-busy");
        return false;
      }
      var template = document.createElement("template");
      template.innerHTML = result.text.trim();
      var fresh = template.content.firstElementChild;
      board.replaceWith(fresh);
      if (window.htmx) window.htmx.process(fresh);
      applyCollapsed();
      announce(moved.replace("%(deal)s", dealName).replace("%(stage)s", stageName(values.stage)));
      var card = fresh.querySelector('.deal-card[data-deal="' + values.deal + '"] .deal-card-move');
      if (values.focus && card) card.focus();
      forget();
      return true;
    }).catch(function () {
      putBack();
      showError(failed);
      board.classList.remove("is-busy");
      return false;
    });
  }

  /* ---------- the dialog (Move to…, and the lost reason) ---------- */
  function syncLostField(form) {
    var select = form.querySelector('select[name="stage"]');
    var option = select.options[select.selectedIndex];
    var lost = option && option.getAttribute("data-kind") === "lost";
    var field = form.querySelector("[data-lost-field]");
    if (field) field.hidden = !lost;
  }

  function openDialog(card, stageUuid, fromDrop) {
    var dialog = dialogEl();
    if (!dialog) return;
    var form = dialog.querySelector("[data-move-form]");
    form.elements.deal.value = card.dataset.deal;
    form.elements.stage.value = stageUuid || card.dataset.stage;
    form.querySelector("[data-move-name]").textContent = card.dataset.name;
    var board = boardEl();
    if (board && form.elements.filters) form.elements.filters.value = board.dataset.filters || "";
    dialog.dataset.fromDrop = fromDrop ? "1" : "";
    syncLostField(form);
    dialog.showModal();
    (fromDrop ? form.elements.lost_reason : form.elements.stage).focus();
  }

  function onDialogSubmit(event) {
    var form = event.target.closest("[data-move-form]");
    if (!form) return;
    var dialog = form.closest("dialog");
    var submitter = event.submitter;
    if (submitter && submitter.value === "cancel") {
      if (dialog.dataset.fromDrop) putBack();
      return; // formmethod=dialog closes it
    }
    if (!boardEl()) return; // the deal page: an ordinary post, answered with a redirect
    event.preventDefault();
    var card = boardEl().querySelector('.deal-card[data-deal="' + form.elements.deal.value + '"]');
    if (!dragged && card) remember(card);
    if (dragged && dragged.dataset.stage === form.elements.stage.value) { dialog.close(); forget(); return; }
    dialog.close();
    postMove({ deal: form.elements.deal.value, stage: form.elements.stage.value,
               lost_reason: form.elements.lost_reason ? form.elements.lost_reason.value : "",
               focus: dialog.dataset.fromDrop ? "" : "1" });
  }

  /* ---------- drag and drop ---------- */
  function columnOf(target) { return target && target.closest ? target.closest(".board-col") : null; }

  function clearOver() {
    document.querySelectorAll(".board-col.is-over").forEach(function (c) { c.classList.remove("is-over"); });
  }

  function init() {
    applyCollapsed();

    document.addEventListener("dragstart", function (event) {
      var card = event.target.closest && event.target.closest(".deal-card[draggable=true]");
      if (!card) return;
      remember(card);
      card.classList.add("is-dragging");
      event.dataTransfer.effectAllowed = "move";
      event.dataTransfer.setData("text/plain", card.dataset.deal);
    });

    document.addEventListener("dragover", function (event) {
      var col = columnOf(event.target);
      if (!dragged || !col) return;
      event.preventDefault();
      event.dataTransfer.dropEffect = "move";
      if (!col.classList.contains("is-over")) { clearOver(); col.classList.add("is-over"); }
    });

    document.addEventListener("dragleave", function (event) {
      var col = columnOf(event.target);
      if (col && !col.contains(event.relatedTarget)) col.classList.remove("is-over");
    });

    document.addEventListener("drop", function (event) {
      var col = columnOf(event.target);
      if (!dragged || !col) return;
      event.preventDefault();
      clearOver();
      var card = dragged;
      if (col.dataset.stage === card.dataset.stage) { forget(); return; }
      var list = col.querySelector(".board-cards");
      var empty = list.querySelector(".board-empty");
      if (empty) empty.remove();
      list.insertBefore(card, list.firstChild);
      card.classList.remove("is-dragging");
      card.classList.add("is-pending");
      if (col.dataset.kind === "lost") { openDialog(card, col.dataset.stage, true); return; }
      postMove({ deal: card.dataset.deal, stage: col.dataset.stage, lost_reason: "" });
    });

    document.addEventListener("dragend", function () {
      clearOver();
      // A drop that went nowhere: the card never left its column.
      if (dragged && dragged.classList.contains("is-dragging")) forget();
    });

    document.addEventListener("click", function (event) {
      var opener = event.target.closest("[data-move-open]");
      if (opener) {
        var card = opener.closest(".deal-card");
        if (card) { forget(); openDialog(card, card.dataset.stage, false); }
        else if (opener.dataset.deal) {  // the deal page's lost stage button
          openDialog({ dataset: { deal: opener.dataset.deal, stage: opener.dataset.stage, name: opener.dataset.name } },
                     opener.dataset.stage, true);
        }
        return;
      }
      var collapse = event.target.closest("[data-collapse]");
      if (collapse) toggleCollapsed(collapse.closest(".board-col"));
    });

    document.addEventListener("change", function (event) {
      var form = event.target.closest && event.target.closest("[data-move-form]");
      if (form && event.target.name === "stage") syncLostField(form);
    });

    document.addEventListener("submit", onDialogSubmit);

    var dialog = dialogEl();
    if (dialog) {
      dialog.addEventListener("cancel", function () { if (dialog.dataset.fromDrop) putBack(); });
    }
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
