/* The agent's ticket page: composer mode, macros, keyboard shortcuts, collision warning. */
"use strict";
(function () {
  const form = document.getElementById("ticket_form");
  const body = document.getElementById("composer-body");
  const internal = document.getElementById("id_comment_internal");
  if (!form || !body || !internal) {
    return;
  }
  const modes = form.querySelectorAll("input[name=ws_mode]");
  const header = document.querySelector(".ws-header");

  function setMode(mode) {
    internal.checked = mode === "note";
    modes.forEach(function (radio) { radio.checked = radio.value === mode; });
    form.classList.toggle("ws-writing-note", mode === "note");
  }
  modes.forEach(function (radio) {
    radio.addEventListener("change", function () { setMode(radio.value); });
  });
  setMode(internal.checked ? "note" : "reply");

  // --- "Assign to me" saves the properties but never sends the draft: keep it for the reload ---
  const draftKey = "ws-draft:" + window.location.pathname;
  const saved = window.sessionStorage.getItem(draftKey);
  if (saved !== null) {
    window.sessionStorage.removeItem(draftKey);
    const draft = JSON.parse(saved);
    if (!body.value.trim()) {
      body.value = draft.body;
      setMode(draft.internal ? "note" : "reply");
    }
  }
  const assignButton = form.querySelector("button[name=_assign_me]");
  if (assignButton) {
    assignButton.addEventListener("click", function () {
      if (body.value.trim()) {
        window.sessionStorage.setItem(
          draftKey, JSON.stringify({ body: body.value, internal: internal.checked }));
      }
    });
  }

  // --- macros: fill the composer and the properties, the agent reviews and sends ---
  const macroData = document.getElementById("ws-macros-data");
  const macros = macroData ? JSON.parse(macroData.textContent) : [];

  function setSelect(id, value, label) {
    const select = document.getElementById(id);
    if (!select || value === null || value === "" || value === undefined) {
      return;
    }
    const wanted = String(value);
    if (!Array.from(select.options).some(function (o) { return o.value === wanted; })) {
      select.add(new Option(label || wanted, wanted));
    }
    select.value = wanted;
    select.dispatchEvent(new Event("change", { bubbles: true }));
  }

  function applyMacro(macro) {
    body.value = body.value.trim() ? body.value.trimEnd() + "\n\n" + macro.body : macro.body;
    setMode(macro.internal ? "note" : "reply");
    setSelect("id_status", macro.status);
    setSelect("id_priority", macro.priority);
    setSelect("id_assignee", macro.assignee, header ? header.dataset.me : "");
    const applied = document.getElementById("ws-macro-applied");
    if (applied) {
      applied.textContent = "✓ " + macro.title;
    }
    body.focus();
  }
  form.querySelectorAll("button.ws-macro").forEach(function (button) {
    button.addEventListener("click", function () {
      const macro = macros.find(function (m) { return String(m.id) === button.dataset.macro; });
      if (macro) {
        applyMacro(macro);
      }
    });
  });

  // --- keyboard shortcuts, ignored while typing in a field ---
  const help = document.getElementById("ws-help");
  function typingInField(target) {
    return target.closest("input, textarea, select, [contenteditable=true]") !== null;
  }
  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey || typingInField(event.target)) {
      return;
    }
    if (event.key === "r" || event.key === "n") {
      event.preventDefault();
      setMode(event.key === "n" ? "note" : "reply");
      body.focus();
    } else if (event.key === "a") {
      event.preventDefault();
      const assign = form.querySelector("button[name=_assign_me]");
      if (assign) {
        assign.click();
      }
    } else if (event.key === "?" && help) {
      event.preventDefault();
      if (help.open) {
        help.close();
      } else {
        help.showModal();
      }
    }
  });
  if (help) {
    help.querySelector(".ws-help-close").addEventListener("click", function () { help.close(); });
  }

  // --- collision warning: poll who else has this ticket open or is typing ---
  const banner = document.getElementById("ws-presence");
  const csrf = form.querySelector("input[name=csrfmiddlewaretoken]");
  if (!header || !banner || !csrf) {
    return;
  }
  const url = header.dataset.presenceUrl;
  const seconds = Number(header.dataset.presenceSeconds) || 5;
  let lastKey = 0;
  let timer = null;

  function describe(others) {
    const typing = others.filter(function (o) { return o.typing; }).map(function (o) { return o.name; });
    const viewing = others.filter(function (o) { return !o.typing; }).map(function (o) { return o.name; });
    const parts = [];
    if (typing.length) {
      parts.push(header.dataset.typingLabel.replace("%s", typing.join(", ")));
    }
    if (viewing.length) {
      parts.push(header.dataset.viewingLabel.replace("%s", viewing.join(", ")));
    }
    return parts.join(" ");
  }

  function send(extra) {
    const data = new URLSearchParams(extra);
    return fetch(url, {
      method: "POST",
      body: data,
      credentials: "same-origin",
      headers: { "X-CSRFToken": csrf.value },
    });
  }

  function poll() {
    const typing = Date.now() - lastKey < seconds * 1000 ? "1" : "0";
    send({ typing: typing })
      .then(function (response) { return response.ok ? response.json() : { others: [] }; })
      .then(function (data) {
        const text = describe(data.others || []);
        banner.textContent = text;
        banner.hidden = text === "";
      })
      .catch(function () { /* a missed poll is retried on the next tick */ });
  }

  body.addEventListener("input", function () {
    const wasIdle = Date.now() - lastKey >= seconds * 1000;
    lastKey = Date.now();
    if (wasIdle) {
      poll();
    }
  });
  poll();
  timer = window.setInterval(poll, seconds * 1000);
  window.addEventListener("pagehide", function () {
    window.clearInterval(timer);
    navigator.sendBeacon(url, new URLSearchParams({ leaving: "1", csrfmiddlewaretoken: csrf.value }));
  });
})();
