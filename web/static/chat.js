// The chat page: send through the JSON API and append the exchange without reloading.
// Text is only ever set with textContent, so nothing a user or the bot says becomes markup.
"use strict";
(function () {
  const form = document.getElementById("chat-form");
  const input = document.getElementById("text");
  const log = document.getElementById("log");
  const error = document.getElementById("chat-error");
  if (!form || !input || !log) return;
  const bot = log.dataset.bot || "bot";

  function add(who, cls, text) {
    const empty = document.getElementById("empty");
    if (empty) empty.remove();
    const box = document.createElement("div");
    box.className = "msg " + cls;
    const name = document.createElement("span");
    name.className = "who";
    name.textContent = who;
    const body = document.createElement("p");
    body.textContent = text;
    box.append(name, body);
    log.append(box);
    box.scrollIntoView({ block: "end" });
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const text = input.value;
    if (!text.trim()) return;
    error.hidden = true;
    form.querySelector("button").disabled = true;
    try {
      const response = await fetch(form.dataset.api, {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "application/json" },
        body: JSON.stringify({ user: form.dataset.user, text: text }),
      });
      const data = await response.json();
      if (!response.ok) {
        error.textContent = "Not sent: " + (data.error ? data.error.message : response.statusText);
        error.hidden = false;
        return;
      }
      add("you", "you", text);
      if (data.reply !== null) add(bot, "bot", data.reply);
      input.value = "";
    } catch (err) {
      error.textContent = "Not sent: the server did not answer. Try again.";
      error.hidden = false;
    } finally {
      form.querySelector("button").disabled = false;
      input.focus();
    }
  });
})();
