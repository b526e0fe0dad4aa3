// What the demo pages share (lookup.js, form.js, signin.js, mine.js): sending JSON to the
// relay, or fetching a file it streams, and reading its answer (an RFC 9457 problem
// document, API Gateway's own JSON, or nothing), and one way to show what happened in
// Japanese and English: field errors next to their fields, a summary of everything that
// went wrong, and a status line. Whatever comes from the network is set as text, never as
// markup (the pages' CSP also refuses HTML from strings).
"use strict";

globalThis.sekishoPage = (() => {
  // -- messages ----------------------------------------------------------------------------

  // A message is {ja, en}: each language in its own span with its lang attribute, so a
  // screen reader reads each in the right voice and the style can set English apart.
  const spans = (message) => {
    const parts = [];
    for (const lang of ["ja", "en"]) {
      if (!message[lang]) continue;
      if (parts.length > 0) parts.push(" ");
      const span = document.createElement("span");
      span.setAttribute("lang", lang);
      span.textContent = message[lang];
      parts.push(span);
    }
    return parts;
  };

  const say = (element, message) => {
    element.replaceChildren(...(message ? spans(message) : []));
  };

  const pad = (n) => String(n).padStart(2, "0");
  const clock = (date) => `${pad(date.getHours())}:${pad(date.getMinutes())}`;

  // Retry-After is seconds or an HTTP date (RFC 9110); null when absent or unreadable.
  const retryAfterSeconds = (value, now = Date.now()) => {
    if (typeof value !== "string" || value.trim() === "") return null;
    const text = value.trim();
    if (/^\d+$/.test(text)) return Number(text);
    const at = Date.parse(text);
    return Number.isNaN(at) ? null : Math.max(0, Math.ceil((at - now) / 1000));
  };

  const tryAgain = (seconds, now = Date.now()) => {
    if (seconds === null) {
      return {
        ja: "しばらく待ってから、もう一度お試しください。",
        en: "Please wait a while and try again.",
      };
    }
    if (seconds < 60) {
      return {
        ja: `${seconds} 秒ほど待ってから、もう一度お試しください。`,
        en: `Please try again in ${seconds} second${seconds === 1 ? "" : "s"}.`,
      };
    }
    const minutes = Math.ceil(seconds / 60);
    const at = clock(new Date(now + seconds * 1000));
    return {
      ja: `${at} 以降（約 ${minutes} 分後）に、もう一度お試しください。`,
      en: `Please try again after ${at} (in about ${minutes} minute${minutes === 1 ? "" : "s"}).`,
    };
  };

  const join = (...messages) => ({
    ja: messages.map((m) => m.ja).join(""),
    en: messages.map((m) => m.en).join(" "),
  });

  const MESSAGES = {
    check: { ja: "入力内容をご確認ください。", en: "Please check what you entered." },
    network: {
      ja: "サーバーに接続できませんでした。通信環境をご確認ください。",
      en: "The server could not be reached. Check your connection.",
    },
    rateLimited: (seconds) =>
      join(
        { ja: "短い時間に多くの送信がありました。", en: "Too many requests in a short time." },
        tryAgain(seconds),
      ),
    tooLarge: {
      ja: "送信内容が大きすぎます。",
      en: "What you sent is too large.",
    },
    unsupported: {
      ja: "送信の形式が受け付けられませんでした。ページを再読み込みしてから、もう一度お試しください。",
      en: "The request was not in a form the server accepts. Reload the page and try again.",
    },
    failed: (status) => ({
      ja: `処理できませんでした（HTTP ${status}）。`,
      en: `That did not work (HTTP ${status}).`,
    }),
  };

  // -- a route's opening times --------------------------------------------------------------

  // The relay names a time as ISO 8601 with the route's own offset; it is shown on that
  // clock (the route's, not the visitor's), offset included. null when it does not read.
  const moment = (iso) => {
    const found =
      typeof iso === "string" &&
      /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::\d{2}(?:\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.exec(iso);
    if (!found) return null;
    const [, year, month, day, hours, minutes, offset] = found;
    const zone = offset === "Z" ? "UTC" : `UTC${offset}`;
    return {
      ja: `${Number(year)}年${Number(month)}月${Number(day)}日 ${hours}:${minutes}（${zone}）`,
      en: `${year}-${month}-${day} ${hours}:${minutes} (${zone})`,
    };
  };

  // The 403s of a route's when: (docs/routes.md) in both languages, with the time the
  // problem names when it names one; null for any other answer.
  const whenMessage = (answer) => {
    if (answer.status !== 403 || !answer.body) return null;
    const body = answer.body;
    const told = (ja, en, at, timeJa, timeEn) =>
      at ? join({ ja, en }, { ja: timeJa(at.ja), en: timeEn(at.en) }) : { ja, en };
    switch (answer.code) {
      case "not_open_yet":
        return told(
          "受付はまだ始まっていません。",
          "This is not open yet.",
          moment(body.next_open) || moment(body.opens),
          (at) => `${at}から受け付けます。`,
          (at) => `It opens on ${at}.`,
        );
      case "closed":
        return told(
          "受付は終了しました。",
          "This has closed.",
          moment(body.closes),
          (at) => `${at}に締め切りました。`,
          (at) => `It closed on ${at}.`,
        );
      case "outside_hours":
        return told(
          "ただいま受付時間外です。",
          "This is closed at this hour.",
          moment(body.next_open),
          (at) => `次は${at}から受け付けます。`,
          (at) => `It opens again on ${at}.`,
        );
      case "network_not_allowed":
        return {
          ja: "お使いのネットワークからはご利用いただけません。",
          en: "This is not available from your network.",
        };
      case "claims_not_met":
        return {
          ja: "このアカウントではご利用いただけません。",
          en: "This is not available to your account.",
        };
      default:
        return null;
    }
  };

  // -- talking to the relay ----------------------------------------------------------------

  const NO_ANSWER = Object.freeze({
    status: 0,
    network: true,
    body: null,
    code: null,
    retryAfter: null,
  });

  const answerOf = (status, header, text) => {
    let body = null;
    try {
      body = text ? JSON.parse(text) : null;
    } catch {
      body = null; // not JSON: a proxy's page, a maintenance text
    }
    if (body === null || typeof body !== "object" || Array.isArray(body)) body = null;
    return {
      status,
      network: false,
      body,
      code: body && typeof body.code === "string" ? body.code : null,
      retryAfter: retryAfterSeconds(header("Retry-After")),
    };
  };

  // XMLHttpRequest rather than fetch: only it reports upload progress. The page's
  // Referrer-Policy keeps the page's URL out of the request; these pages send no cookies.
  const post = (url, body, { headers = {}, onProgress = null, timeoutMs = 60000 } = {}) =>
    new Promise((resolve) => {
      const xhr = new XMLHttpRequest();
      xhr.open("POST", url);
      xhr.setRequestHeader("Content-Type", "application/json");
      xhr.setRequestHeader("Accept", "application/json");
      for (const [name, value] of Object.entries(headers)) xhr.setRequestHeader(name, value);
      xhr.timeout = timeoutMs;
      if (onProgress) {
        // Listeners on xhr.upload must be in place before send() for the browser to report.
        xhr.upload.addEventListener("progress", (event) => {
          const total = event.lengthComputable ? event.total : 0;
          onProgress({ loaded: event.loaded, total, done: false });
        });
        xhr.upload.addEventListener("load", () => onProgress({ loaded: 0, total: 0, done: true }));
      }
      xhr.addEventListener("load", () =>
        resolve(answerOf(xhr.status, (name) => xhr.getResponseHeader(name), xhr.responseText)),
      );
      for (const type of ["error", "timeout", "abort"]) {
        xhr.addEventListener(type, () => resolve(NO_ANSWER));
      }
      xhr.send(body);
    });

  // Any method, with fetch, for the signed-in pages (signin.js, mine.js): the session is an
  // HttpOnly cookie the browser sends to this origin only, so the page never holds it. A
  // body is JSON; the browser adds the Origin header the relay checks for PATCH, POST and
  // DELETE. Resolves to the same answer as post(), or NO_ANSWER when nothing came back.
  const request = async (method, url, { body, headers = {}, timeoutMs = 30000 } = {}) => {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), timeoutMs);
    const sent = { Accept: "application/json", ...headers };
    if (body !== undefined) sent["Content-Type"] = "application/json";
    try {
      const response = await fetch(url, {
        method,
        headers: sent,
        body: body === undefined ? undefined : JSON.stringify(body),
        credentials: "same-origin",
        cache: "no-store",
        redirect: "error",
        signal: controller.signal,
      });
      const text = await response.text();
      return answerOf(response.status, (name) => response.headers.get(name), text);
    } catch {
      return NO_ANSWER;
    } finally {
      clearTimeout(timer);
    }
  };

  // A file the relay streams (a session view's FILE link), with the session cookie. API
  // Gateway decides by the request's first Accept type whether to hand the bytes back as
  // they are, so a binary type comes first. Resolves to an answer with the bytes as a Blob
  // (`blob`) when the status is 200, else the problem as request() reads it.
  const fetchFile = async (url, { timeoutMs = 120000 } = {}) => {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), timeoutMs);
    try {
      const response = await fetch(url, {
        method: "GET",
        headers: { Accept: "application/octet-stream" },
        credentials: "same-origin",
        cache: "no-store",
        redirect: "error",
        signal: controller.signal,
      });
      const header = (name) => response.headers.get(name);
      if (response.status === 200) {
        const blob = await response.blob();
        return { ...answerOf(200, header, ""), blob };
      }
      return { ...answerOf(response.status, header, await response.text()), blob: null };
    } catch {
      return { ...NO_ANSWER, blob: null };
    } finally {
      clearTimeout(timer);
    }
  };

  // -- fields and their errors -------------------------------------------------------------

  // Inputs and selects in the order the page shows them (one selector at a time: the
  // node harness's DOM takes no selector lists).
  const inputsOf = (form) =>
    Array.from(form.querySelectorAll("[name]")).filter(
      (element) => element.matches("input") || element.matches("select"),
    );
  const errorElementOf = (input) =>
    input.id ? document.getElementById(`${input.id}-error`) : null;

  // A pointer's segments, unescaped as RFC 6901 says: "~1" is "/", then "~0" is "~".
  const pointerParts = (pointer) =>
    typeof pointer === "string" && pointer.startsWith("/")
      ? pointer
          .slice(1)
          .split("/")
          .map((part) => part.replace(/~1/g, "/").replace(/~0/g, "~"))
      : [];

  const labelIn = (input, lang) => {
    const label = input.labels && input.labels.length > 0 ? input.labels[0] : null;
    const part = label ? label.querySelector(`[lang="${lang}"]`) : null;
    return part ? part.textContent.trim() : input.name;
  };

  const withDescription = (input, id, present) => {
    const ids = (input.getAttribute("aria-describedby") || "")
      .split(/\s+/)
      .filter((token) => token && token !== id);
    if (present) ids.unshift(id);
    if (ids.length > 0) input.setAttribute("aria-describedby", ids.join(" "));
    else input.removeAttribute("aria-describedby");
  };

  const megabytes = (bytes) => `${Math.round((Number(bytes) / 1048576) * 10) / 10} MB`;

  // The relay's codes are the API; these are the page's words for them. `input` may be null
  // (an error that names no field of the page).
  const fieldMessage = (code, input, error) => {
    const attr = (name) => (input ? input.getAttribute(name) : null);
    const data = (name) => (input && input.dataset ? input.dataset[name] : undefined);
    switch (code) {
      case "required":
        return { ja: "入力してください。", en: "This is required." };
      case "length": {
        const max = attr("maxlength");
        return max
          ? { ja: `${max} 文字以内で入力してください。`, en: `Use at most ${max} characters.` }
          : { ja: "長さが受け付けられません。", en: "The length is not accepted." };
      }
      case "format":
      case "pattern":
        return {
          ja: "形式が正しくありません。入力例をご確認ください。",
          en: "This is not in the expected format: see the example.",
        };
      case "type":
        return input && input.type === "number"
          ? { ja: "半角数字で入力してください。", en: "Enter a number." }
          : { ja: "この値は受け付けられません。", en: "This value is not accepted." };
      case "range": {
        const min = attr("min");
        const max = attr("max");
        return min !== null && max !== null
          ? {
              ja: `${min} から ${max} までの整数で入力してください。`,
              en: `Enter a whole number from ${min} to ${max}.`,
            }
          : { ja: "範囲外の数です。", en: "The number is out of range." };
      }
      case "email":
        return {
          ja: "メールアドレスを name@example.com の形で入力してください。",
          en: "Enter an email address such as name@example.com.",
        };
      case "encoding":
        return { ja: "使えない文字が含まれています。", en: "This contains characters that cannot be used." };
      case "file_size":
        return data("maxBytes")
          ? {
              ja: `ファイルが空か、大きすぎます（${megabytes(data("maxBytes"))} まで）。`,
              en: `The file is empty or too large (at most ${megabytes(data("maxBytes"))}).`,
            }
          : { ja: "ファイルが空か、大きすぎます。", en: "The file is empty or too large." };
      case "file_type": {
        const kind = data("typeName");
        return kind
          ? {
              ja: `この種類のファイルは受け付けられません。${kind} ファイルを選んでください。`,
              en: `This kind of file is not accepted: choose a ${kind} file.`,
            }
          : {
              ja: "この種類のファイルは受け付けられません。",
              en: "This kind of file is not accepted.",
            };
      }
      case "file_name":
        return {
          ja: "ファイル名が受け付けられません。名前を変えてから選び直してください。",
          en: "The file name is not accepted. Rename the file and choose it again.",
        };
      case "file_count":
        return { ja: "選べるファイルは 1 つです。", en: "Choose only one file." };
      default:
        return {
          ja: "この値は受け付けられません。",
          en:
            error && typeof error.detail === "string"
              ? error.detail
              : "This value is not accepted.",
        };
    }
  };

  const clearFieldErrors = (form) => {
    for (const input of inputsOf(form)) {
      const element = errorElementOf(input);
      input.removeAttribute("aria-invalid");
      if (!element) continue;
      withDescription(input, element.id, false);
      element.replaceChildren();
      element.hidden = true;
    }
  };

  const markField = (input, message) => {
    const element = errorElementOf(input);
    say(element, message);
    element.hidden = false;
    input.setAttribute("aria-invalid", "true");
    withDescription(input, element.id, true);
  };

  // Shows each error whose pointer is /<prefix>/<name> of a field of the form (/<name>
  // when prefix is "") next to that field; returns the summary's items: every error, the
  // field ones with their field.
  const showFieldErrors = (form, prefix, errors) => {
    const byName = new Map(
      inputsOf(form)
        .filter(errorElementOf)
        .map((input) => [input.name, input]),
    );
    const marked = new Set();
    const items = [];
    for (const error of errors) {
      if (!error || typeof error !== "object") continue;
      const parts = pointerParts(error.pointer);
      const [head, name] = prefix ? parts : ["", ...parts];
      const input = head === prefix && name !== undefined ? byName.get(name) : undefined;
      if (input) {
        const message = fieldMessage(error.code, input, error);
        if (!marked.has(input)) markField(input, message);
        marked.add(input);
        items.push({ input, message });
      } else if (error.code === "unknown" || error.code === "not_allowed") {
        const what = name || error.pointer || "";
        items.push({
          message: {
            ja: `「${what}」はこのページの項目ではありません。`,
            en: `“${what}” is not a field of this page.`,
          },
        });
      } else {
        const what = name || "";
        const message = fieldMessage(error.code, null, error);
        items.push({
          message: what ? { ja: `${what}: ${message.ja}`, en: `${what}: ${message.en}` } : message,
        });
      }
    }
    return items;
  };

  // -- the summary of what went wrong ------------------------------------------------------

  // The box above the form: a heading and a list, focused when shown so that keyboard and
  // screen reader users land on it. Items naming a field link to that field.
  const problemBox = (box) => {
    const title = box.querySelector("h2");
    const list = box.querySelector("ul");
    const clear = () => {
      box.hidden = true;
      title.replaceChildren();
      list.replaceChildren();
    };
    const show = (message, items = []) => {
      say(title, message);
      list.replaceChildren();
      for (const item of items) {
        const entry = document.createElement("li");
        if (item.input) {
          const link = document.createElement("a");
          link.setAttribute("href", `#${item.input.id}`);
          link.append(
            ...spans({
              ja: `${labelIn(item.input, "ja")}: ${item.message.ja}`,
              en: `${labelIn(item.input, "en")}: ${item.message.en}`,
            }),
          );
          // Focus the field itself (following the link would only scroll to it).
          link.addEventListener("click", (event) => {
            event.preventDefault();
            item.input.focus();
          });
          entry.append(link);
        } else {
          entry.append(...spans(item.message));
        }
        list.append(entry);
      }
      list.hidden = items.length === 0;
      box.hidden = false;
      box.focus();
    };
    return { show, clear };
  };

  const setBusy = (form, busy) => {
    for (const button of form.querySelectorAll("button")) button.disabled = busy;
    if (busy) form.setAttribute("aria-busy", "true");
    else form.removeAttribute("aria-busy");
  };

  return Object.freeze({
    MESSAGES,
    clearFieldErrors,
    fetchFile,
    fieldMessage,
    inputsOf,
    markField,
    megabytes,
    moment,
    pointerParts,
    post,
    problemBox,
    request,
    retryAfterSeconds,
    say,
    setBusy,
    showFieldErrors,
    tryAgain,
    whenMessage,
  });
})();
