// Reports: editing a date of the range form switches its range to "Custom".
document.addEventListener("input", (event) => {
  const input = event.target;
  if (!input.matches(".report-filters input[type=date]")) return;
  const range = input.form.elements.range;
  if (range) range.value = "custom";
});
