// The website widget's live preview: the real widget.js (loaded before this file with data-preview, so it
// calls nothing) draws itself into #widget-preview with the settings as they are in the form, again at
// every change, before anything is saved.
"use strict";

function widgetSettingsOf(form) {
  const value = (name) => form.elements[name].value;
  const capture = value("capture") === "after_messages" ? `after_messages:${value("captureMessages")}` : value("capture");
  return {
    title: value("title").trim(),
    greeting: value("greeting").trim(),
    colors: { primary: value("primaryColor"), onPrimary: value("onPrimaryColor") },
    position: value("position"),
    capture,
    consentText: value("consentText").trim(),
    texts: JSON.parse(form.dataset.texts), // the widget's other texts, as saved (not edited here)
  };
}

function setUpWidgetPreview() {
  const form = document.querySelector("form[data-widget-form]");
  const widget = window.LeadhubWidget;
  if (!form || !widget || typeof widget.preview !== "function") return;
  const draw = () => widget.preview(widgetSettingsOf(form));
  form.addEventListener("input", draw);
  form.addEventListener("change", draw);
  draw();
  for (const fallback of document.querySelectorAll("[data-preview-fallback]")) fallback.hidden = true;
}

setUpWidgetPreview();
