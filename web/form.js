// The seminar application: sends the form's fields as {"fields": {...}} JSON, with the CV
// read into base64, shows how far the upload got, and then the receipt or the relay's
// per-field errors, in Japanese and English. Every attempt of one filled-in form carries
// the same Idempotency-Key, so retrying after a lost answer returns the first answer
// instead of recording the application twice.
//
// On load it asks the relay what anyone may know of the form (GET /forms/{form}): the
// application period, whether it is open, and the seats left on each session, so a full
// session or a closed form is plain before anyone types. After a queued answer (202) it
// follows the receipt (GET .../receipts/{receipt}) until the entry is recorded or refused.
"use strict";

(() => {
  const page = globalThis.sekishoPage;
  const form = document.getElementById("apply");
  const status = document.getElementById("status");
  const done = document.getElementById("done");
  const doneTitle = document.getElementById("done-title");
  const doneMessage = document.getElementById("done-message");
  const receiptLine = document.getElementById("receipt-line");
  const receipt = document.getElementById("receipt");
  const sending = document.getElementById("sending");
  const progress = document.getElementById("progress");
  const progressText = document.getElementById("progress-text");
  const problem = page.problemBox(document.getElementById("problem"));
  const follow = document.getElementById("follow");
  const period = document.getElementById("period");
  const availability = document.getElementById("availability");
  const availabilityMessage = document.getElementById("availability-message");
  const submitButton = form.querySelector("button");
  const endpoint = "/forms/" + encodeURIComponent(form.dataset.form);
  // Answers worth retrying with the same key: the relay may not have seen the request, or
  // it is still working on it.
  const RETRYABLE = new Set([409, 429, 500, 502, 503, 504]);

  const SENDING = { ja: "送信しています…", en: "Sending your application…" };
  const SENT = { ja: "送信しました。応答を待っています…", en: "Sent. Waiting for the answer…" };
  const RECORDED = { ja: "お申し込みを受け付けました。", en: "Your application is recorded." };
  const QUEUED = { ja: "お申し込みをお預かりしました。", en: "Your application is safe with us." };
  // The receipt is short enough to read out on the phone, and it is read back in any case,
  // with or without its hyphens: say so, so nobody copies it character by character.
  const KEEP_RECEIPT = {
    ja: "受付番号を控えておいてください。お問い合わせの際にお伝えください（大文字・小文字、ハイフンの有無は問いません）。",
    en: "Please keep your receipt number. Quote it when you contact us, in any case, with or without the hyphens.",
  };
  const QUEUED_DETAIL = {
    ja: `ただいま登録先が混み合っているため、登録まで少し時間がかかります。もう一度送る必要はありません。${KEEP_RECEIPT.ja}`,
    en: `It will be recorded shortly; there is no need to send it again. ${KEEP_RECEIPT.en}`,
  };
  const PRESS_AGAIN = {
    ja: "入力内容はそのまま残っています。もう一度「申し込む」を押してください。",
    en: "Your answers are kept: press Apply to try again.",
  };
  const IN_PROGRESS = { ja: "前回の送信をまだ処理しています。", en: "The previous attempt is still being processed." };
  const UNAVAILABLE = {
    ja: "ただいまお申し込みを受け付けられません。何も登録されていません。",
    en: "Applications cannot be taken just now; nothing was recorded.",
  };
  const CLOSED = {
    ja: "現在、お申し込みの受付を停止しています。時間をおいてお試しください。",
    en: "Applications are closed for now. Please try again later.",
  };
  const REUSED = {
    ja: "先ほどの送信が届いている可能性があり、その内容と今回の内容が異なります。もう一度「申し込む」を押すと、新しいお申し込みとして送信します。",
    en: "An earlier attempt may already have arrived with other answers. Press Apply again to send this as a new application.",
  };
  const TOO_LARGE = {
    ja: "お申し込みが大きすぎて送れません。ファイルは合計 4 MB までです。",
    en: "The application is too large to send: files may be at most 4 MB in total.",
  };
  const UNREADABLE = {
    ja: "ファイルを読み込めませんでした。もう一度選んでから「申し込む」を押してください。",
    en: "A file could not be read. Choose it again and press Apply.",
  };
  // A session may have seats left, only fewer than this application asks for.
  const FULL = {
    ja: "お選びの回には、お申し込みの人数分の空席がありません。何も登録されていません。残席のある回を選ぶか人数を減らして、もう一度「申し込む」を押してください。",
    en: "The session you chose has not enough seats left for this application; nothing was recorded. Choose a session with seats left, or fewer seats, and press Apply again.",
  };
  const FOLLOWING = { ja: "登録状況を確認しています…", en: "Checking whether it is recorded…" };
  const NOW_RECORDED = {
    ja: "登録が完了しました。",
    en: "It is now recorded.",
  };
  const NOT_RECORDED = {
    ja: "お申し込みを登録できませんでした。",
    en: "Your application could not be recorded.",
  };
  const NOT_RECORDED_DETAIL = {
    ja: "登録先がこのお申し込みを受け付けませんでした。お手数ですが、内容をご確認のうえ、もう一度お申し込みください。お問い合わせの際は受付番号をお伝えください。",
    en: "It was refused when it was delivered. Please check your answers and apply again; quote the receipt number if you contact us.",
  };
  const STILL_QUEUED = {
    ja: "まだ登録待ちです。お預かりしたお申し込みは順に登録されます。もう一度送る必要はありません。",
    en: "It is still waiting to be recorded, and will be in turn; there is no need to send it again.",
  };
  const CANNOT_FOLLOW = {
    ja: "いまは登録状況を確認できません。お預かりしたお申し込みは順に登録されます。",
    en: "Its progress cannot be checked just now; it will be recorded in turn.",
  };
  const join = (...messages) => ({
    ja: messages.map((m) => m.ja).join(""),
    en: messages.map((m) => m.en).join(" "),
  });

  let idempotencyKey = null;
  let busy = false;
  // Bumped by every new attempt: a follow-up of an earlier receipt then stops.
  let attempt = 0;

  // -- what the page knows of the form before anyone types ------------------------------

  const isObject = (value) => value !== null && typeof value === "object" && !Array.isArray(value);
  const seatsLeft = (counter) =>
    isObject(counter) && Number.isInteger(counter.left) && counter.left >= 0 ? counter.left : null;

  const optionName = (option) => ({
    ja: option.dataset.ja || option.value,
    en: option.dataset.en || option.value,
  });

  // An <option> holds text only: both languages in one line.
  const optionText = (option, left) => {
    const name = optionName(option);
    const base = `${name.ja} / ${name.en}`;
    if (left === null) return base;
    if (left === 0) return `${base} — 満席 / Full`;
    return `${base} — 残り ${left} 席 / ${left} seat${left === 1 ? "" : "s"} left`;
  };

  const showSeats = (seats) => {
    if (!sessionSelect) return;
    const choices = isObject(seats) && isObject(seats.choices) ? seats.choices : {};
    for (const option of Array.from(sessionSelect.querySelectorAll("option"))) {
      if (option.value === "") continue;
      const left = seatsLeft(choices[option.value]);
      option.textContent = optionText(option, left);
      option.disabled = left === 0;
      if (left === null) option.removeAttribute("data-left");
      else option.setAttribute("data-left", String(left));
    }
    // A session that filled up since it was chosen is chosen no more.
    const chosen = sessionSelect.querySelector(`option[value="${sessionSelect.value}"]`);
    if (chosen && chosen.disabled) sessionSelect.value = "";
  };

  const showPeriod = (facts) => {
    const opens = page.moment(facts.opens);
    const closes = page.moment(facts.closes);
    let message = null;
    if (opens && closes) {
      message = {
        ja: `受付期間: ${opens.ja} 〜 ${closes.ja}`,
        en: `Applications are taken from ${opens.en} to ${closes.en}.`,
      };
    } else if (opens) {
      message = { ja: `受付開始: ${opens.ja}`, en: `Applications are taken from ${opens.en}.` };
    } else if (closes) {
      message = { ja: `受付締切: ${closes.ja}`, en: `Applications are taken until ${closes.en}.` };
    }
    page.say(period, message);
    period.hidden = message === null;
  };

  // A form that is not open says why, and when it opens, and cannot be sent.
  const showAvailability = (facts) => {
    let message = null;
    if (facts.open === false) {
      message =
        facts.state === "route_disabled"
          ? CLOSED
          : page.whenMessage({ status: 403, code: facts.state, body: facts }) || CLOSED;
    }
    page.say(availabilityMessage, message);
    availability.hidden = message === null;
    if (submitButton) submitButton.disabled = message !== null;
    if (message === null) form.removeAttribute("aria-disabled");
    else form.setAttribute("aria-disabled", "true");
  };

  // The answer may be a few seconds old (max-age=5): the 409 at submission is the truth.
  // Without an answer the page stays as it is and the relay decides at submission.
  const loadFacts = async ({ seatsOnly = false } = {}) => {
    const answer = await page.request("GET", endpoint, { timeoutMs: 15000 });
    if (answer.status !== 200 || !isObject(answer.body)) return;
    const facts = answer.body;
    showSeats(facts.seats);
    if (seatsOnly) return;
    showPeriod(facts);
    showAvailability(facts);
  };

  // -- following a queued entry ---------------------------------------------------------

  // About two and a half minutes in all, the first look after 2 s: long enough for a short
  // kintone maintenance, short enough not to poll a page left open for nothing.
  const FOLLOW_TRIES = 15;
  const followDelay = (tried) => Math.min(15000, Math.round(2000 * 1.3 ** tried));
  // Network failures in a row before the page gives up looking.
  const FOLLOW_LOST = 2;

  const followed = (message) => {
    page.say(follow, message);
    follow.hidden = message === null;
  };

  const followReceipt = (receiptText, mine) => {
    const url = `${endpoint}/receipts/${encodeURIComponent(receiptText)}`;
    let tried = 0;
    let lost = 0;
    followed(FOLLOWING);
    const look = async () => {
      if (mine !== attempt) return;
      const answer = await page.request("GET", url, { timeoutMs: 10000 });
      if (mine !== attempt) return;
      tried += 1;
      const state = answer.status === 200 && answer.body ? answer.body.status : null;
      if (state === "recorded") {
        page.say(doneTitle, RECORDED);
        page.say(doneMessage, KEEP_RECEIPT);
        followed(NOW_RECORDED);
        return;
      }
      if (state === "refused") {
        page.say(doneTitle, NOT_RECORDED);
        page.say(doneMessage, NOT_RECORDED_DETAIL);
        followed(null);
        done.focus();
        return;
      }
      lost = answer.network ? lost + 1 : 0;
      // 404, 429 or anything else unexpected: asking again would not tell more.
      const stop = !answer.network && state !== "queued";
      if (stop || lost >= FOLLOW_LOST) {
        followed(CANNOT_FOLLOW);
        return;
      }
      if (tried >= FOLLOW_TRIES) {
        followed(STILL_QUEUED);
        return;
      }
      setTimeout(look, followDelay(tried));
    };
    setTimeout(look, followDelay(0));
  };

  const newKey = () => {
    if (typeof crypto.randomUUID === "function") return crypto.randomUUID();
    // randomUUID needs a secure context (HTTPS or loopback); getRandomValues does not.
    const bytes = crypto.getRandomValues(new Uint8Array(16));
    return Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");
  };

  const clearOutcome = () => {
    attempt += 1;
    followed(null);
    page.say(status, null);
    problem.clear();
    page.clearFieldErrors(form);
    done.hidden = true;
    receiptLine.hidden = true;
    receipt.textContent = "";
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

  const hasFiles = () =>
    page.inputsOf(form).some((input) => input.type === "file" && (input.files || []).length > 0);

  // A courtesy before uploading megabytes for nothing; the relay decides.
  const oversized = () =>
    page
      .inputsOf(form)
      .find(
        (input) =>
          input.type === "file" &&
          input.dataset.maxBytes &&
          Array.from(input.files || []).some((file) => file.size > Number(input.dataset.maxBytes)),
      );

  const startProgress = () => {
    progress.setAttribute("value", "0");
    progressText.textContent = "0%";
    sending.hidden = false;
  };

  const showProgress = ({ loaded, total, done: uploaded }) => {
    if (uploaded) {
      progress.removeAttribute("value"); // indeterminate: the relay is working on it
      page.say(progressText, SENT);
      return;
    }
    if (total > 0) {
      const percent = Math.min(100, Math.floor((loaded * 100) / total));
      progress.setAttribute("value", String(percent));
      progressText.textContent = `${percent}%`;
    }
  };

  const accepted = (answer) => {
    // Done: the next application is a new one, with a new key.
    idempotencyKey = null;
    form.reset();
    const queued = answer.body.status === "queued";
    page.say(doneTitle, queued ? QUEUED : RECORDED);
    page.say(doneMessage, queued ? QUEUED_DETAIL : KEEP_RECEIPT);
    if (typeof answer.body.receipt === "string" && answer.body.receipt) {
      receipt.textContent = answer.body.receipt;
      receiptLine.hidden = false;
    }
    done.hidden = false;
    done.focus();
    if (queued && receiptLine.hidden === false) followReceipt(answer.body.receipt, attempt);
  };

  const refused = (answer) => {
    const errors = answer.body && Array.isArray(answer.body.errors) ? answer.body.errors : [];
    if (answer.status === 400) {
      problem.show(page.MESSAGES.check, page.showFieldErrors(form, "fields", errors));
      return;
    }
    const closed = page.whenMessage(answer);
    if (closed) {
      problem.show(closed); // pressing Apply again would not help
      return;
    }
    let message = page.MESSAGES.failed(answer.status);
    let retry = answer.network || RETRYABLE.has(answer.status);
    if (answer.network) {
      message = page.MESSAGES.network;
    } else if (answer.status === 409 && answer.code === "capacity_full") {
      // Nothing was recorded: other answers (another session) are a new application.
      idempotencyKey = null;
      message = FULL;
      retry = false;
      loadFacts({ seatsOnly: true });
    } else if (answer.status === 409) {
      message = IN_PROGRESS;
    } else if (answer.status === 422 && answer.code === "idempotency_key_reused") {
      idempotencyKey = null;
      message = REUSED;
    } else if (answer.status === 429) {
      message = page.MESSAGES.rateLimited(answer.retryAfter);
    } else if (answer.status === 503 && answer.code === "route_disabled") {
      message = CLOSED;
      retry = false;
    } else if (answer.status === 503) {
      message = UNAVAILABLE;
    } else if (answer.status === 413) {
      message = TOO_LARGE;
    } else if (answer.status === 415) {
      message = page.MESSAGES.unsupported;
    }
    problem.show(retry ? join(message, PRESS_AGAIN) : message);
  };

  const send = async (fields, withFiles) => {
    idempotencyKey = idempotencyKey || newKey();
    if (withFiles) startProgress();
    const answer = await page.post(endpoint, JSON.stringify({ fields }), {
      headers: { "Idempotency-Key": idempotencyKey },
      onProgress: withFiles ? showProgress : null,
      timeoutMs: 120000,
    });
    sending.hidden = true;
    page.say(status, null);
    page.setBusy(form, false);
    const ok =
      (answer.status === 201 || answer.status === 202) &&
      answer.body !== null &&
      (answer.body.status === "recorded" || answer.body.status === "queued");
    if (ok) accepted(answer);
    else refused(answer);
  };

  const sessionSelect = form.querySelector('select[name="session"]');
  loadFacts();

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (busy) return;
    clearOutcome();
    const tooLarge = oversized();
    if (tooLarge) {
      const most = page.megabytes(tooLarge.dataset.maxBytes);
      const limit = {
        ja: `ファイルが大きすぎます（${most} まで）。`,
        en: `The file is larger than ${most}.`,
      };
      page.markField(tooLarge, limit);
      problem.show(page.MESSAGES.check, [{ input: tooLarge, message: limit }]);
      return;
    }
    busy = true;
    page.setBusy(form, true);
    page.say(status, SENDING);
    try {
      const fields = {};
      try {
        for (const input of page.inputsOf(form)) {
          const value = await valueOf(input);
          if (value !== undefined) fields[input.name] = value;
        }
      } catch {
        page.say(status, null);
        page.setBusy(form, false);
        problem.show(UNREADABLE);
        return;
      }
      await send(fields, hasFiles());
    } finally {
      sending.hidden = true;
      page.setBusy(form, false);
      busy = false;
    }
  });
})();
