// casetrail — the System Log UI's only script. Everything here is an enhancement:
// every page and filter works without it (plain links and GET forms).
//
// - "/" focuses the search box.
// - A click anywhere on a log row opens its entry (the row's link does the same
//   for keyboards and for readers without JavaScript).
// - The user, case and client selects become type-ahead pickers that ask
//   /api/v1/actors and /api/v1/records as you type, so a firm with thousands of
//   clients can still pick any of them. A picker with data-kind-from (the hold
//   form's) asks for the record type that select names ({kind} in its source),
//   and its values are "type:id".
// - The filter dropdowns close each other, and blank fields stay out of the URL.
(function () {
  "use strict";

  function isTyping(el) {
    return !!el && (el.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(el.tagName));
  }

  document.addEventListener("keydown", function (e) {
    if (e.key !== "/" || e.ctrlKey || e.metaKey || e.altKey || isTyping(e.target)) return;
    var q = document.getElementById("q");
    if (!q) return;
    e.preventDefault();
    q.focus();
    q.select();
  });

  function linkRows() {
    var rows = document.querySelectorAll("tr[data-href]");
    Array.prototype.forEach.call(rows, function (row) {
      var href = row.getAttribute("data-href") || "";
      if (href.charAt(0) !== "/" || href.charAt(1) === "/") return;
      row.classList.add("is-linked");
      row.addEventListener("click", function (e) {
        if (e.defaultPrevented || e.button !== 0) return;
        if (e.target.closest("a, button, input, select, label, summary")) return;
        // Selecting text to copy it is not a request to navigate.
        var selection = window.getSelection ? String(window.getSelection()) : "";
        if (selection.length > 0) return;
        if (e.metaKey || e.ctrlKey) {
          window.open(href, "_blank", "noopener");
        } else {
          window.location.assign(href);
        }
      });
    });
  }

  var uid = 0;

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text) node.textContent = text;
    return node;
  }

  function enhancePicker(box) {
    var select = box.querySelector("select");
    var label = box.querySelector("label");
    var source = box.getAttribute("data-source");
    if (!select || !label || !source) return;
    var kindSelect = document.getElementById(box.getAttribute("data-kind-from") || "");

    // The type the picker is for ("" for the log's own pickers), as a value prefix.
    function prefix() {
      return kindSelect ? kindSelect.value + ":" : "";
    }
    function sourceUrl() {
      return kindSelect ? source.replace("{kind}", encodeURIComponent(kindSelect.value)) : source;
    }
    var name = label.textContent.trim();
    var listId = "combo-" + ++uid;

    var wrap = el("div", "combo");
    var input = el("input", "input");
    input.type = "text";
    input.id = select.id + "-search";
    input.autocomplete = "off";
    input.spellcheck = false;
    input.placeholder = box.getAttribute("data-placeholder") || "";
    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-expanded", "false");
    input.setAttribute("aria-controls", listId);
    var clear = el("button", "combo-clear", "\u00d7");
    clear.type = "button";
    clear.setAttribute("aria-label", "Clear " + name);
    var list = el("ul", "combo-list");
    list.id = listId;
    list.hidden = true;
    list.setAttribute("role", "listbox");
    list.setAttribute("aria-label", name);
    wrap.appendChild(input);
    wrap.appendChild(clear);
    wrap.appendChild(list);

    // The select stays the form's field; the type-ahead only sets it.
    select.classList.add("is-enhanced");
    select.tabIndex = -1;
    select.setAttribute("aria-hidden", "true");
    select.parentNode.insertBefore(wrap, select.nextSibling);
    label.htmlFor = input.id;

    var items = [];
    var active = -1;
    var timer = 0;
    var asked = 0;

    function chosen() {
      var option = select.options[select.selectedIndex];
      return option && option.value ? option : null;
    }

    function sync() {
      var option = chosen();
      input.value = option ? option.textContent : "";
      clear.hidden = !option;
    }

    function local() {
      var out = [];
      Array.prototype.forEach.call(select.options, function (o) {
        if (o.value && o.value.indexOf(prefix()) === 0) {
          out.push({ value: o.value, label: o.textContent, detail: o.getAttribute("data-detail") || "" });
        }
      });
      return out;
    }

    function open() {
      list.hidden = false;
      input.setAttribute("aria-expanded", "true");
    }

    // Forgets any search still on its way, so a late answer cannot reopen the list.
    function cancel() {
      window.clearTimeout(timer);
      asked++;
    }

    function close() {
      cancel();
      list.hidden = true;
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
      active = -1;
    }

    function render() {
      list.textContent = "";
      active = -1;
      input.removeAttribute("aria-activedescendant");
      if (!items.length) list.appendChild(el("li", "combo-empty", "No matches"));
      items.forEach(function (item, i) {
        var li = el("li", "combo-option");
        li.id = listId + "-" + i;
        li.setAttribute("role", "option");
        li.setAttribute("aria-selected", String(item.value === select.value));
        li.appendChild(el("span", "combo-label", item.label));
        if (item.detail && item.detail !== item.label) li.appendChild(el("span", "combo-detail", item.detail));
        // Keep the focus in the box (no blur before the click), then choose on click:
        // choosing on mousedown would hide the list under the pointer and send the
        // click to whatever lies beneath.
        li.addEventListener("mousedown", function (e) {
          e.preventDefault();
        });
        li.addEventListener("click", function () {
          choose(i);
        });
        list.appendChild(li);
      });
      open();
    }

    function highlight(i) {
      var options = list.querySelectorAll(".combo-option");
      Array.prototype.forEach.call(options, function (o, j) {
        o.classList.toggle("is-active", j === i);
      });
      active = i;
      if (options[i]) {
        input.setAttribute("aria-activedescendant", options[i].id);
        options[i].scrollIntoView({ block: "nearest" });
      }
    }

    function choose(i) {
      var item = items[i];
      if (!item) return;
      var option = null;
      Array.prototype.forEach.call(select.options, function (o) {
        if (o.value === item.value) option = o;
      });
      if (!option) {
        option = new Option(item.label, item.value);
        option.setAttribute("data-detail", item.detail);
        select.add(option);
      }
      select.value = item.value;
      sync();
      close();
      select.dispatchEvent(new Event("change", { bubbles: true }));
    }

    function search() {
      var q = input.value.trim();
      var current = chosen();
      if (!q || (current && q === current.textContent)) {
        items = local();
        render();
        return;
      }
      var mine = ++asked;
      var base = sourceUrl();
      var url = base + (base.indexOf("?") >= 0 ? "&" : "?") + "q=" + encodeURIComponent(q);
      fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (r) {
          return r.ok ? r.json() : Promise.reject(r.status);
        })
        .then(function (data) {
          if (mine !== asked) return;
          items = (data.actors || data.records || []).map(function (x) {
            return { value: prefix() + x.id, label: x.name || x.id, detail: x.email || x.id };
          });
          render();
        })
        .catch(function () {
          if (mine !== asked) return;
          var needle = q.toLowerCase();
          items = local().filter(function (item) {
            return (item.label + " " + item.detail).toLowerCase().indexOf(needle) >= 0;
          });
          render();
        });
    }

    input.addEventListener("input", function () {
      window.clearTimeout(timer);
      timer = window.setTimeout(search, 120);
    });
    input.addEventListener("mousedown", function () {
      if (list.hidden) search();
    });
    input.addEventListener("focus", function () {
      if (list.hidden) search();
    });
    input.addEventListener("keydown", function (e) {
      if (e.key === "ArrowDown" || e.key === "ArrowUp") {
        e.preventDefault();
        if (list.hidden) {
          search();
          return;
        }
        var n = items.length;
        if (!n) return;
        var next = e.key === "ArrowDown" ? active + 1 : active - 1;
        if (next < 0) next = n - 1;
        if (next >= n) next = 0;
        highlight(next);
      } else if (e.key === "Enter" && !list.hidden) {
        e.preventDefault();
        if (items.length) choose(active >= 0 ? active : 0);
      } else if (e.key === "Escape" && !list.hidden) {
        e.preventDefault();
        close();
        sync();
      }
    });
    input.addEventListener("blur", function () {
      window.setTimeout(function () {
        if (document.activeElement === input) return;
        close();
        // Emptying the box means "anyone" / "any case"; anything else not chosen
        // from the list goes back to what was chosen.
        if (!input.value.trim()) select.value = "";
        sync();
      }, 120);
    });
    clear.addEventListener("click", function () {
      select.value = "";
      sync();
      input.focus();
    });
    // Another type: a pick of the former one no longer applies.
    if (kindSelect) {
      kindSelect.addEventListener("change", function () {
        if (select.value && select.value.indexOf(prefix()) !== 0) select.value = "";
        sync();
      });
    }

    sync();
  }

  // The filter dropdowns are <details>: they work without a script. With it, one
  // is open at a time, it opens onto its first field, and a click outside or
  // Escape closes it.
  function dropdowns() {
    var all = document.querySelectorAll("details[data-dd]");
    Array.prototype.forEach.call(all, function (dd) {
      dd.addEventListener("toggle", function () {
        if (!dd.open) return;
        Array.prototype.forEach.call(all, function (other) {
          if (other !== dd) other.open = false;
        });
        var first = dd.querySelector(".dd-panel input:not([type=hidden]):not([tabindex='-1']), .dd-panel select:not(.is-enhanced)");
        if (first) first.focus();
      });
      dd.addEventListener("keydown", function (e) {
        if (e.key !== "Escape" || !dd.open || e.defaultPrevented) return;
        dd.open = false;
        dd.querySelector("summary").focus();
      });
    });
    document.addEventListener("click", function (e) {
      Array.prototype.forEach.call(all, function (dd) {
        // A target the page no longer holds (a redrawn list) is not "outside".
        if (dd.open && document.contains(e.target) && !dd.contains(e.target)) dd.open = false;
      });
    });
  }

  // A filtered view is a URL to bookmark and share: leave the blank fields out.
  function cleanSubmit() {
    var form = document.getElementById("filters");
    if (!form || !window.URLSearchParams || !window.FormData) return;
    form.addEventListener("submit", function (e) {
      var params = new URLSearchParams();
      new FormData(form).forEach(function (value, key) {
        if (typeof value === "string" && value.trim() !== "") params.append(key, value);
      });
      e.preventDefault();
      var query = params.toString();
      window.location.assign(form.getAttribute("action") + (query ? "?" + query : ""));
    });
  }

  function start() {
    linkRows();
    Array.prototype.forEach.call(document.querySelectorAll("[data-picker]"), enhancePicker);
    dropdowns();
    cleanSubmit();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
