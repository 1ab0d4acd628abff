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

  /* The same readings as flows.questions.ward.search_wards: the text as typed, without a leading one-letter
     abbreviation ("P.", "Q.", "X.") or kind ("phường", "xã", "P ", "X "); a ward code typed as digits. */
  var KIND_WORDS = ["phuong", "xa", "dac khu", "thi tran", "p", "x"];

  function readings(text) {
    var keys = [fold(text), fold(text.replace(/^\s*\p{L}\s*\.\s*/u, ""))];
    keys.slice().forEach(function (key) {
      KIND_WORDS.forEach(function (word) {
        if (key.indexOf(word + " ") === 0) { keys.push(key.slice(word.length + 1)); }
      });
    });
    return keys.filter(function (key, i) { return key && keys.indexOf(key) === i; });
  }

  function matching(wards, key, keysOf) {
    if (!key) { return []; }
    var exact = wards.filter(function (w) { return keysOf(w).indexOf(key) !== -1; });
    if (exact.length) { return exact; }
    return wards.filter(function (w) { return keysOf(w)[0].indexOf(key) !== -1; });
  }

  function searchWards(wards, text) {
    var trimmed = text.trim();
    if (/^[0-9]+$/.test(trimmed)) {
      var code = trimmed.length <= 9 ? String(parseInt(trimmed, 10)) : "";
      return wards.filter(function (w) { return w.code === code; });
    }
    var keys = readings(trimmed);
    var spaced = function (w) { return [w.key, w.short]; };
    var compact = function (w) { return [w.key.replace(/ /g, ""), w.short.replace(/ /g, "")]; };
    for (var i = 0; i < keys.length; i += 1) {
      var found = matching(wards, keys[i], spaced);
      if (found.length) { return found; }
    }
    for (var j = 0; j < keys.length; j += 1) {
      var loose = matching(wards, keys[j].replace(/ /g, ""), compact);
      if (loose.length) { return loose; }
    }
    return [];
  }

  /* Ward picker: filter the list while typing (the search button still works without JavaScript). */
  var search = document.querySelector("input[data-filter]");
  if (search) {
    var list = document.getElementById(search.getAttribute("data-filter"));
    var none = document.getElementById("wards-none");
    var echo = none ? none.querySelector("[data-query]") : null;
    if (list) {
      var wards = Array.prototype.map.call(list.querySelectorAll("li"), function (item) {
        return {
          item: item,
          key: item.getAttribute("data-key") || "",
          short: item.getAttribute("data-short") || item.getAttribute("data-key") || "",
          code: item.getAttribute("data-code") || ""
        };
      });
      search.addEventListener("input", function () {
        var shown = search.value.trim() ? searchWards(wards, search.value) : wards;
        wards.forEach(function (w) { w.item.hidden = shown.indexOf(w) === -1; });
        if (none) { none.hidden = shown.length !== 0; }
        if (echo) { echo.textContent = search.value.trim(); }  /* "no ward matches “what you typed”" */
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
