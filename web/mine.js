// "Your applications": the signed-in visitor's own seminar applications (POST
// /views/my-applications, then {"cursor": next} for more), each with an edit form (PATCH
// .../entries/<ref> with If-Match: <revision>) and a cancel button that asks first (POST
// .../entries/<ref>/cancel), the files sent with it (履歴書), each with a download button
// (GET of the relay link the view gave, saved from a Blob), and a sign-out button. The
// session is an HttpOnly cookie the browser sends to this origin only; the page holds no
// token, and keeps each application's opaque ref and revision, and its files' links, in
// memory only. What went wrong is told by the problem's code.
"use strict";

(() => {
  const page = globalThis.sekishoPage;
  const VIEW_URL = "/views/my-applications";
  const SESSION_URL = "/sessions/applicants";
  const SIGN_IN_PAGE = "signin.html";
  const entryUrl = (ref) => `/forms/seminar-apply/entries/${encodeURIComponent(ref)}`;
  // The view's fields, in the table's order; 受付ID heads its row. Then its FILE field, listed
  // as [{name, size, href}]: href is a relay link relative to the view's URL, for this
  // session only and for five minutes.
  const FIELDS = ["受付ID", "氏名", "人数", "支払状況", "申込状況"];
  const FILE_FIELD = "履歴書";
  const COLUMNS = FIELDS.length + 2; // the fields, the files and the actions
  // How long a saved file's object URL outlives the click that saves it.
  const REVOKE_AFTER_MS = 10000;
  // The policy's lock (policy.yaml, forms.seminar-apply.editable): the page mirrors it so as
  // not to offer what the relay would refuse; the relay decides (409 entry_locked).
  const CANCELLED = "キャンセル";
  const PAID = "支払済";

  const list = document.getElementById("list");
  const listTitle = document.getElementById("list-title");
  const table = document.getElementById("applications");
  const empty = document.getElementById("empty");
  const more = document.getElementById("more");
  const signOut = document.getElementById("sign-out");
  const signedOut = document.getElementById("signed-out");
  const signedOutTitle = document.getElementById("signed-out-title");
  const status = document.getElementById("status");
  const reloadLine = document.getElementById("problem-reload");
  const reload = document.getElementById("reload");
  const problem = page.problemBox(document.getElementById("problem"));

  const LOADING = { ja: "読み込んでいます…", en: "Loading…" };
  const showing = (n) => ({
    ja: `${n} 件のお申し込みを表示しています。`,
    en: n === 1 ? "Showing 1 application." : `Showing ${n} applications.`,
  });
  const SIGN_IN_NEEDED = {
    ja: "お申し込みを確認するには、ログインしてください。",
    en: "Please sign in to see your applications.",
  };
  const SESSION_ENDED = {
    ja: "ログインの有効期限が切れたか、ログアウトしています。もう一度ログインしてください。",
    en: "Your sign-in has expired or ended. Please sign in again.",
  };
  const SAVING = { ja: "変更を保存しています…", en: "Saving your changes…" };
  const SAVED = { ja: "変更を保存しました。", en: "Your changes are saved." };
  const UNCHANGED = { ja: "変更された項目はありません。", en: "Nothing was changed." };
  const CANCELLING = { ja: "お申し込みを取り消しています…", en: "Cancelling the application…" };
  const CANCEL_DONE = { ja: "お申し込みを取り消しました。", en: "The application is cancelled." };
  const SIGNING_OUT = { ja: "ログアウトしています…", en: "Signing out…" };
  const CHANGED_ELSEWHERE = {
    ja: "このお申し込みは、ほかの画面などで変更されています。一覧を読み込み直してから、もう一度お試しください。",
    en: "This application was changed elsewhere. Reload the list, then try again.",
  };
  const LOCKED = {
    ja: "このお申し込みは、お支払い済みか取り消し済みのため、変更できません。",
    en: "This application can no longer be changed: it is paid for or cancelled.",
  };
  const NOT_FOUND = {
    ja: "このお申し込みは見つかりませんでした。一覧を読み込み直してください。",
    en: "This application could not be found. Please reload the list.",
  };
  const CURSOR_INVALID = {
    ja: "続きを読み込めませんでした。一覧を読み込み直してください。",
    en: "The rest of the list could not be loaded. Please reload the list.",
  };
  const ORIGIN_REFUSED = {
    ja: "このページからの送信は受け付けられませんでした。ページを再読み込みしてから、もう一度お試しください。",
    en: "The request was refused because of where it came from. Reload the page and try again.",
  };
  const UNAVAILABLE = {
    ja: "お申し込みの記録を一時的に参照・変更できません（メンテナンス中など）。数分後に、もう一度お試しください。",
    en: "The applications cannot be reached just now (for example, during maintenance). Please try again in a few minutes.",
  };
  const FILE_GONE = {
    ja: "このファイルは、もう取り出せません。一覧を読み込み直してください。",
    en: "The file is no longer available: reload the list.",
  };
  const FILE_TOO_LARGE = {
    ja: "このファイルは大きすぎるため、このページからは取り出せません。",
    en: "This file is too large to download from this page.",
  };
  const NO_FILES = { ja: "なし", en: "None" };
  const downloading = (name) => ({
    ja: `${name} を取り出しています…`,
    en: `Downloading ${name}…`,
  });
  const downloaded = (name) => ({
    ja: `${name} をダウンロードしました。`,
    en: `Downloaded ${name}.`,
  });
  const TRY_AGAIN = { ja: "もう一度お試しください。", en: "Please try again." };
  const LOCKED_CANCELLED = { ja: "取り消し済み", en: "Cancelled" };
  const LOCKED_PAID = { ja: "お支払い済みのため変更不可", en: "Paid: cannot be changed" };
  const join = (a, b) => ({ ja: a.ja + b.ja, en: `${a.en} ${b.en}` });

  let next = null; // the cursor of the next page, or null
  let busy = false; // one request at a time
  let serial = 0; // for unique ids in each application's forms

  // -- small DOM helpers -------------------------------------------------------------------

  const element = (tag, attributes = {}, message = null) => {
    const made = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes)) made.setAttribute(name, value);
    if (message) page.say(made, message);
    return made;
  };

  const button = (message, attributes = {}) =>
    element("button", { type: "button", ...attributes }, message);

  const text = (value) => {
    if (value === null || value === undefined) return "";
    if (Array.isArray(value)) return value.map(text).join(", ");
    if (typeof value === "object") return JSON.stringify(value);
    return String(value);
  };

  // A file's size as people read it: bytes in each language, else KB or MB (of 1024) with
  // one decimal, which read the same in both.
  const sizeOf = (bytes) => {
    if (bytes < 1024) {
      return { ja: `${bytes} バイト`, en: bytes === 1 ? "1 byte" : `${bytes} bytes` };
    }
    const [amount, unit] = bytes < 1048576 ? [bytes / 1024, "KB"] : [bytes / 1048576, "MB"];
    return `${(Math.round(amount * 10) / 10).toFixed(1)} ${unit}`; // the same in both
  };

  // The files as the view lists them; anything not of that shape is left out.
  const filesOf = (value) =>
    Array.isArray(value)
      ? value
          .filter(
            (file) =>
              file &&
              typeof file === "object" &&
              typeof file.name === "string" &&
              typeof file.href === "string" &&
              file.href !== "",
          )
          .map((file) => ({
            name: file.name,
            href: file.href,
            size: Number.isSafeInteger(file.size) && file.size >= 0 ? file.size : null,
          }))
      : [];

  // A link resolves against the view's own URL; only one on this origin, under /views/, is
  // followed (the cookie is sent to no other place anyway).
  const fileUrl = (href) => {
    const base = new URL(VIEW_URL, window.location.origin);
    let url;
    try {
      url = new URL(href, base);
    } catch {
      return null;
    }
    return url.origin === base.origin && url.pathname.startsWith("/views/") ? url : null;
  };

  // Hands the bytes to the browser's downloads under the listed name: a click on a link to
  // an object URL is a download, not a fetch, so the page's connect-src does not apply.
  const save = (blob, name) => {
    const objectUrl = URL.createObjectURL(blob);
    const link = document.createElement("a");
    link.href = objectUrl;
    link.download = name;
    link.hidden = true;
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(objectUrl), REVOKE_AFTER_MS);
  };

  const lockOf = (values) => {
    if (values["申込状況"] === CANCELLED) return LOCKED_CANCELLED;
    if (values["支払状況"] === PAID) return LOCKED_PAID;
    return null;
  };

  // -- what went wrong ---------------------------------------------------------------------

  const clearOutcome = () => {
    page.say(status, null);
    problem.clear();
    reloadLine.hidden = true;
  };

  const showProblem = (message, { items = [], offerReload = false } = {}) => {
    reloadLine.hidden = !offerReload;
    problem.show(message, items);
  };

  const askToSignIn = (code) => {
    clearOutcome();
    list.hidden = true;
    page.say(signedOutTitle, code === "session_required" ? SIGN_IN_NEEDED : SESSION_ENDED);
    signedOut.hidden = false;
    signedOut.focus();
  };

  // What any of the page's requests may meet; true when it was shown.
  const commonFailure = (answer) => {
    if (answer.network) {
      showProblem(join(page.MESSAGES.network, TRY_AGAIN));
    } else if (answer.status === 401) {
      askToSignIn(answer.code);
    } else if (answer.code === "origin_refused") {
      showProblem(ORIGIN_REFUSED);
    } else if (page.whenMessage(answer)) {
      showProblem(page.whenMessage(answer));
    } else if (answer.status === 429) {
      showProblem(page.MESSAGES.rateLimited(answer.retryAfter));
    } else if (answer.status === 503) {
      showProblem(UNAVAILABLE);
    } else if (answer.status === 413) {
      showProblem(page.MESSAGES.tooLarge);
    } else if (answer.status === 415) {
      showProblem(page.MESSAGES.unsupported);
    } else {
      return false;
    }
    return true;
  };

  // An edit or a cancel the relay refused.
  const entryRefused = (answer, form) => {
    if (answer.code === "revision_mismatch" || answer.status === 412) {
      showProblem(CHANGED_ELSEWHERE, { offerReload: true });
    } else if (answer.code === "entry_locked" || answer.status === 409) {
      showProblem(LOCKED, { offerReload: true });
    } else if (answer.code === "not_found" || answer.status === 404) {
      showProblem(NOT_FOUND, { offerReload: true });
    } else if (answer.status === 400 && form) {
      const errors = answer.body && Array.isArray(answer.body.errors) ? answer.body.errors : [];
      showProblem(page.MESSAGES.check, { items: page.showFieldErrors(form, "fields", errors) });
    } else if (!commonFailure(answer)) {
      showProblem(join(page.MESSAGES.failed(answer.status), TRY_AGAIN), { offerReload: true });
    }
  };

  // -- its files ---------------------------------------------------------------------------

  const downloadFile = async (file, trigger) => {
    if (busy) return;
    clearOutcome();
    const url = fileUrl(file.href);
    if (url === null) {
      showProblem(FILE_GONE, { offerReload: true });
      return;
    }
    busy = true;
    trigger.disabled = true;
    page.say(status, downloading(file.name));
    let answer;
    try {
      answer = await page.fetchFile(url.href);
    } finally {
      page.say(status, null);
      trigger.disabled = false;
      busy = false;
    }
    if (answer.status === 200 && answer.blob) {
      save(answer.blob, file.name);
      page.say(status, downloaded(file.name));
      trigger.focus();
      return;
    }
    // The link lives five minutes and only while the record still shows the file.
    if (answer.code === "not_found" || answer.status === 404) {
      showProblem(FILE_GONE, { offerReload: true });
    } else if (answer.code === "file_too_large" || answer.status === 413) {
      showProblem(FILE_TOO_LARGE);
    } else if (!commonFailure(answer)) {
      showProblem(join(page.MESSAGES.failed(answer.status), TRY_AGAIN), { offerReload: true });
    }
  };

  // Each file: its name and size as text, and a button described by the name (so that two
  // files' buttons are told apart).
  const showFiles = (cell, files, n) => {
    if (files.length === 0) {
      page.say(cell, NO_FILES);
      return;
    }
    const items = element("ul", { class: "file-list" });
    files.forEach((file, index) => {
      const item = element("li");
      const name = element("span", { id: `file-${n}-${index}`, class: "file-name" });
      name.textContent = file.name;
      item.append(name);
      if (file.size !== null) {
        const size = element("span", { class: "file-size" });
        const shown = sizeOf(file.size);
        if (typeof shown === "string") size.textContent = shown;
        else page.say(size, shown);
        item.append(" ", size);
      }
      const get = button(
        { ja: "ダウンロード", en: "Download" },
        { class: "secondary", "aria-describedby": name.id },
      );
      get.addEventListener("click", () => downloadFile(file, get));
      item.append(get);
      items.append(item);
    });
    cell.append(items);
  };

  // -- one application ---------------------------------------------------------------------

  const field = (id, label, attributes, hint = null) => {
    const wrap = element("div", { class: "field" });
    const labelElement = element("label", { for: id }, label);
    wrap.append(labelElement);
    const described = [];
    if (hint) {
      wrap.append(element("p", { id: `${id}-hint`, class: "hint" }, hint));
      described.push(`${id}-hint`);
    }
    const error = element("p", { id: `${id}-error`, class: "field-error" });
    error.hidden = true;
    const input = element("input", { id, ...attributes });
    if (described.length > 0) input.setAttribute("aria-describedby", described.join(" "));
    wrap.append(error, input);
    return { wrap, input };
  };

  const addApplication = (record) => {
    const n = ++serial;
    const entry = {
      ref: text(record.ref),
      revision: text(record.revision),
      values: Object.fromEntries(FIELDS.map((name) => [name, text(record[name])])),
    };
    const group = element("tbody", { class: "application" });

    // The row: the view's fields as text, never as markup, then the actions.
    const row = element("tr", { class: "record" });
    const cells = FIELDS.map((name, index) =>
      index === 0 ? element("th", { scope: "row", tabindex: "-1" }) : element("td"),
    );
    const filesCell = element("td", { class: "files" });
    const actions = element("td", { class: "actions" });
    row.append(...cells, filesCell, actions);

    // The edit form, under its row until closed.
    const editRow = element("tr", { class: "edit", id: `edit-${n}` });
    editRow.hidden = true;
    const editCell = element("td", { colspan: String(COLUMNS) });
    const form = element("form", { class: "edit-form", novalidate: "", "aria-labelledby": `edit-${n}-title` });
    const title = element("h3", { id: `edit-${n}-title` });
    const name = field(`name-${n}`, { ja: "氏名", en: "Name" }, {
      name: "name",
      maxlength: "100",
      autocomplete: "name",
    });
    const seats = field(
      `seats-${n}`,
      { ja: "人数", en: "Seats" },
      { name: "seats", type: "number", min: "1", max: "5", step: "1", inputmode: "numeric" },
      { ja: "1〜5 名", en: "1 to 5" },
    );
    const save = element("button", { type: "submit" }, { ja: "保存する", en: "Save" });
    const close = button({ ja: "閉じる", en: "Close" }, { class: "secondary" });
    const editButtons = element("div", { class: "buttons" });
    editButtons.append(save, close);
    form.append(title, name.wrap, seats.wrap, editButtons);
    editCell.append(form);
    editRow.append(editCell);

    // The question before cancelling: in the page, so that it reads in both languages and
    // can be answered by keyboard like everything else.
    const confirmRow = element("tr", { class: "confirm", id: `confirm-${n}` });
    confirmRow.hidden = true;
    const confirmCell = element("td", { colspan: String(COLUMNS) });
    const question = element("p", { id: `confirm-${n}-question`, class: "question", tabindex: "-1" });
    const yes = button({ ja: "取り消す", en: "Yes, cancel it" }, { class: "danger" });
    const keep = button({ ja: "取り消さない", en: "No, keep it" }, { class: "secondary" });
    const confirmButtons = element("div", {
      class: "buttons",
      role: "group",
      "aria-labelledby": question.id,
    });
    confirmButtons.append(yes, keep);
    confirmCell.append(question, confirmButtons);
    confirmRow.append(confirmCell);

    group.append(row, editRow, confirmRow);

    const edit = button({ ja: "変更", en: "Edit" }, {
      "aria-expanded": "false",
      "aria-controls": editRow.id,
      class: "secondary",
    });
    const cancel = button({ ja: "取り消し", en: "Cancel" }, {
      "aria-expanded": "false",
      "aria-controls": confirmRow.id,
      class: "secondary",
    });

    const receipt = () => entry.values["受付ID"];
    const paint = () => {
      FIELDS.forEach((name, index) => {
        cells[index].textContent = entry.values[name];
      });
      const lock = lockOf(entry.values);
      if (lock) {
        actions.replaceChildren(element("span", { class: "locked" }, lock));
        editRow.hidden = true;
        confirmRow.hidden = true;
      } else {
        actions.replaceChildren(edit, cancel);
      }
      page.say(title, {
        ja: `お申し込み ${receipt()} の変更`,
        en: `Change application ${receipt()}`,
      });
      page.say(question, {
        ja: `お申し込み ${receipt()} を取り消しますか？ 取り消すと元に戻せません。`,
        en: `Cancel application ${receipt()}? This cannot be undone.`,
      });
    };

    const setOpen = (which) => {
      editRow.hidden = which !== "edit";
      confirmRow.hidden = which !== "confirm";
      edit.setAttribute("aria-expanded", String(which === "edit"));
      cancel.setAttribute("aria-expanded", String(which === "confirm"));
    };

    const setRowBusy = (on) => {
      for (const each of [edit, cancel, yes, keep]) each.disabled = on;
      page.setBusy(form, on);
    };

    edit.addEventListener("click", () => {
      clearOutcome();
      page.clearFieldErrors(form);
      name.input.value = entry.values["氏名"];
      seats.input.value = entry.values["人数"];
      setOpen("edit");
      name.input.focus();
    });

    close.addEventListener("click", () => {
      page.clearFieldErrors(form);
      setOpen(null);
      edit.focus();
    });

    cancel.addEventListener("click", () => {
      clearOutcome();
      setOpen("confirm");
      question.focus();
    });

    keep.addEventListener("click", () => {
      setOpen(null);
      cancel.focus();
    });

    // Only what was changed is sent: a field left alone is not the relay's business.
    const changes = () => {
      const fields = {};
      if (name.input.value !== entry.values["氏名"]) fields.name = name.input.value;
      const typed = seats.input.value;
      if (typed !== entry.values["人数"]) {
        const number = Number(typed);
        fields.seats = typed !== "" && Number.isFinite(number) ? number : typed;
      }
      return fields;
    };

    const send = async (method, url, body, working) => {
      busy = true;
      setRowBusy(true);
      page.say(status, working);
      try {
        return await page.request(method, url, { body, headers: { "If-Match": entry.revision } });
      } finally {
        page.say(status, null);
        setRowBusy(false);
        busy = false;
      }
    };

    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      if (busy) return;
      clearOutcome();
      page.clearFieldErrors(form);
      const fields = changes();
      if (Object.keys(fields).length === 0) {
        page.say(status, UNCHANGED);
        return;
      }
      const answer = await send("PATCH", entryUrl(entry.ref), { fields }, SAVING);
      if (answer.status === 200 && answer.body && answer.body.revision !== undefined) {
        entry.revision = text(answer.body.revision);
        // As the relay keeps them (NFC, trimmed); a reload shows the record itself.
        if ("name" in fields) entry.values["氏名"] = String(fields.name).normalize("NFC").trim();
        if ("seats" in fields) entry.values["人数"] = String(fields.seats).trim();
        paint();
        setOpen(null);
        page.say(status, SAVED);
        edit.focus();
        return;
      }
      entryRefused(answer, form);
    });

    yes.addEventListener("click", async () => {
      if (busy) return;
      clearOutcome();
      const answer = await send("POST", `${entryUrl(entry.ref)}/cancel`, {}, CANCELLING);
      if (answer.status === 200 && answer.body && answer.body.status === "cancelled") {
        if (answer.body.revision !== undefined) entry.revision = text(answer.body.revision);
        entry.values["申込状況"] = CANCELLED;
        paint();
        setOpen(null);
        page.say(status, CANCEL_DONE);
        cells[0].focus();
        return;
      }
      entryRefused(answer, null);
    });

    showFiles(filesCell, filesOf(record[FILE_FIELD]), n);
    paint();
    table.append(group);
    return cells[0];
  };

  // -- the list ----------------------------------------------------------------------------

  const count = () => table.querySelectorAll("tbody.application").length;

  const load = async ({ cursor = null, focus = false } = {}) => {
    if (busy) return;
    busy = true;
    clearOutcome();
    list.setAttribute("aria-busy", "true");
    more.disabled = true;
    reload.disabled = true;
    page.say(status, LOADING);
    let answer;
    try {
      answer = await page.request("POST", VIEW_URL, { body: cursor ? { cursor } : {} });
    } finally {
      page.say(status, null);
      list.removeAttribute("aria-busy");
      more.disabled = false;
      reload.disabled = false;
      busy = false;
    }
    const records = answer.status === 200 && answer.body ? answer.body.records : undefined;
    if (Array.isArray(records)) {
      if (!cursor) {
        for (const group of table.querySelectorAll("tbody.application")) group.remove();
      }
      const added = records.map(addApplication);
      next = typeof answer.body.next === "string" && answer.body.next ? answer.body.next : null;
      more.hidden = next === null;
      empty.hidden = count() > 0;
      signedOut.hidden = true;
      list.hidden = false;
      page.say(status, showing(count()));
      if (cursor && added.length > 0) added[0].focus();
      else if (focus) listTitle.focus();
      return;
    }
    if (answer.code === "cursor_invalid") {
      showProblem(CURSOR_INVALID, { offerReload: true });
    } else if (commonFailure(answer)) {
      // Loading again is the way on from anything but a missing session.
      if (answer.status !== 401) reloadLine.hidden = false;
    } else {
      showProblem(join(page.MESSAGES.failed(answer.status), TRY_AGAIN), { offerReload: true });
    }
  };

  more.addEventListener("click", () => {
    if (next) load({ cursor: next });
  });

  reload.addEventListener("click", () => load({ focus: true }));

  signOut.addEventListener("click", async () => {
    if (busy) return;
    busy = true;
    clearOutcome();
    signOut.disabled = true;
    page.say(status, SIGNING_OUT);
    let answer;
    try {
      answer = await page.request("DELETE", SESSION_URL);
    } finally {
      page.say(status, null);
      signOut.disabled = false;
      busy = false;
    }
    // Refused as no session at all is signed out too.
    if (answer.status === 204 || answer.status === 401) {
      window.location.assign(SIGN_IN_PAGE);
      return;
    }
    if (!commonFailure(answer)) showProblem(join(page.MESSAGES.failed(answer.status), TRY_AGAIN));
  });

  load();
})();
