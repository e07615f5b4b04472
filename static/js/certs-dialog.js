// The signing dialog: PIN -> 送信 (the service mails the code) -> 認証 (the service checks
// the code) -> 電子署名.
// Its messages come from data-msg-* attributes, in the visitor's language.
(function () {
  "use strict";
  function init() {
    var box = document.getElementById("signing-dialog");
    if (!box) { return; }
    var form = document.getElementById("signing-form");
    var msg = document.getElementById("dialog-message");
    var steps = box.querySelectorAll(".dialog-step");
    var signBtn = document.getElementById("dialog-sign");
    function show(step) {
      steps.forEach(function (el) { el.hidden = el.getAttribute("data-step") !== step; });
      if (step === "done") { steps.forEach(function (el) { if (el.getAttribute("data-step") === "code") { el.hidden = true; } }); }
      signBtn.disabled = step !== "done";
    }
    function say(text) { msg.textContent = text || ""; msg.hidden = !text; }
    document.getElementById("dialog-send").addEventListener("click", function () {
      var pin = document.getElementById("dialog-pin").value;
      if (!pin) { say(box.dataset.msgPinRequired); return; }
      say("");
      var body = new FormData();
      body.append("csrf_token", form.querySelector("input[name=csrf_token]").value);
      body.append("pin", pin);  // checked by the signing service now; never posted again
      fetch(box.getAttribute("data-send-url"), { method: "POST", body: body, credentials: "same-origin" })
        .then(function (r) { return r.json(); })
        .then(function (data) {
          if (!data.ok) { say(data.message); return; }
          document.getElementById("dialog-credential").textContent = data.credential_id;
          document.getElementById("dialog-pin").value = "";
          show("code");
        })
        .catch(function () { say(box.dataset.msgUnavailable); });
    });
    if (box.dataset.startStep === "code") { show("code"); }
    document.getElementById("dialog-back").addEventListener("click", function () { show("pin"); });
    document.getElementById("dialog-auth").addEventListener("click", function () {
      var code = document.getElementById("dialog-code").value;
      if (!/^[0-9]{6,10}$/.test(code)) { say(box.dataset.msgCodeDigits); return; }
      say("");
      var body = new FormData();
      body.append("csrf_token", form.querySelector("input[name=csrf_token]").value);
      body.append("code", code);  // checked by the signing service now (認証)
      fetch(box.getAttribute("data-auth-url"), { method: "POST", body: body, credentials: "same-origin" })
        .then(function (r) { return r.json(); })
        .then(function (data) {
          if (!data.ok) { say(data.message); if (data.step === "pin") { show("pin"); } return; }
          document.getElementById("dialog-code").value = "";
          show("done");
        })
        .catch(function () { say(box.dataset.msgUnavailable); });
    });
    form.addEventListener("submit", function (ev) {
      if (signBtn.disabled) { ev.preventDefault(); return; }
      signBtn.disabled = true;  // no double submission
    });
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", init); } else { init(); }
})();
