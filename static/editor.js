// The plan editor, made quicker: the schedule a duty's form writes, previewed as it is
// chosen; buttons that add rows; points that say whether they add up as they are typed.
// Every page works without this file (plain forms, full page loads).
document.addEventListener("DOMContentLoaded", () => {
  const editable = (el) => !el.closest("fieldset[disabled]");

  // What cannot be undone asks first.
  document.querySelectorAll("form[data-confirm]").forEach((form) => {
    form.addEventListener("submit", (event) => {
      if (!window.confirm(form.dataset.confirm)) event.preventDefault();
    });
  });

  // Lists of rows (phases, evidence, marks, minimums): "Add" clones the row template.
  document.querySelectorAll("[data-rows]").forEach((container) => {
    const name = container.dataset.rows;
    const template = document.querySelector(`template[data-row-template="${name}"]`);
    if (!template || !editable(container)) return;
    const pattern = new RegExp(`^${name}-(\\d+)-`);
    let next = 0;
    container.querySelectorAll("[name]").forEach((el) => {
      const match = pattern.exec(el.name);
      if (match) next = Math.max(next, Number(match[1]) + 1);
    });
    const button = document.createElement("button");
    button.type = "button";
    button.className = "add-row";
    button.textContent = container.dataset.addLabel;
    button.addEventListener("click", () => {
      container.insertAdjacentHTML("beforeend", template.innerHTML.replaceAll("__index__", String(next++)));
      const row = container.lastElementChild;
      const first = row.querySelector("input:not([type=hidden]), select, textarea");
      if (first) first.focus();
    });
    container.after(button);
  });

  // When a duty falls: show the chosen kind's fields, ask the server what it writes.
  const schedule = document.querySelector("[data-schedule]");
  if (schedule && editable(schedule)) {
    const rrule = schedule.querySelector("[name='schedule-rrule']");
    const was = schedule.querySelector("[name='schedule-rrule_was']");
    const dates = schedule.querySelector("[data-schedule-dates]");
    const error = schedule.querySelector("[data-schedule-error]");
    const kind = () => (schedule.querySelector("[name='schedule-kind']:checked") || {}).value;
    const show = () => schedule.querySelectorAll("[data-when]").forEach((el) => {
      el.hidden = el.dataset.when !== kind();
    });
    let timer;
    let asked = 0;
    const refresh = () => {
      const params = new URLSearchParams();
      schedule.querySelectorAll("[name^='schedule-']").forEach((el) => {
        if (el.type === "radio" && !el.checked) return;
        params.append(el.name, el.value);
      });
      const mine = ++asked;
      fetch(`${schedule.dataset.previewUrl}?${params}`, {headers: {Accept: "application/json"}, credentials: "same-origin"})
        .then((response) => response.json())
        .then((data) => {
          if (mine !== asked) return; // a later answer is on its way
          error.hidden = !data.error;
          error.textContent = data.error || "";
          if (data.error) return;
          if (kind() !== "rrule") {
            // Written by the choices, not by hand: the server takes the choices.
            rrule.value = data.rrule;
            was.value = data.rrule;
          }
          dates.textContent = data.set_by ? dates.dataset.setBy
            : data.dates.map((day) => day.slice(5)).join(", ") || "—";
        })
        .catch(() => {});
    };
    const soon = (delay) => {
      clearTimeout(timer);
      timer = setTimeout(refresh, delay);
    };
    schedule.addEventListener("input", (event) => {
      if (!event.target.name || !event.target.name.startsWith("schedule-")) return;
      if (event.target === rrule) {
        schedule.querySelector("[name='schedule-kind'][value='rrule']").checked = true;
        show();
      }
      soon(300);
    });
    schedule.addEventListener("change", (event) => {
      if (!event.target.name || !event.target.name.startsWith("schedule-")) return;
      show();
      soon(50);
    });
    show();
  }

  // "Recorded by occurrence": its attendance and marks only when it is.
  const byOccurrence = document.querySelector("input[name='by_occurrence']");
  const occurrence = document.querySelector("[data-occurrence]");
  if (byOccurrence && occurrence) {
    const toggle = () => { occurrence.hidden = !byOccurrence.checked; };
    byOccurrence.addEventListener("change", toggle);
    toggle();
  }

  // The rubric: each group's and item's points beside the sum of those below it.
  const tree = document.querySelector("table.tree");
  if (tree) {
    const total = document.querySelector("input[name='total']");
    const parentOf = (path) => (path.includes("/") ? path.slice(0, path.lastIndexOf("/")) : "");
    const update = () => {
      tree.closest("form").querySelectorAll("[data-sum-for]").forEach((note) => {
        const path = note.dataset.sumFor;
        let sum = 0;
        tree.querySelectorAll("input.points[data-path]").forEach((input) => {
          const removed = input.closest("tr").querySelector("input[name$='-remove']");
          if (parentOf(input.dataset.path) === path && !(removed && removed.checked)) sum += Number(input.value) || 0;
        });
        const own = path ? tree.querySelector(`input.points[data-path="${path}"]`) : total;
        const fits = own && own.value !== "" && Number(own.value) === sum;
        note.classList.toggle("mismatch", !fits);
        note.textContent = fits ? tree.dataset.addsUp : tree.dataset.below.replace("{sum}", String(sum));
      });
    };
    tree.closest("form").addEventListener("input", update);
    tree.closest("form").addEventListener("change", update);
  }
});
