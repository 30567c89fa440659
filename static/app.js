// Small improvements; every page works without this file.
document.addEventListener("DOMContentLoaded", () => {
  // Filter forms apply as soon as a choice changes.
  document.querySelectorAll("form[data-autosubmit] select").forEach((select) => {
    select.addEventListener("change", () => select.form.requestSubmit());
  });
  // A live character count for capped statements (counted as the server counts).
  document.querySelectorAll("textarea[data-cap]").forEach((area) => {
    const note = document.querySelector(`[data-counter-for="${area.name}"]`);
    const cap = Number(area.dataset.cap);
    const update = () => {
      const used = [...area.value.replace(/\r\n?/g, "\n").trim()].length;
      if (note) note.textContent = `${used} / ${cap}`;
      area.classList.toggle("over", used > cap);
    };
    area.addEventListener("input", update);
    update();
  });
});
