// Leadhub dashboard: progressive enhancement only (every page works without this file).
"use strict";

// The session's CSRF token, for scripted calls that change something (header X-CSRF-Token).
function csrfToken() {
  const meta = document.querySelector('meta[name="csrf-token"]');
  return meta ? meta.content : "";
}

// Copy buttons: <button class="copy" data-copy="element-id" hidden> shows once script runs.
function setUpCopyButtons() {
  for (const button of document.querySelectorAll("button.copy[data-copy]:not([data-ready])")) {
    button.dataset.ready = "";
    const target = document.getElementById(button.dataset.copy);
    if (!target) continue;
    const label = button.textContent;
    button.hidden = false;
    button.addEventListener("click", async () => {
      const isInput = target instanceof HTMLInputElement;
      const text = isInput ? target.value : target.textContent;
      try {
        await navigator.clipboard.writeText(text);
        button.textContent = "Copied";
      } catch {
        // No clipboard access (e.g. plain http): select the text, so Ctrl+C copies it.
        if (isInput) {
          target.select();
        } else {
          const range = document.createRange();
          range.selectNodeContents(target);
          getSelection().removeAllRanges();
          getSelection().addRange(range);
        }
        button.textContent = "Selected: press Ctrl+C";
      }
      button.classList.add("copied");
      setTimeout(() => { button.textContent = label; button.classList.remove("copied"); }, 2000);
    });
  }
}

// Payload template preview: <textarea data-preview-url data-preview-target="section-id"> posts what is
// typed (debounced) and shows the body the server rendered; the form's "Preview" button (the no-script
// way) is hidden meanwhile.
function setUpTemplatePreview() {
  const area = document.querySelector("textarea[data-preview-url]");
  const target = area && document.getElementById(area.dataset.previewTarget);
  if (!target) return;
  const body = target.querySelector("[data-preview-body]");
  const error = target.querySelector("[data-preview-error]");
  const button = area.form && area.form.querySelector(".preview-button");
  if (button) button.hidden = true;
  let timer = 0;
  let latest = 0;
  area.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(async () => {
      const asked = ++latest;
      try {
        const response = await fetch(area.dataset.previewUrl, {
          method: "POST",
          headers: { "X-CSRF-Token": csrfToken() },
          body: new URLSearchParams({ payloadTemplate: area.value }),
        });
        if (!response.ok || asked !== latest) return; // a later keystroke's answer wins
        const result = await response.json();
        error.textContent = result.error || "";
        error.hidden = !result.error;
        body.querySelector("code").textContent = result.body || "";
        body.hidden = result.body == null;
      } catch {
        // Offline or signed out: the preview stays as it was; saving still checks the template.
      }
    }, 250);
  });
}

// Delivery log: <section id="delivery-log" data-poll="waiting|action" data-poll-url> is fetched again
// every 3 s while the page is visible, and what changed is replaced: while a delivery is
// on its way ("waiting"), or after a retry or recovery until its attempt shows ("action").
function setUpDeliveryLogPolling() {
  const section = document.getElementById("delivery-log");
  if (!section || !section.dataset.poll) return;
  let afterAction = section.dataset.poll === "action";
  let waiting = section.dataset.poll === "waiting";
  let polls = 0;
  const tick = async () => {
    polls += 1;
    if (document.visibilityState === "visible") {
      try {
        const response = await fetch(section.dataset.pollUrl, { headers: { Accept: "text/html" } });
        const page = new DOMParser().parseFromString(await response.text(), "text/html");
        const fresh = response.ok && page.getElementById("delivery-log");
        if (fresh) {
          waiting = fresh.dataset.poll === "waiting";
          // The live region's own content changes (so that screen readers announce it), and the pager.
          for (const selector of ["[aria-live]", ".pager"]) {
            const shown = section.querySelector(selector);
            const now = fresh.querySelector(selector);
            if (shown && now && shown.innerHTML !== now.innerHTML) {
              shown.innerHTML = now.innerHTML;
              afterAction = false;
            }
          }
        }
      } catch {
        // Try again on the next tick.
      }
    }
    if ((waiting || afterAction) && polls < 40) setTimeout(tick, 3000);
  };
  setTimeout(tick, 3000);
}

// A region with data-refresh="<url>" is refreshed from that page every few seconds while the tab is visible,
// as long as the fresh copy still asks for it (e.g. DNS records Resend is still checking). The region is
// aria-live, so the change is announced.
const REFRESH_MS = 5000;
function setUpRefreshedRegions() {
  for (const region of document.querySelectorAll("[data-refresh][id]")) {
    const refresh = async () => {
      if (document.hidden) return schedule();
      try {
        const answer = await fetch(region.dataset.refresh, { credentials: "same-origin" });
        if (!answer.ok) return schedule();
        const page = new DOMParser().parseFromString(await answer.text(), "text/html");
        const fresh = page.getElementById(region.id);
        if (!fresh) return;
        region.replaceChildren(...fresh.childNodes);
        setUpCopyButtons();
        if (fresh.hasAttribute("data-refresh")) schedule();
        else region.removeAttribute("data-refresh");
      } catch {
        schedule();
      }
    };
    const schedule = () => setTimeout(refresh, REFRESH_MS);
    schedule();
  }
}

// Forms whose fields depend on a choice: elements with data-kinds="a b" show only for those kinds of the
// automation form's #kind (and are disabled otherwise, so they are not sent); the responder's Bedrock
// settings show only while Bedrock is chosen.
function setUpDependentFields() {
  const kind = document.querySelector("[data-automation-form] #kind");
  if (kind) {
    const apply = () => {
      for (const element of document.querySelectorAll("[data-kinds]")) {
        const shown = element.dataset.kinds.split(" ").includes(kind.value);
        element.hidden = !shown;
        for (const input of element.querySelectorAll("input, select, textarea")) input.disabled = !shown;
      }
    };
    kind.addEventListener("change", apply);
    apply();
  }
  const bedrock = document.querySelector("[data-responder]");
  if (bedrock) {
    const choices = document.querySelectorAll('input[name="responder"]');
    const apply = () => {
      const chosen = [...choices].find((c) => c.checked);
      bedrock.hidden = !chosen || chosen.value !== bedrock.dataset.responder;
    };
    for (const choice of choices) choice.addEventListener("change", apply);
    apply();
  }
}

window.leadhub = { csrfToken };
window.leadhub = { csrfToken };
document.addEventListener("DOMContentLoaded", setUpCopyButtons);
document.addEventListener("DOMContentLoaded", setUpTemplatePreview);
document.addEventListener("DOMContentLoaded", setUpDeliveryLogPolling);
document.addEventListener("DOMContentLoaded", setUpRefreshedRegions);
document.addEventListener("DOMContentLoaded", setUpDependentFields);
