// Batch pages: the live progress bar, and a guard against sending the same upload twice. Loaded
// with `defer`; without it the pages still work (the batch page refreshes itself from <noscript>).
"use strict";

(() => {
  // The batch page: poll progress.json every second, update the bar, the "N of M rows" text and the
  // state; when the batch ends, reload the page, which then shows the summary and the links.
  const section = document.querySelector("[data-progress-url]");
  const ended = (state) => state === "done" || state === "failed";
  const reload = () => window.location.replace(window.location.pathname);  // without "?new=1"
  if (section && !ended(section.dataset.state)) {
    const bar = section.querySelector("progress");
    const count = section.querySelector(".batch-count");
    const badge = document.getElementById("batch-state");
    const text = section.dataset.countText || "{processed} / {total}";
    let states = {};
    try {
      states = JSON.parse(section.dataset.states || "{}");
    } catch {
      states = {};
    }
    let shown = count ? count.textContent : "";
    let delay = 1000;

    const show = (progress) => {
      const total = Number(progress.total) || 0;
      const processed = Math.min(Number(progress.processed) || 0, total);
      if (bar) {
        bar.max = Math.max(total, 1);
        bar.value = processed;
        bar.textContent = `${processed} / ${total}`;
      }
      const line = text.replace("{processed}", String(processed)).replace("{total}", String(total));
      if (count && line !== shown) {  // only real changes reach the live region
        count.textContent = line;
        shown = line;
      }
      if (badge && states[progress.state]) {
        badge.textContent = states[progress.state];
        badge.className = `badge state-${progress.state}`;
      }
    };

    const poll = async () => {
      try {
        const response = await fetch(section.dataset.progressUrl, {
          cache: "no-store", credentials: "same-origin", headers: { Accept: "application/json" },
        });
        const type = response.headers.get("content-type") || "";
        if (!response.ok || !type.startsWith("application/json")) {
          // signed out (the sign-in page came back), or an error: the page itself says what happened
          reload();
          return;
        }
        const progress = await response.json();
        show(progress);
        if (ended(progress.state)) {
          reload();
          return;
        }
        delay = 1000;
      } catch {
        delay = Math.min(delay * 2, 15000);  // offline for a moment: try again, less often
      }
      window.setTimeout(poll, delay);
    };
    window.setTimeout(poll, delay);
  }

  // The upload form: one click sends it once; the button says the file is on its way.
  document.querySelectorAll("form[data-busy]").forEach((form) => {
    const button = form.querySelector("button[type=submit]");
    const label = button ? button.textContent : "";
    form.addEventListener("submit", (event) => {
      if (form.dataset.sent === "yes") {
        event.preventDefault();
        return;
      }
      form.dataset.sent = "yes";
      if (button) {
        button.setAttribute("aria-disabled", "true");
        button.textContent = form.dataset.busy;
      }
    });
    // coming back to the page (browser history) makes the form usable again
    window.addEventListener("pageshow", () => {
      delete form.dataset.sent;
      if (button) {
        button.removeAttribute("aria-disabled");
        button.textContent = label;
      }
    });
  });
})();
