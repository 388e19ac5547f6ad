/*
 * Leadhub website chat widget. Embedded with
 *   <script src="https://<leadhub api>/widget.js" data-widget-key="lhw_…" async></script>
 * Vanilla JavaScript, no dependencies. It draws itself in a shadow root (the page's CSS cannot reach it),
 * defines one global (window.LeadhubWidget), and talks to nothing but the Leadhub API it was loaded from.
 * With data-preview="<element id>" instead of a key (the dashboard's live preview) it calls nothing: it draws
 * itself into that element with the settings given to LeadhubWidget.preview(settings).
 */
(function () {
  "use strict";
  var NAMESPACE = "LeadhubWidget";
  if (window[NAMESPACE]) return; // embedded twice: the first one runs
  var CSS = "__LEADHUB_WIDGET_CSS__";
  // Polling while the panel is open: fast while a reply is awaited, then slower, backing off when idle.
  var POLL = { awaitingMs: 500, awaitingForMs: 15000, activeMs: 2000, activeForMs: 30000, idleFactor: 1.5, idleMaxMs: 30000 };
  var MAX_TEXT = 2000;

  var script = document.currentScript || document.querySelector("script[data-widget-key]");
  var previewId = script && script.getAttribute("data-preview");
  if (!script || !(previewId || script.getAttribute("data-widget-key"))) return;
  var widgetKey = script.getAttribute("data-widget-key") || "preview";
  var apiBase = script.src.replace(/\/widget\.js([?#].*)?$/, "");
  var endpoint = apiBase + "/widget/v1/" + encodeURIComponent(widgetKey) + "/";
  var storageKey = "leadhub-widget:" + widgetKey;

  var state = {
    visitorToken: stored(),
    pageToken: null,
    settings: null,
    captured: false,
    messagesSent: 0,
    cursor: null,
    shown: {}, // message ids (and our client message ids) already in the log
    open: false,
    pollTimer: null,
    pollDelay: POLL.activeMs,
    lastActivity: 0,
    awaitingSince: 0,
    sawReply: false,
    contactDismissed: false,
    sessionPromise: null
  };
  var ui = {};

  function stored() {
    try { return window.localStorage.getItem(storageKey); } catch (e) { return null; }
  }

  function store(token) {
    try { window.localStorage.setItem(storageKey, token); } catch (e) { /* private mode: this page only */ }
  }

  function request(method, path, body, extraHeaders) {
    var headers = extraHeaders || {};
    if (state.visitorToken) headers["X-Leadhub-Visitor"] = state.visitorToken;
    if (state.pageToken) headers["X-Leadhub-Page"] = state.pageToken;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    return fetch(endpoint + path, {
      method: method,
      headers: headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      mode: "cors",
      credentials: "omit",
      cache: "no-store"
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) {
        return { status: response.status, data: data, retryAfter: Number(response.headers.get("Retry-After")) || 0 };
      });
    });
  }

  // A session per page load: the visitor (kept in localStorage) and the page token messages need.
  function startSession() {
    if (!state.sessionPromise) {
      state.sessionPromise = request("POST", "session", {}).then(function (answer) {
        state.sessionPromise = null;
        if (answer.status !== 200) throw answer;
        state.visitorToken = answer.data.visitorToken;
        state.pageToken = answer.data.pageToken;
        state.settings = answer.data.settings;
        state.captured = answer.data.captured;
        state.messagesSent = answer.data.messagesSent;
        store(state.visitorToken);
        return answer;
      }, function (error) {
        state.sessionPromise = null;
        throw error;
      });
    }
    return state.sessionPromise;
  }

  // A call that needs the session: an expired page token (401) starts a new session and asks again.
  function call(method, path, body, extraHeaders) {
    return request(method, path, body, extraHeaders).then(function (answer) {
      if (answer.status !== 401) return answer;
      return startSession().then(function () { return request(method, path, body, extraHeaders); });
    });
  }

  function text(name) {
    return (state.settings && state.settings.texts && state.settings.texts[name]) || "";
  }

  function element(tag, attributes, children) {
    var node = document.createElement(tag);
    Object.keys(attributes || {}).forEach(function (name) {
      if (name === "text") node.textContent = attributes[name];
      else node.setAttribute(name, attributes[name]);
    });
    (children || []).forEach(function (child) { node.appendChild(child); });
    return node;
  }

  function build() {
    var settings = state.settings;
    var host = (ui.host = element("div", { id: "leadhub-widget", "data-leadhub-widget": "" }));
    var root = host.attachShadow({ mode: "open" });
    addStyles(root);
    host.style.setProperty("--lh-primary", settings.colors.primary);
    host.style.setProperty("--lh-on-primary", settings.colors.onPrimary);
    var frame = element("div", { "class": "frame " + (settings.position === "bottom-left" ? "left" : "right") });
    ui.launcher = element("button", {
      type: "button", "class": "launcher", "aria-expanded": "false", "aria-controls": "lh-panel", text: text("launcher")
    });
    ui.launcher.addEventListener("click", function () { setOpen(!state.open); });
    ui.title = element("h2", { id: "lh-title", text: settings.title });
    ui.close = element("button", { type: "button", "class": "close", "aria-label": text("close"), text: "×" });
    ui.close.addEventListener("click", function () { setOpen(false); });
    ui.log = element("ol", { "class": "log", role: "log", "aria-live": "polite", "aria-labelledby": "lh-title" });
    ui.status = element("p", { "class": "status", role: "status" });
    ui.contact = contactForm();
    ui.composer = composer();
    ui.panel = element("section", { id: "lh-panel", "class": "panel", role: "dialog", "aria-labelledby": "lh-title", hidden: "" }, [
      element("header", {}, [ui.title, ui.close]), ui.log, ui.status, ui.contact, ui.composer
    ]);
    ui.panel.addEventListener("keydown", function (event) {
      if (event.key === "Escape") { setOpen(false); ui.launcher.focus(); }
    });
    frame.appendChild(ui.panel);
    frame.appendChild(ui.launcher);
    root.appendChild(frame);
    if (settings.greeting) addMessage({ id: "greeting", from: "bot", text: settings.greeting });
    (previewId ? document.getElementById(previewId) : document.body).appendChild(host);
    updateForms();
  }

  // A constructed stylesheet where the browser has them: a page whose Content-Security-Policy forbids
  // inline styles (the dashboard's, for one) accepts it, where it would refuse a <style> element.
  function addStyles(root) {
    try {
      var sheet = new CSSStyleSheet();
      sheet.replaceSync(CSS);
      root.adoptedStyleSheets = [sheet];
    } catch (e) {
      root.appendChild(element("style", { text: CSS }));
    }
  }

  function composer() {
    ui.input = element("textarea", { rows: "2", maxlength: String(MAX_TEXT), "aria-label": text("placeholder"), placeholder: text("placeholder") });
    ui.input.addEventListener("keydown", function (event) {
      if (event.key === "Enter" && !event.shiftKey) { event.preventDefault(); sendMessage(); }
    });
    ui.honeypot = honeypot();
    var send = element("button", { type: "submit", "class": "send", text: text("send") });
    var form = element("form", { "class": "composer" }, [ui.input, ui.honeypot, send]);
    form.addEventListener("submit", function (event) { event.preventDefault(); sendMessage(); });
    return form;
  }

  // A field people never see or reach: only a form-filling robot writes in it, and the API refuses that.
  function honeypot() {
    return element("input", { type: "text", name: "website", tabindex: "-1", autocomplete: "off", "aria-hidden": "true", "class": "trap" });
  }

  function field(name, type, autocomplete) {
    var id = "lh-" + name;
    var input = element("input", { id: id, name: name, type: type, autocomplete: autocomplete, "aria-describedby": id + "-error" });
    var error = element("span", { id: id + "-error", "class": "field-error" });
    ui[name] = input;
    ui[name + "Error"] = error;
    return element("p", { "class": "field" }, [element("label", { "for": id, text: text(name) }), input, error]);
  }

  function contactForm() {
    ui.skip = element("button", { type: "button", "class": "secondary", text: text("skipContact") });
    ui.skip.addEventListener("click", function () { state.contactDismissed = true; updateForms(); ui.input.focus(); });
    ui.contactHoneypot = honeypot();
    var children = [
      element("p", { "class": "prompt", id: "lh-contact-prompt", text: text("contactPrompt") }),
      field("name", "text", "name"), field("email", "email", "email"), field("phone", "tel", "tel"), ui.contactHoneypot
    ];
    if (state.settings.consentText) children.push(element("p", { "class": "consent", text: state.settings.consentText }));
    children.push(element("p", { "class": "actions" }, [element("button", { type: "submit", text: text("submitContact") }), ui.skip]));
    var form = element("form", { "class": "contact", "aria-labelledby": "lh-contact-prompt", novalidate: "" }, children);
    form.addEventListener("submit", function (event) { event.preventDefault(); sendContact(); });
    return form;
  }

  function contactDue() {
    var capture = state.settings.capture;
    if (state.captured || capture === "off") return false;
    if (capture === "before_chat") return true;
    if (state.contactDismissed) return false;
    if (previewId) return true; // the preview shows what visitors will be asked, at once
    if (capture === "after_first_reply") return state.sawReply;
    var after = /^after_messages:(\d+)$/.exec(capture);
    return !!after && state.messagesSent >= Number(after[1]);
  }

  function updateForms() {
    var due = contactDue();
    ui.contact.hidden = !due; // shown without taking the focus from someone typing
    ui.skip.hidden = state.settings.capture === "before_chat";
    ui.composer.hidden = due && state.settings.capture === "before_chat";
  }

  function setOpen(open) {
    state.open = open;
    ui.panel.hidden = !open;
    ui.launcher.setAttribute("aria-expanded", String(open));
    if (previewId) return; // a picture of the widget: it takes no focus and asks Leadhub nothing
    if (open) {
      (ui.contact.hidden ? ui.input : ui.name).focus();
      state.lastActivity = Date.now();
      schedulePoll(0);
    } else {
      clearTimeout(state.pollTimer);
      state.pollTimer = null;
    }
  }

  function addMessage(message) {
    var key = message.clientMessageId || message.id;
    if (state.shown[message.id] || (message.clientMessageId && state.shown[message.clientMessageId])) {
      var pending = ui.log.querySelector('[data-key="' + key + '"]');
      if (pending) pending.classList.remove("pending", "failed");
      state.shown[message.id] = true;
      return;
    }
    state.shown[message.id] = true;
    if (message.clientMessageId) state.shown[message.clientMessageId] = true;
    var who = message.from === "visitor" ? "visitor" : "agent";
    var item = element("li", { "class": "message " + who, "data-key": key }, [
      element("span", { "class": "sr-only", text: who === "visitor" ? "You: " : state.settings.title + ": " }),
      element("span", { text: message.text || "" })
    ]);
    if (message.pending) item.classList.add("pending");
    ui.log.appendChild(item);
    ui.log.scrollTop = ui.log.scrollHeight;
    if (who === "agent" && message.id !== "greeting") state.sawReply = true;
    return item;
  }

  function newId() {
    if (window.crypto && window.crypto.randomUUID) return window.crypto.randomUUID();
    return Date.now().toString(36) + "-" + Math.random().toString(36).slice(2);
  }

  function sendMessage() {
    var value = ui.input.value.trim();
    if (!value) return;
    ui.input.value = "";
    var id = newId();
    var item = addMessage({ id: id, clientMessageId: id, from: "visitor", text: value.slice(0, MAX_TEXT), pending: !previewId });
    if (previewId) return;
    deliver({ clientMessageId: id, text: value.slice(0, MAX_TEXT), website: ui.honeypot.value }, item, 0);
  }

  function deliver(body, item, attempt) {
    call("POST", "messages", body).then(function (answer) {
      if (answer.status === 200 || answer.status === 201) {
        item.classList.remove("pending");
        state.messagesSent = answer.data.messagesSent;
        state.captured = answer.data.captured;
        state.awaitingSince = Date.now();
        state.lastActivity = Date.now();
        setStatus("");
        updateForms();
        schedulePoll(POLL.awaitingMs);
      } else if (answer.status === 429 || answer.status >= 500) {
        retry(body, item, attempt, answer.retryAfter);
      } else {
        item.classList.add("failed");
        setStatus((answer.data && answer.data.error) || text("offline"));
        if (answer.status === 409) updateForms();
      }
    }, function () { retry(body, item, attempt, 0); });
  }

  function retry(body, item, attempt, afterSeconds) {
    setStatus(text("offline"));
    var delay = afterSeconds ? afterSeconds * 1000 : Math.min(30000, 1000 * Math.pow(2, attempt));
    setTimeout(function () { deliver(body, item, attempt + 1); }, delay); // same client id: stored once
  }

  function setStatus(message) {
    ui.status.textContent = message;
  }

  function sendContact() {
    if (previewId) return;
    var body = {
      name: ui.name.value, email: ui.email.value, phone: ui.phone.value,
      pageUrl: window.location.href.slice(0, 1000), referrer: document.referrer.slice(0, 1000),
      website: ui.contactHoneypot.value
    };
    ["name", "email", "phone"].forEach(function (name) {
      ui[name].removeAttribute("aria-invalid");
      ui[name + "Error"].textContent = "";
    });
    call("POST", "contact", body).then(function (answer) {
      if (answer.status === 200) {
        state.captured = true;
        updateForms();
        addMessage({ id: "thanks-" + newId(), from: "bot", text: text("thanks") });
        ui.input.focus();
        return;
      }
      var details = (answer.data && answer.data.details) || [];
      var first = null;
      details.forEach(function (detail) {
        if (!ui[detail.field + "Error"]) return;
        ui[detail.field].setAttribute("aria-invalid", "true");
        ui[detail.field + "Error"].textContent = detail.message;
        first = first || ui[detail.field];
      });
      if (first) first.focus();
      else setStatus((answer.data && answer.data.error) || text("offline"));
    }, function () { setStatus(text("offline")); });
  }

  function schedulePoll(delay) {
    clearTimeout(state.pollTimer);
    if (!state.open || previewId) return;
    state.pollTimer = setTimeout(poll, delay);
  }

  function nextDelay(gotNew) {
    var now = Date.now();
    if (gotNew) state.lastActivity = now;
    if (state.awaitingSince && !gotNew && now - state.awaitingSince < POLL.awaitingForMs) return POLL.awaitingMs;
    state.awaitingSince = 0;
    if (now - state.lastActivity < POLL.activeForMs) return (state.pollDelay = POLL.activeMs);
    state.pollDelay = Math.min(POLL.idleMaxMs, state.pollDelay * POLL.idleFactor);
    return state.pollDelay;
  }

  function poll() {
    state.pollTimer = null;
    if (!state.open || document.hidden) return;
    // The cursor travels in a header: a URL that changed would need a new CORS preflight.
    call("GET", "messages", undefined, state.cursor ? { "X-Leadhub-After": state.cursor } : {}).then(function (answer) {
      var gotNew = false;
      if (answer.status === 200) {
        answer.data.messages.forEach(function (message) {
          if (!state.shown[message.id]) gotNew = gotNew || message.from !== "visitor";
          addMessage(message);
        });
        if (gotNew) state.awaitingSince = 0;
        state.cursor = answer.data.cursor || state.cursor;
        state.captured = answer.data.captured;
        state.messagesSent = answer.data.messagesSent;
        updateForms();
        setStatus("");
      }
      schedulePoll(answer.retryAfter ? answer.retryAfter * 1000 : nextDelay(gotNew));
    }, function () {
      setStatus(text("offline"));
      schedulePoll(nextDelay(false));
    });
  }

  document.addEventListener("visibilitychange", function () {
    if (!document.hidden && state.open) schedulePoll(0); // polling pauses while the tab is hidden
  });

  // The one global: `status` is loading, ready, off (the widget is turned off) or unavailable (Leadhub
  // could not be reached, or refused this page's origin: browsers do not tell the two apart). Only a
  // ready widget shows anything.
  var api = (window[NAMESPACE] = {
    version: 1,
    status: "loading",
    open: function () { if (ui.panel) setOpen(true); },
    close: function () { if (ui.panel) setOpen(false); }
  });

  function start() {
    startSession().then(function () {
      build();
      api.status = "ready";
    }, function (answer) {
      api.status = answer && (answer.status === 401 || answer.status === 403) ? "off" : "unavailable";
    });
  }

  // The preview: drawn again, in its element, with each call's settings (the panel as it was, open at first).
  function preview(settings) {
    var open = ui.panel ? state.open : true;
    if (ui.host) ui.host.remove();
    ui = {};
    state.settings = settings;
    state.shown = {};
    state.contactDismissed = false;
    build();
    setOpen(open);
  }

  if (previewId) {
    api.status = "preview";
    api.preview = preview;
  } else if (document.body) start();
  else document.addEventListener("DOMContentLoaded", start);
})();
