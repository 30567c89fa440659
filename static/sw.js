// The service worker, served as /sw.js (tracker/ops/pwa.py puts CONFIG before this:
// {version, shell, agenda, offline, login}).
//
// Online, every request goes to the server as before; what is kept is only read when the
// server cannot be reached. Kept: the app shell (stylesheet, script, icon, the offline
// page: the same for everyone, fetched without cookies) and the signed-in user's agenda,
// which is dropped when the user signs out or the server answers as for nobody. The
// agenda is kept with its session's offline key (the X-Offline-Key header) and shown only
// while the session's cookie (CONFIG.cookie) names that key: the browser closed without
// signing out, or someone else signed in, and it is dropped instead.
/* global CONFIG */
const SHELL_CACHE = `shell-${CONFIG.version}`;
const PRIVATE_CACHE = "private";
// The agenda is fetched again in the background when the copy is older than this.
const FRESH_MS = 5 * 60 * 1000;

self.addEventListener("install", (event) => {
  event.waitUntil((async () => {
    const cache = await caches.open(SHELL_CACHE);
    await cache.addAll(CONFIG.shell.map(
      (url) => new Request(url, { credentials: "omit", cache: "no-cache" })));
    await self.skipWaiting();
  })());
});

self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) {
      if (name.startsWith("shell-") && name !== SHELL_CACHE) await caches.delete(name);
    }
    await self.clients.claim();
  })());
});

// Pages say who they are shown to (static/app.js): a signed-in user's page has the agenda
// kept fresh; a page for nobody (sign-in, signed out) drops it.
self.addEventListener("message", (event) => {
  const type = event.data && event.data.type;
  if (type === "signed-in") {
    event.waitUntil(keepAgenda());
  } else if (type === "signed-out") {
    event.waitUntil(caches.delete(PRIVATE_CACHE));
  }
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin) return;
  if (request.mode === "navigate") {
    event.respondWith(navigate(request, url));
  } else if (CONFIG.shell.includes(url.pathname)) {
    event.respondWith(shellFile(request));
  }
});

async function navigate(request, url) {
  let response;
  try {
    response = await fetch(request);
  } catch (error) {
    // No server: the kept agenda (whatever page was asked for) if it is this session's,
    // else the offline page.
    const kept = await keptAgenda();
    return kept || (await caches.match(CONFIG.offline)) || Response.error();
  }
  // (A redirect reaches here unfollowed, as an opaque response: the page it leads to
  // tells the worker whether anyone is signed in.)
  if (url.pathname + url.search === CONFIG.agenda && response.ok
      && response.headers.get("X-Offline-Key")) {
    await (await caches.open(PRIVATE_CACHE)).put(CONFIG.agenda, response.clone());
  }
  return response;
}

/** The kept agenda, unless it belongs to another session than the cookie's (then it is
 * dropped). Where the worker cannot read cookies, the page checks (static/app.js). */
async function keptAgenda() {
  const kept = await (await caches.open(PRIVATE_CACHE)).match(CONFIG.agenda);
  if (!kept || !self.cookieStore) return kept;
  const cookie = await self.cookieStore.get(CONFIG.cookie);
  if (cookie && cookie.value === kept.headers.get("X-Offline-Key")) return kept;
  await caches.delete(PRIVATE_CACHE);
  return undefined;
}

async function shellFile(request) {
  const cache = await caches.open(SHELL_CACHE);
  try {
    const response = await fetch(request);
    if (response.ok) await cache.put(request, response.clone());
    return response;
  } catch (error) {
    return (await cache.match(request)) || Response.error();
  }
}

async function keepAgenda() {
  const cache = await caches.open(PRIVATE_CACHE);
  const kept = await cache.match(CONFIG.agenda);
  const age = kept ? Date.now() - Date.parse(kept.headers.get("Date") || 0) : Infinity;
  if (age < FRESH_MS) return;
  let response;
  try {
    response = await fetch(CONFIG.agenda, { credentials: "same-origin", cache: "no-store" });
  } catch (error) {
    return;  // offline: keep what is kept
  }
  if (response.redirected && new URL(response.url).pathname === CONFIG.login) {
    await caches.delete(PRIVATE_CACHE);  // signed out elsewhere, or the session ended
  } else if (response.ok && !response.redirected && response.headers.get("X-Offline-Key")) {
    await cache.put(CONFIG.agenda, response);
  }
}
