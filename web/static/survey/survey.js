/* Enhancements only: the survey works without this file (plain forms). Loaded from 'self' (strict CSP). */
(function () {
  "use strict";

  /* The same folding as flows.text.fold: "Phường Đống Đa" -> "phuong dong da". */
  function fold(text) {
    return text
      .replace(/đ/g, "d").replace(/Đ/g, "D")
      .normalize("NFD").replace(/[\u0300-\u036f]/g, "")
      .toLowerCase()
      .replace(/[^a-z0-9\s]/g, " ")
      .replace(/\s+/g, " ")
      .trim();
  }

  /* Ward picker: filter the list while typing (the search button still works without JavaScript). */
  var search = document.querySelector("input[data-filter]");
  if (search) {
    var list = document.getElementById(search.getAttribute("data-filter"));
    var none = document.getElementById("wards-none");
    if (list) {
      search.addEventListener("input", function () {
        var key = fold(search.value);
        var shown = 0;
        list.querySelectorAll("li").forEach(function (item) {
          var match = !key || (item.getAttribute("data-key") || "").indexOf(key) !== -1;
          item.hidden = !match;
          if (match) { shown += 1; }
        });
        if (none) { none.hidden = shown !== 0; }
      });
    }
  }

  /* Multiple choice: once the maximum is chosen, the other boxes wait (the server checks it anyway). */
  document.querySelectorAll(".choices[data-max]").forEach(function (group) {
    var max = parseInt(group.getAttribute("data-max"), 10);
    var boxes = group.querySelectorAll("input[type=checkbox]");
    function update() {
      var count = 0;
      boxes.forEach(function (box) { if (box.checked) { count += 1; } });
      boxes.forEach(function (box) { box.disabled = !box.checked && count >= max; });
    }
    boxes.forEach(function (box) { box.addEventListener("change", update); });
    update();
  });
})();
