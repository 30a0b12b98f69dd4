// Progressive enhancement only: every page works without it.
// A form's submit buttons are disabled while its request is in flight, so a double click
// sends one request (the button's own name and value are sent: it is disabled after).
document.addEventListener("submit", (event) => {
  const form = event.target;
  if (!(form instanceof HTMLFormElement) || event.defaultPrevented) return;
  const buttons = form.querySelectorAll("button[type=submit], button:not([type])");
  setTimeout(() => buttons.forEach((b) => { b.disabled = true; b.setAttribute("aria-busy", "true"); }), 0);
  // A page restored from the back/forward cache gets its buttons back.
  window.addEventListener("pageshow", () => buttons.forEach((b) => { b.disabled = false; b.removeAttribute("aria-busy"); }), { once: true });
});
// While an htmx request runs, the page shows a progress bar at its top (app.css).
document.addEventListener("htmx:beforeRequest", () => document.body.classList.add("loading"));
document.addEventListener("htmx:afterRequest", () => document.body.classList.remove("loading"));
// A "Print" button (data-print) prints the page; without JavaScript the browser's own
// print command does the same.
document.addEventListener("click", (event) => {
  if (event.target instanceof Element && event.target.closest("[data-print]")) window.print();
});
// A field that means nothing without another (data-enabled-by="id": the router's "buy
// or rent" without a router) is disabled while that one is empty.
const syncEnabled = () => document.querySelectorAll("[data-enabled-by]").forEach((field) => {
  const by = document.getElementById(field.dataset.enabledBy);
  if (by) field.disabled = by.value === "";
});
document.addEventListener("change", syncEnabled);
document.addEventListener("DOMContentLoaded", syncEnabled);
