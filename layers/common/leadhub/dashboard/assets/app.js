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
    const target = document.getElementById(button.dataset.copy);
    if (!target) continue;
    button.dataset.ready = "";
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

// A region with data-poll="<url>" is refreshed from that page every few seconds while the tab is visible,
// as long as the fresh copy still asks for it (e.g. DNS records Resend is still checking). The region is
// aria-live, so the change is announced.
const POLL_MS = 5000;
function setUpPolling() {
  for (const region of document.querySelectorAll("[data-poll][id]")) {
    const refresh = async () => {
      if (document.hidden) return schedule();
      try {
        const answer = await fetch(region.dataset.poll, { credentials: "same-origin" });
        if (!answer.ok) return schedule();
        const page = new DOMParser().parseFromString(await answer.text(), "text/html");
        const fresh = page.getElementById(region.id);
        if (!fresh) return;
        region.replaceChildren(...fresh.childNodes);
        setUpCopyButtons();
        if (fresh.hasAttribute("data-poll")) schedule();
        else region.removeAttribute("data-poll");
      } catch {
        schedule();
      }
    };
    const schedule = () => setTimeout(refresh, POLL_MS);
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
document.addEventListener("DOMContentLoaded", () => {
  setUpCopyButtons();
  setUpPolling();
  setUpDependentFields();
});
