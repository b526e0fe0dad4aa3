// The deal-status lookup: POSTs the form's fields as {"match": {...}} and shows the records,
// or the problem's title. The IDs travel in the JSON body, never in the URL, because URLs
// end up in access logs, browser history and Referer headers.
"use strict";

(() => {
  const form = document.getElementById("lookup");
  const status = document.getElementById("status");
  const table = document.getElementById("records");
  const headRow = table.tHead.rows[0];
  const body = table.tBodies[0];
  const endpoint = "/views/" + encodeURIComponent(form.dataset.view);

  const show = (message) => {
    status.textContent = message;
  };

  const clearRecords = () => {
    table.hidden = true;
    headRow.replaceChildren();
    body.replaceChildren();
  };

  const cell = (tag, text) => {
    const element = document.createElement(tag);
    // Set as text: record values are data, never markup.
    element.textContent = text;
    return element;
  };

  const format = (value) => {
    if (value === null || value === undefined) return "";
    if (Array.isArray(value)) return value.join(", ");
    return String(value);
  };

  const render = (records) => {
    clearRecords();
    if (records.length === 0) {
      show("No matching records.");
      return;
    }
    const columns = [...new Set(records.flatMap((record) => Object.keys(record)))];
    headRow.append(...columns.map((column) => cell("th", column)));
    for (const record of records) {
      const row = document.createElement("tr");
      row.append(...columns.map((column) => cell("td", format(record[column]))));
      body.append(row);
    }
    table.hidden = false;
    show(records.length === 1 ? "1 record." : `${records.length} records.`);
  };

  // A problem document from the relay has a title; API Gateway's own answers a message.
  const problemTitle = async (response) => {
    try {
      const problem = await response.json();
      if (problem && typeof problem.title === "string") return problem.title;
      if (problem && typeof problem.message === "string") return problem.message;
    } catch {
      // not JSON: fall through to the status
    }
    return `The lookup failed (HTTP ${response.status}).`;
  };

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    // Sent exactly as typed: the relay matches exactly, so trimming here would hide typos.
    const match = Object.fromEntries(new FormData(form));
    const button = form.querySelector("button");
    button.disabled = true;
    clearRecords();
    show("Looking up…");
    try {
      const response = await fetch(endpoint, {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "application/json" },
        body: JSON.stringify({ match }),
        credentials: "omit",
        cache: "no-store",
        referrerPolicy: "no-referrer",
      });
      if (response.ok) {
        const answer = await response.json();
        render(Array.isArray(answer.records) ? answer.records : []);
      } else {
        show(await problemTitle(response));
      }
    } catch {
      show("The relay could not be reached.");
    } finally {
      button.disabled = false;
    }
  });
})();
