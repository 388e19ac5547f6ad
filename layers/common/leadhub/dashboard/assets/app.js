// Leadhub dashboard: progressive enhancement only (every page works without this file).
"use strict";

// The session's CSRF token, for scripted calls that change something (header X-CSRF-Token).
function csrfToken() {
  const meta = document.querySelector('meta[name="csrf-token"]');
  return meta ? meta.content : "";
}

// Copy buttons: <button class="copy" data-copy="element-id" hidden> shows once script runs.
function setUpCopyButtons() {
  for (const button of document.querySelectorAll("button.copy[data-copy]")) {
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

window.leadhub = { csrfToken };
document.addEventListener("DOMContentLoaded", setUpCopyButtons);
