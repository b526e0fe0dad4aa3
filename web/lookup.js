// The deal-status lookup: POSTs the form's fields as {"match": {...}} and shows the deal, or
// what went wrong, in Japanese and English. The IDs travel in the JSON body, never in the
// URL, because URLs end up in access logs, browser history and Referer headers.
"use strict";

(() => {
  const page = globalThis.sekishoPage;
  const form = document.getElementById("lookup");
  const status = document.getElementById("status");
  const results = document.getElementById("results");
  const resultsTitle = document.getElementById("results-title");
  const table = document.getElementById("records");
  const headRow = table.querySelector("tr");
  const body = table.querySelector("tbody");
  const declared = Array.from(headRow.querySelectorAll("th"));
  const problem = page.problemBox(document.getElementById("problem"));
  const endpoint = "/views/" + encodeURIComponent(form.dataset.view);

  // One answer for every miss: the relay does not say which value was wrong, nor does the page.
  const NOT_FOUND = {
    ja: "一致する取引はありません。担当IDと取引IDをご確認のうえ、もう一度お試しください。",
    en: "No deal matched. Check the owner ID and the deal ID, then try again.",
  };
  const UNAVAILABLE = {
    ja: "取引の記録を一時的に参照できません（メンテナンス中など）。数分後に、もう一度お試しください。",
    en: "The deal records cannot be reached just now (for example, during maintenance). Please try again in a few minutes.",
  };
  const SWITCHED_OFF = {
    ja: "この照会は現在停止しています。ご不明な点は担当者にお問い合わせください。",
    en: "This lookup is switched off for now. Please ask your contact person.",
  };
  const LOOKING_UP = { ja: "照会しています…", en: "Looking up…" };
  const TRY_AGAIN = { ja: "もう一度お試しください。", en: "Please try again." };
  const found = (n) => ({
    ja: `${n} 件の取引が見つかりました。`,
    en: n === 1 ? "1 deal found." : `${n} deals found.`,
  });
  const join = (a, b) => ({ ja: a.ja + b.ja, en: `${a.en} ${b.en}` });

  let sending = false;

  const clearOutcome = () => {
    page.say(status, null);
    problem.clear();
    page.clearFieldErrors(form);
    results.hidden = true;
    headRow.replaceChildren(...declared);
    body.replaceChildren();
  };

  const grouped = (text) => {
    const [whole, fraction] = text.split(".");
    const digits = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
    return fraction === undefined ? digits : `${digits}.${fraction}`;
  };

  const format = (value, column) => {
    if (value === null || value === undefined) return "";
    if (Array.isArray(value)) return value.map((each) => format(each, {})).join(", ");
    if (typeof value === "object") return JSON.stringify(value);
    const text = String(value);
    return column.number && /^-?\d+(\.\d+)?$/.test(text) ? grouped(text) : text;
  };

  const cell = (tag, text) => {
    const element = document.createElement(tag);
    // Set as text: record values are data, never markup.
    element.textContent = text;
    return element;
  };

  // The declared columns, then one for any other field the relay sent.
  const columnsFor = (records) => {
    const known = declared.map((th) => th.dataset.field);
    const extra = [...new Set(records.flatMap((record) => Object.keys(record)))].filter(
      (field) => !known.includes(field),
    );
    const extraHeads = extra.map((field) => {
      const th = cell("th", field);
      th.setAttribute("scope", "col");
      return th;
    });
    headRow.replaceChildren(...declared, ...extraHeads);
    return [
      ...declared.map((th) => ({
        field: th.dataset.field,
        number: th.hasAttribute("data-number"),
      })),
      ...extra.map((field) => ({ field, number: false })),
    ];
  };

  const render = (records) => {
    const columns = columnsFor(records);
    for (const record of records) {
      const row = document.createElement("tr");
      row.append(...columns.map((column) => cell("td", format(record[column.field], column))));
      body.append(row);
    }
    results.hidden = false;
    page.say(status, found(records.length));
    resultsTitle.focus();
  };

  const show = (answer) => {
    if (answer.network) {
      problem.show(join(page.MESSAGES.network, TRY_AGAIN));
      return;
    }
    if (answer.status === 200) {
      const records = answer.body && Array.isArray(answer.body.records) ? answer.body.records : [];
      if (records.length > 0) render(records);
      else problem.show(NOT_FOUND);
      return;
    }
    const errors = answer.body && Array.isArray(answer.body.errors) ? answer.body.errors : [];
    if (answer.status === 400) {
      problem.show(page.MESSAGES.check, page.showFieldErrors(form, "match", errors));
    } else if (answer.status === 404) {
      problem.show(NOT_FOUND);
    } else if (page.whenMessage(answer)) {
      problem.show(page.whenMessage(answer));
    } else if (answer.status === 429) {
      problem.show(page.MESSAGES.rateLimited(answer.retryAfter));
    } else if (answer.status === 503) {
      problem.show(answer.code === "route_disabled" ? SWITCHED_OFF : UNAVAILABLE);
    } else if (answer.status === 413) {
      problem.show(page.MESSAGES.tooLarge);
    } else if (answer.status === 415) {
      problem.show(page.MESSAGES.unsupported);
    } else {
      problem.show(join(page.MESSAGES.failed(answer.status), TRY_AGAIN));
    }
  };

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (sending) return;
    sending = true;
    clearOutcome();
    const match = {};
    for (const input of page.inputsOf(form)) {
      // As typed: the relay matches exactly, so trimming here would hide typos. A blank
      // field is left out, and the relay says it is required.
      if (input.value !== "") match[input.name] = input.value;
    }
    page.setBusy(form, true);
    page.say(status, LOOKING_UP);
    try {
      const answer = await page.post(endpoint, JSON.stringify({ match }), { timeoutMs: 30000 });
      page.say(status, null);
      page.setBusy(form, false);
      show(answer);
    } finally {
      page.setBusy(form, false);
      sending = false;
    }
  });
})();
