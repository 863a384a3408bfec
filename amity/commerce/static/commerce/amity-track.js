/*! Amity tracking snippet. No dependencies, ES2017.
 *
 *   <script src="https://crm.example.com/t/amity.js" data-key="pk_…" data-require-consent async></script>
 *   <script>
 *     window.amity = window.amity || [];
 *     amity.push(["consent", true]);          // once the visitor agrees (required with data-require-consent)
 *     amity.push(["page"]);
 *     amity.push(["product", {sku: "BOOT-1", name: "Hiking boots", price: 89, currency: "EUR"}]);
 *     amity.push(["addToCart", {sku: "BOOT-1", quantity: 1, price: 89, currency: "EUR",
 *                               cart: {id: "c-42", url: "https://shop.example.com/cart", items: [...]}}]);
 *     amity.push(["identify", {email: "ana@example.com", name: "Ana"}]);
 *     amity.push(["track", "newsletter_signup", {list: "weekly"}]);
 *   </script>
 *
 * Do-Not-Track (navigator.doNotTrack / window.doNotTrack === "1") or Global Privacy Control
 * (navigator.globalPrivacyControl === true): nothing is sent and nothing is stored, ever.
 * With data-require-consent nothing is sent or stored until ["consent", true]; ["consent", false] withdraws
 * consent and forgets the visitor id.
 */
(function () {
  "use strict";
  const script = document.currentScript || document.querySelector("script[data-key][src*='amity']");
  const existing = window.amity;
  if (existing && existing.__amity) return; // loaded twice
  const queued = Array.isArray(existing) ? existing.slice() : [];

  const key = script ? script.getAttribute("data-key") || "" : "";
  const endpoint = (script && script.getAttribute("data-endpoint")) ||
    (script && script.src ? new URL("collect", script.src).href : "/t/collect");
  const requireConsentAttr = script ? script.getAttribute("data-require-consent") : null;
  const requireConsent = requireConsentAttr !== null && requireConsentAttr !== "false";
  const nav = window.navigator || {};
  const optedOut = nav.doNotTrack === "1" || window.doNotTrack === "1" || nav.globalPrivacyControl === true;

  const VISITOR = "amity_vid";
  const CONSENT = "amity_consent";
  const MAX_BATCH = 100;
  const storage = (function () {
    try { return window.localStorage; } catch (e) { return null; }
  })();
  const read = (name) => { try { return storage ? storage.getItem(name) : null; } catch (e) { return null; } };
  const write = (name, value) => { try { if (storage) storage.setItem(name, value); } catch (e) { /* full */ } };
  const forget = (name) => { try { if (storage) storage.removeItem(name); } catch (e) { /* ignore */ } };

  let consent = read(CONSENT) === "1" ? true : read(CONSENT) === "0" ? false : null;
  let outbox = [];     // waiting to be sent
  let timer = null;

  function uuid() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    const b = new Uint8Array(16);
    crypto.getRandomValues(b);
    b[6] = (b[6] & 0x0f) | 0x40; b[8] = (b[8] & 0x3f) | 0x80;
    const h = Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
  }

  function allowed() {
    if (optedOut || !key) return false;
    if (consent === false) return false;
    return !requireConsent || consent === true;
  }

  function visitorId() {
    let id = read(VISITOR);
    if (!id) { id = uuid(); write(VISITOR, id); }
    return id;
  }

  function body(events) {
    return JSON.stringify({key: key, visitor_id: visitorId(), consent: consent === true, sent_at: Date.now(),
                           events: events});
  }

  function flush(leaving) {
    clearTimeout(timer); timer = null;
    if (!allowed() || !outbox.length) return;
    while (outbox.length) {
      const batch = outbox.slice(0, MAX_BATCH);
      const payload = body(batch);
      // text/plain keeps the request "simple" (no CORS preflight); the server reads the body as JSON.
      if (leaving && nav.sendBeacon && nav.sendBeacon(endpoint, new Blob([payload], {type: "text/plain"}))) {
        outbox = outbox.slice(batch.length);
        continue;
      }
      outbox = outbox.slice(batch.length);
      fetch(endpoint, {method: "POST", body: payload, keepalive: payload.length < 60000, credentials: "omit",
                       mode: "cors", headers: {"Content-Type": "text/plain"}})
        .then((r) => { if (r.status >= 500 || r.status === 429) retry(batch); })
        .catch(() => retry(batch));
    }
  }

  function retry(batch) {
    // Same client ids: the server ignores the ones that already landed.
    batch.forEach((e) => { e.tries = (e.tries || 0) + 1; });
    outbox = batch.filter((e) => e.tries <= 3).concat(outbox).slice(0, 500);
    schedule(5000);
  }

  function schedule(ms) {
    if (!timer) timer = setTimeout(() => flush(false), ms);
  }

  function enqueue(type, props, now) {
    if (optedOut || consent === false) return;
    const event = {type: type, id: uuid(), ts: Date.now(), url: location.href.slice(0, 500), props: props || {}};
    if (document.referrer && type === "page") event.props.referrer = document.referrer.slice(0, 500);
    outbox.push(event);
    if (outbox.length > 500) outbox.shift();
    if (now) flush(false); else schedule(1000);
  }

  function setConsent(value) {
    if (optedOut) return;
    if (value) {
      consent = true;
      write(CONSENT, "1");
      flush(false);
    } else {
      consent = false;
      outbox = [];
      forget(VISITOR);
      write(CONSENT, "0");
    }
  }

  function run(command) {
    if (!Array.isArray(command) || !command.length) return;
    const [name, a, b] = command;
    switch (name) {
      case "consent": setConsent(a !== false); break;
      case "page": enqueue("page", Object.assign({title: document.title.slice(0, 200)}, a || {})); break;
      case "product": enqueue("product", a); break;
      case "search": enqueue("search", typeof a === "string" ? {query: a} : a); break;
      case "addToCart": enqueue("addToCart", a, true); break;
      case "checkout": enqueue("checkout", a, true); break;
      case "identify": enqueue("identify", a, true); break;
      case "track": enqueue("track", Object.assign({}, b || {}, {name: String(a || "").slice(0, 100)})); break;
      default: if (window.console) console.warn("amity: unknown command", name);
    }
  }

  if (optedOut) {
    // Honour the signal completely: forget anything an earlier visit stored.
    forget(VISITOR);
    forget(CONSENT);
  }

  const api = {
    __amity: true,
    push: function () { for (let i = 0; i < arguments.length; i++) run(arguments[i]); return 0; },
    flush: () => flush(false),
    get disabled() { return optedOut; },
  };
  window.amity = api;
  queued.forEach(run);
  addEventListener("pagehide", () => flush(true));
  document.addEventListener("visibilitychange", () => { if (document.visibilityState === "hidden") flush(true); });
})();
