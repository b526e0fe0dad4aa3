// Signing in with a code by mail, in two steps: the address (POST /sessions/<realm>/code),
// then the 6-digit code (POST /sessions/<realm>), which the relay answers with an HttpOnly
// session cookie; then on to the list of one's applications. The page keeps nothing: the
// address lives in a variable until the page is left, the session only in the cookie.
// What went wrong is told by the problem's code, never by its wording.
"use strict";

(() => {
  const page = globalThis.sekishoPage;
  const requestForm = document.getElementById("request");
  const verifyForm = document.getElementById("verify");
  const email = document.getElementById("email");
  const code = document.getElementById("code");
  const restart = document.getElementById("restart");
  const sentTitle = document.getElementById("sent-title");
  const sentMessage = document.getElementById("sent-message");
  const status = document.getElementById("status");
  const problem = page.problemBox(document.getElementById("problem"));
  const realm = encodeURIComponent(requestForm.dataset.realm);
  const CODE_URL = `/sessions/${realm}/code`;
  const SESSION_URL = `/sessions/${realm}`;
  const NEXT_PAGE = "mine.html";

  const REQUESTING = { ja: "確認コードを請求しています…", en: "Asking for a code…" };
  const SIGNING_IN = { ja: "ログインしています…", en: "Signing in…" };
  const SIGNED_IN = { ja: "ログインしました。お申し込みの一覧を開きます…", en: "Signed in. Opening your applications…" };
  const CODE_SENT = { ja: "メールをご確認ください", en: "Check your mail" };
  // The same words whether or not the address is known: the relay does not say, and
  // neither may the page.
  const sentTo = (address, seconds) => {
    const minutes = Math.max(1, Math.round(seconds / 60));
    return {
      ja: `${address} でのお申し込みがあれば、このアドレスに確認コードを送りました。コードの有効期限は ${minutes} 分です。`,
      en: `If ${address} has an application, a code is on its way there. It is valid for ${minutes} minute${minutes === 1 ? "" : "s"}.`,
    };
  };
  const SIGN_IN_FAILED = {
    ja: "ログインできませんでした。確認コードが正しくないか、有効期限が切れています。コードをご確認いただくか、新しいコードを請求してください。",
    en: "Signing in did not work: the code is wrong or has expired. Check the code, or ask for a new one.",
  };
  const CODE_FORMAT = {
    ja: "メールに記載の 6 桁の数字を入力してください。",
    en: "Enter the 6 digits from the mail.",
  };
  const NO_SUCH_REALM = {
    ja: "このページからはログインできません。主催者にお問い合わせください。",
    en: "Signing in is not available from this page. Please ask the organiser.",
  };
  const UNAVAILABLE = {
    ja: "ただいまログインできません。しばらくしてから、もう一度お試しください。",
    en: "Signing in is not possible just now. Please try again in a few minutes.",
  };
  const TRY_AGAIN = { ja: "もう一度お試しください。", en: "Please try again." };
  const join = (a, b) => ({ ja: a.ja + b.ja, en: `${a.en} ${b.en}` });

  let address = null; // the address the code was asked for
  let busy = false;

  const clearOutcome = (form) => {
    page.say(status, null);
    problem.clear();
    page.clearFieldErrors(form);
  };

  // What both steps may meet besides their own answers.
  const common = (answer) => {
    if (answer.network) return join(page.MESSAGES.network, TRY_AGAIN);
    if (answer.status === 429) return page.MESSAGES.rateLimited(answer.retryAfter);
    if (page.whenMessage(answer)) return page.whenMessage(answer);
    if (answer.status === 404 && answer.code === "not_found") return NO_SUCH_REALM;
    if (answer.status === 413) return page.MESSAGES.tooLarge;
    if (answer.status === 415) return page.MESSAGES.unsupported;
    if (answer.status === 503) return UNAVAILABLE;
    return join(page.MESSAGES.failed(answer.status), TRY_AGAIN);
  };

  const errorsOf = (answer) =>
    answer.body && Array.isArray(answer.body.errors) ? answer.body.errors : [];

  // The relay's field errors next to their field; when none names a field of the form,
  // the one field the step sends is marked instead, in the words for the relay's first
  // error code (or for `fallback` without one; CODE_FORMAT when `fallback` is null).
  const refusedField = (form, input, answer, fallback) => {
    const errors = errorsOf(answer);
    const items = page.showFieldErrors(form, "", errors);
    if (items.some((item) => item.input)) return items;
    page.clearFieldErrors(form);
    const first = errors.find((error) => error && typeof error.code === "string");
    const message = fallback
      ? page.fieldMessage(first ? first.code : fallback, input, first || null)
      : CODE_FORMAT;
    page.markField(input, message);
    return [{ input, message }];
  };

  const showStep = (step) => {
    requestForm.hidden = step !== 1;
    verifyForm.hidden = step !== 2;
  };

  const run = async (form, working, action) => {
    if (busy) return;
    busy = true;
    clearOutcome(form);
    page.setBusy(form, true);
    page.say(status, working);
    try {
      await action();
    } finally {
      page.setBusy(form, false);
      busy = false;
    }
  };

  requestForm.addEventListener("submit", (event) => {
    event.preventDefault();
    run(requestForm, REQUESTING, async () => {
      // As typed: the relay normalises and checks the address.
      const typed = email.value;
      const answer = await page.request("POST", CODE_URL, { body: { email: typed } });
      page.say(status, null);
      if (answer.status === 202) {
        address = typed;
        code.value = "";
        page.clearFieldErrors(verifyForm);
        page.say(sentTitle, CODE_SENT);
        const seconds = answer.body && Number(answer.body.expires_in);
        page.say(sentMessage, sentTo(typed.trim(), Number.isFinite(seconds) ? seconds : 600));
        showStep(2);
        // The notice is part of the code field's description: a screen reader reads it
        // on arriving in the field.
        code.focus();
        return;
      }
      if (answer.status === 400) {
        // The address is all this step sends: a refusal is about it, whatever it points at.
        problem.show(page.MESSAGES.check, refusedField(requestForm, email, answer, "email"));
        return;
      }
      problem.show(common(answer));
    });
  });

  verifyForm.addEventListener("submit", (event) => {
    event.preventDefault();
    run(verifyForm, SIGNING_IN, async () => {
      // People paste codes with spaces around or between the digit groups.
      const digits = code.value.replace(/\s+/g, "");
      const answer = await page.request("POST", SESSION_URL, {
        body: { email: address, code: digits },
      });
      if (answer.status === 201) {
        // The cookie is set; the token in the body is not kept.
        page.say(status, SIGNED_IN);
        window.location.assign(NEXT_PAGE);
        return;
      }
      page.say(status, null);
      if (answer.status === 401) {
        problem.show(SIGN_IN_FAILED);
        return;
      }
      if (answer.status === 400) {
        problem.show(page.MESSAGES.check, refusedField(verifyForm, code, answer, null));
        return;
      }
      problem.show(common(answer));
    });
  });

  restart.addEventListener("click", () => {
    if (busy) return;
    clearOutcome(verifyForm);
    address = null;
    code.value = "";
    showStep(1);
    email.focus();
  });
})();
