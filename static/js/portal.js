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
  // Esc closes an open menu and gives focus back to its button (WCAG 2.1.2, 1.4.13).
  document.addEventListener("keydown", (event) => {
    if (event.key !== "Escape") return;
    document.querySelectorAll("details.user-menu[open]").forEach((d) => {
      d.removeAttribute("open");
      const summary = d.querySelector("summary");
      if (summary && d.contains(document.activeElement)) summary.focus();
    });
  });
  // A refused form: focus goes to the error summary (or the form's own message)
  // so a screen reader reads it and the keyboard starts there (WCAG 3.3.1, 2.4.3).
  const summary = document.querySelector("#error-summary, .form-error, .flash-error[role=alert]");
  if (summary) {
    if (!summary.hasAttribute("tabindex")) summary.setAttribute("tabindex", "-1");
    summary.focus();
  }
  // A link in the summary moves focus into its field (not just scrolls to it).
  document.querySelectorAll("#error-summary a[href^='#']").forEach((link) => {
    link.addEventListener("click", (event) => {
      const name = link.getAttribute("href").slice(1);
      // A radio group has no element of its name's id: its first option takes focus.
      const field = document.getElementById(name) || document.querySelector(`[name="${CSS.escape(name)}"]`);
      if (!field) return;
      event.preventDefault();
      field.focus();
    });
  });
});
