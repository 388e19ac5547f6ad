// Leadhub dashboard: live regions. An element with data-poll="<url of its fragment>" is refreshed from
// that URL every data-poll-seconds while the page is visible (Page Visibility API), without a reload.
// The server answers 304 while nothing changed (ETag); news is announced in the data-poll-news element
// (role="status", aria-live="polite") rather than by re-reading the whole region.
"use strict";

function setUpLiveRegion(region) {
  const url = region.dataset.poll;
  const seconds = Math.max(2, Number(region.dataset.pollSeconds) || 4);
  const news = document.getElementById(region.dataset.pollNews || "");
  const what = region.dataset.pollWhat || "item";
  let etag = region.dataset.pollEtag || "";
  let timer = null;
  let busy = false;
  let stopped = false;

  const keys = () => new Set(Array.from(region.querySelectorAll("[data-item]"), (e) => e.dataset.item));

  async function poll() {
    if (busy || stopped || document.visibilityState !== "visible") return;
    busy = true;
    try {
      const headers = { Accept: "text/html" };
      if (etag) headers["If-None-Match"] = etag;
      const response = await fetch(url, { headers, credentials: "same-origin", cache: "no-store", redirect: "manual" });
      if (response.status === 304) return;
      if (!response.ok) {
        // Signed out (a redirect to the sign-in page), refused or gone: stop, and say so.
        if (response.type === "opaqueredirect" || response.status === 403 || response.status === 404) {
          stop();
          if (news) news.textContent = "Updates stopped: reload the page.";
        }
        return;
      }
      const before = keys();
      region.innerHTML = await response.text();
      etag = response.headers.get("ETag") || "";
      const added = Array.from(keys()).filter((key) => !before.has(key)).length;
      if (news && added) news.textContent = `${added} new ${what}${added === 1 ? "" : "s"}`;
    } catch {
      // Offline for a moment: the next tick tries again.
    } finally {
      busy = false;
    }
  }

  function start() {
    if (timer === null && !stopped) timer = setInterval(poll, seconds * 1000);
  }

  function stop() {
    clearInterval(timer);
    timer = null;
    stopped = true;
  }

  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible") {
      poll();
      start();
    } else if (timer !== null) {
      clearInterval(timer);
      timer = null;
    }
  });
  if (document.visibilityState === "visible") start();
}

document.addEventListener("DOMContentLoaded", () => {
  for (const region of document.querySelectorAll("[data-poll]")) setUpLiveRegion(region);
});
