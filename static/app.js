// Small improvements; every page works without this file.

/** Handlers for the page's forms (again for a part of the page loaded anew). */
function enhance(root) {
  // Filter forms apply as soon as a choice changes.
  root.querySelectorAll("form[data-autosubmit] select").forEach((select) => {
    select.addEventListener("change", () => select.form.requestSubmit());
  });
  // A live character count for capped statements (counted as the server counts).
  root.querySelectorAll("textarea[data-cap]").forEach((area) => {
    const note = root.querySelector(`[data-counter-for="${area.name}"]`);
    const cap = Number(area.dataset.cap);
    const update = () => {
      const used = [...area.value.replace(/\r\n?/g, "\n").trim()].length;
      if (note) note.textContent = `${used} / ${cap}`;
      area.classList.toggle("over", used > cap);
    };
    area.addEventListener("input", update);
    update();
  });
  // Uploads show their progress; the answer replaces the page's main part.
  root.querySelectorAll("form[data-upload]").forEach((form) => {
    form.addEventListener("submit", (event) => upload(form, event));
  });
}

/** Send the form's files with a progress bar (large photos over a phone's connection). */
function upload(form, event) {
  const input = form.querySelector("input[type=file]");
  const box = form.querySelector(".upload-progress");
  if (!input || !input.files.length || !box) return;  // the browser submits it as usual
  event.preventDefault();
  const bar = box.querySelector("progress");
  const shown = box.querySelector("output");
  const failed = box.querySelector("[data-failed]");
  const button = form.querySelector("button");
  box.hidden = false;
  failed.hidden = true;
  button.disabled = true;
  const request = new XMLHttpRequest();
  request.open("POST", form.action);
  request.responseType = "document";
  request.upload.addEventListener("progress", (progress) => {
    if (!progress.lengthComputable) return;
    bar.max = progress.total;
    bar.value = progress.loaded;
    shown.textContent = `${Math.floor((100 * progress.loaded) / progress.total)}%`;
  });
  request.addEventListener("load", () => {
    const main = request.response && request.response.querySelector("main");
    if (!main) {
      window.location.reload();
      return;
    }
    document.querySelector("main").replaceWith(main);
    document.title = request.response.title;
    enhance(main);
    const news = main.querySelector(".flash:not(.offline-note), .error") || main;
    news.tabIndex = -1;
    news.focus();
  });
  request.addEventListener("error", () => {
    box.hidden = false;
    failed.hidden = false;
    button.disabled = false;
  });
  request.send(new FormData(form));
}

/** The service worker (/sw.js) keeps the signed-in user's agenda for reading offline; a
 * page shown to nobody (sign-in, signed out) has it dropped. */
function serviceWorker() {
  const source = document.querySelector("meta[name=service-worker]");
  if (!("serviceWorker" in navigator) || !source) return;
  if (anotherSessionsCopy(source)) return;
  const signedIn = document.body.hasAttribute("data-signed-in");
  navigator.serviceWorker.register(source.content, { scope: source.dataset.scope })
    .then(() => navigator.serviceWorker.ready)
    .then((registration) => registration.active.postMessage(
      { type: signedIn ? "signed-in" : "signed-out" }))
    .catch(() => {});  // no worker (a private window, say): pages work as before
  document.querySelectorAll("form[data-signout]").forEach((form) => {
    form.addEventListener("submit", () => {
      const worker = navigator.serviceWorker.controller;
      if (worker) worker.postMessage({ type: "signed-out" });
    });
  });
}

/** A kept page of a session that has ended (the browser was closed without signing out):
 * dropped and the offline page shown instead. The worker checks this itself where it
 * can read cookies; this is for browsers where it cannot. */
function anotherSessionsCopy(source) {
  const key = document.body.dataset.offlineKey;
  if (!key) return false;
  const name = `${source.dataset.cookie}=`;
  const cookie = document.cookie.split("; ").find((part) => part.startsWith(name));
  if (cookie && cookie.slice(name.length) === key) return false;
  document.body.hidden = true;
  const worker = navigator.serviceWorker.controller;
  if (worker) worker.postMessage({ type: "signed-out" });
  window.location.replace(source.dataset.offline);
  return true;
}

function showOffline() {
  document.documentElement.classList.toggle("offline", !navigator.onLine);
}

document.addEventListener("DOMContentLoaded", () => {
  enhance(document);
  serviceWorker();
  showOffline();
  window.addEventListener("online", showOffline);
  window.addEventListener("offline", showOffline);
});
