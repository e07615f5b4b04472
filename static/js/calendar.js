// APP-2: 生年月日・設立年月日 can be typed as yyyymmdd or picked from a calendar.
// The picker writes yyyymmdd into the text field; the server checks either form.
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("form[data-calendar-fields]").forEach(function (form) {
    form.getAttribute("data-calendar-fields").split(" ").forEach(function (name) {
      var text = form.querySelector("input[name='" + name + "']");
      if (!text) { return; }
      var picker = document.createElement("input");
      picker.type = "date";
      picker.className = "calendar-picker";
      picker.setAttribute("aria-label", "カレンダーから選択");
      picker.min = "1900-01-01";
      picker.max = new Date().toISOString().slice(0, 10);
      picker.addEventListener("change", function () {
        if (picker.value) { text.value = picker.value.split("-").join(""); }
      });
      text.insertAdjacentElement("afterend", picker);
    });
  });
});
