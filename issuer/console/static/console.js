// Staff console: the few things a server-rendered page cannot do. Loaded with `defer`; every page
// works without it (links and forms are plain HTML).
"use strict";

document.addEventListener("click", async (event) => {
  const button = event.target.closest("button.copy");
  if (!button) return;
  const source = document.querySelector(button.dataset.copy);
  const status = document.querySelector(".copy-status");
  if (!source) return;
  try {
    await navigator.clipboard.writeText(source.value);
  } catch {
    source.select();
    document.execCommand("copy");
  }
  if (status) status.textContent = button.dataset.done || "";
});

// Inline validation of issue forms: the browser's own constraint checks, shown next to each field
// in the page's language (the server checks everything again and shows its messages the same way).
document.querySelectorAll("form.issue-form").forEach((form) => {
  const message = (input) => {
    const lang = document.documentElement.lang;
    const es = lang !== "en";
    const v = input.validity;
    if (v.valueMissing) return es ? "Falta este dato obligatorio." : "This field is required.";
    if (v.patternMismatch) return es ? "El formato no es válido." : "The format is not valid.";
    if (v.tooLong) return es ? "Es demasiado largo." : "It is too long.";
    if (v.rangeOverflow && input.type === "date") return es ? "La fecha no puede ser posterior a hoy." : "The date cannot be after today.";
    if (v.rangeUnderflow || v.rangeOverflow) return es ? "Está fuera del rango permitido." : "It is out of the allowed range.";
    if (v.badInput || v.typeMismatch || v.stepMismatch) return es ? "El valor no es válido." : "The value is not valid.";
    return "";
  };
  // Document numbers as officers type them ("V-12.345.678"), written the way the server stores them
  // (issuer/documents.py): no spaces or dots, capitals, a V/E prefix joined to the number.
  const normalize = (input) => {
    if (input.dataset.normalize !== "document" || !input.value) return;
    input.value = input.value.replace(/[\s.]+/g, "").toUpperCase().replace(/^([VE])-?(?=[0-9])/, "$1");
  };
  const show = (input) => {
    normalize(input);
    const error = document.getElementById("e-" + input.name);
    if (!error) return true;
    const text = message(input);
    error.textContent = text;
    error.hidden = !text;
    if (text) input.setAttribute("aria-invalid", "true"); else input.removeAttribute("aria-invalid");
    return !text;
  };
  form.querySelectorAll("input").forEach((input) => input.addEventListener("blur", () => show(input)));
  form.addEventListener("submit", (event) => {
    let first = null;
    form.querySelectorAll("input:not([type=hidden])").forEach((input) => {
      if (!show(input) && !first) first = input;
    });
    if (first) { event.preventDefault(); first.focus(); }
  });
});
