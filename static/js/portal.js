// Progressive enhancement only: every page works without script (CSP forbids inline script).
document.addEventListener("DOMContentLoaded", () => {
  // Confirmation for buttons that end something irreversible (data-confirm="…").
  document.querySelectorAll("[data-confirm]").forEach((el) => {
    el.addEventListener("click", (event) => {
      if (!window.confirm(el.getAttribute("data-confirm"))) event.preventDefault();
    });
  });
  // Close the user menu when clicking elsewhere.
  document.addEventListener("click", (event) => {
    document.querySelectorAll("details.user-menu[open]").forEach((d) => {
      if (!d.contains(event.target)) d.removeAttribute("open");
    });
  });
});
