// Admin pages: "select page" ticks every turn box; risky controls ask before posting.
"use strict";
(function () {
  const all = document.getElementById("select-all");
  if (all) {
    all.addEventListener("change", () => {
      document.querySelectorAll('input[name="turn_id"]').forEach((box) => {
        box.checked = all.checked;
      });
    });
  }
  document.querySelectorAll("form[data-confirm]").forEach((form) => {
    form.addEventListener("submit", (event) => {
      if (!window.confirm(form.dataset.confirm)) event.preventDefault();
    });
  });
})();
