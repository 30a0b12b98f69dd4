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
// The header's menus (<details>) work without this; with it, one is open at a time, and a
// click elsewhere or Escape closes it.
const headerMenus = () => document.querySelectorAll("header details[open]");
document.addEventListener("toggle", (event) => {
  const opened = event.target;
  if (!(opened instanceof HTMLDetailsElement) || !opened.open || !opened.closest("header")) return;
  headerMenus().forEach((d) => { if (d !== opened && !d.contains(opened)) d.open = false; });
}, true);
document.addEventListener("click", (event) => {
  headerMenus().forEach((d) => { if (!d.contains(event.target)) d.open = false; });
});
document.addEventListener("keydown", (event) => {
  if (event.key !== "Escape") return;
  headerMenus().forEach((d) => { d.open = false; d.querySelector("summary")?.focus(); });
});
// A box that scrolls sideways (a wide table on a phone) takes the keyboard's focus so that
// it can be scrolled with the arrow keys; one that fits leaves the tab order alone.
const scrollBoxes = () => document.querySelectorAll(".table-scroll, .chart-box").forEach((box) => {
  if (box.scrollWidth > box.clientWidth) box.setAttribute("tabindex", "0"); else box.removeAttribute("tabindex");
});
document.addEventListener("DOMContentLoaded", scrollBoxes);
window.addEventListener("resize", scrollBoxes);
document.addEventListener("htmx:afterSettle", scrollBoxes);
