// The seminar application: sends the form's fields as {"fields": {...}} JSON, with the CV
// read into base64, and shows the receipt or the relay's per-field errors. Every attempt
// of one filled-in form carries the same Idempotency-Key, so retrying after a lost answer
// returns the first answer instead of recording the application twice.
"use strict";

(() => {
  const form = document.getElementById("apply");
  const status = document.getElementById("status");
  const receiptLine = document.getElementById("receipt-line");
  const receipt = document.getElementById("receipt");
  const errorList = document.getElementById("errors");
  const button = form.querySelector("button");
  const endpoint = "/forms/" + encodeURIComponent(form.dataset.form);
  // Answers worth retrying with the same key: the relay may not have seen the request, or
  // it is still working on it.
  const RETRYABLE = new Set([409, 429, 500, 502, 503, 504]);
  let idempotencyKey = null;

  const show = (message) => {
    status.textContent = message;
  };

  const inputs = () => Array.from(form.querySelectorAll("input[name]"));

  const labelOf = (input) =>
    input.labels && input.labels.length > 0 ? input.labels[0].textContent : input.name;

  const clearOutcome = () => {
    receiptLine.hidden = true;
    receipt.textContent = "";
    errorList.hidden = true;
    errorList.replaceChildren();
    for (const input of inputs()) input.removeAttribute("aria-invalid");
  };

  const listErrors = (errors) => {
    const byName = new Map(inputs().map((input) => [input.name, input]));
    for (const error of errors) {
      // "/fields/<name>" (or deeper, for one file of several)
      const name = String(error.pointer || "").split("/")[2] || "";
      const input = byName.get(name);
      if (input) input.setAttribute("aria-invalid", "true");
      const item = document.createElement("li");
      // As text: a detail is data from the network, never markup.
      item.textContent = `${input ? labelOf(input) : name || "Form"}: ${error.detail || error.code}`;
      errorList.append(item);
    }
    errorList.hidden = errorList.children.length === 0;
  };

  const readAsBase64 = (file) =>
    new Promise((resolve, reject) => {
      const reader = new FileReader();
      reader.onload = () => {
        const url = String(reader.result); // data:<type>;base64,<data>
        resolve(url.slice(url.indexOf(",") + 1));
      };
      reader.onerror = () => reject(reader.error);
      reader.readAsDataURL(file);
    });

  // The value as typed: the relay normalises (NFC, trimming) and validates. An empty
  // optional field is left out; the honeypot is sent only when something filled it.
  const valueOf = async (input) => {
    if (input.type === "file") {
      const files = Array.from(input.files || []);
      if (files.length === 0) return undefined;
      return Promise.all(
        files.map(async (file) => ({
          filename: file.name,
          content_type: file.type || "application/octet-stream",
          data: await readAsBase64(file),
        })),
      );
    }
    if (input.value === "") return undefined;
    if (input.type === "number") {
      const number = Number(input.value);
      return Number.isFinite(number) ? number : input.value;
    }
    return input.value;
  };

  // A courtesy before uploading megabytes for nothing; the relay decides.
  const oversized = () =>
    inputs().find(
      (input) =>
        input.type === "file" &&
        input.dataset.maxBytes &&
        Array.from(input.files || []).some((file) => file.size > Number(input.dataset.maxBytes)),
    );

  const problemTitle = (problem, statusCode) => {
    if (problem && typeof problem.title === "string") return problem.title;
    if (problem && typeof problem.message === "string") return problem.message;
    return `The application failed (HTTP ${statusCode}).`;
  };

  const readJson = async (response) => {
    try {
      return await response.json();
    } catch {
      return null;
    }
  };

  const send = async (fields) => {
    idempotencyKey = idempotencyKey || crypto.randomUUID();
    let response;
    try {
      response = await fetch(endpoint, {
        method: "POST",
        headers: {
          "Content-Type": "application/json",
          Accept: "application/json",
          "Idempotency-Key": idempotencyKey,
        },
        body: JSON.stringify({ fields }),
        credentials: "omit",
        cache: "no-store",
        referrerPolicy: "no-referrer",
      });
    } catch {
      show("The relay could not be reached. Your answers are kept: press Apply to try again.");
      return;
    }
    const answer = await readJson(response);
    if ((response.status === 201 || response.status === 202) && answer && answer.receipt) {
      // Done: the next application is a new one, with a new key.
      idempotencyKey = null;
      form.reset();
      receipt.textContent = String(answer.receipt);
      receiptLine.hidden = false;
      show(
        answer.status === "queued"
          ? "Thank you. Your application is queued: it is safe with us and will be recorded shortly."
          : "Thank you. Your application is recorded.",
      );
      return;
    }
    const retry = RETRYABLE.has(response.status) ? " Press Apply to try again." : "";
    show(problemTitle(answer, response.status) + retry);
    if (answer && Array.isArray(answer.errors)) listErrors(answer.errors);
  };

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearOutcome();
    const tooLarge = oversized();
    if (tooLarge) {
      tooLarge.setAttribute("aria-invalid", "true");
      show(`${labelOf(tooLarge)}: the file is larger than ${tooLarge.dataset.maxBytes} bytes.`);
      return;
    }
    button.disabled = true;
    show("Sending…");
    try {
      const fields = {};
      for (const input of inputs()) {
        const value = await valueOf(input);
        if (value !== undefined) fields[input.name] = value;
      }
      await send(fields);
    } catch {
      show("A file could not be read. Choose it again and press Apply.");
    } finally {
      button.disabled = false;
    }
  });
})();
