// CON-4 progressive enhancement: the all-documents box unlocks once every
// document link was clicked. The server checks the openings again.
document.addEventListener("DOMContentLoaded", () => {
  const box = document.getElementById("documents_confirmed");
  if (!box || !box.dataset.needsAllDocs) return;
  const links = Array.from(document.querySelectorAll("a.doc-link"));
  const opened = new Set(Array.from(document.querySelectorAll("a.doc-link + .badge"))
    .map((b) => b.previousElementSibling.dataset.doc));
  const update = () => {
    if (links.every((l) => opened.has(l.dataset.doc))) {
      box.disabled = false;
      const hint = document.getElementById("docs-hint");
      if (hint) hint.remove();
    }
  };
  links.forEach((l) => l.addEventListener("click", () => { opened.add(l.dataset.doc); setTimeout(update, 300); }));
  update();
});
