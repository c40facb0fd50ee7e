// Puts the page's language into the widget texts Dash gives no prop for.
//
// - The date picker names months and weekdays through date-fns and looks
//   for locales in `window.dateFns.locale`. This offers it one locale, for
//   the page's language, made from the browser's own date names (Intl), so
//   no locale data has to be shipped.
// - The calendar's buttons and the range slider's thumbs carry English
//   aria-labels. The shell's `data-widget-labels` maps each English label to
//   the page's text; a slider's wrapper names its thumbs in
//   `data-thumb-labels` and its positions in `data-value-texts`.
(function () {
  "use strict";

  function pageLanguage() {
    var shell = document.getElementById("app-shell");
    if (shell && shell.lang) {
      return shell.lang;
    }
    var match = document.cookie.match(/(?:^|;\s*)lang=(en|ru)/);
    return match ? match[1] : "ru";
  }

  // --- date names for the date picker ---------------------------------------

  var INTL_WIDTHS = {
    narrow: "narrow",
    short: "short",
    abbreviated: "short",
    wide: "long",
  };
  // 2024-01-01 was a Monday: day i of that week is 1 + i, Sunday is the 7th.
  var SUNDAY = 7;

  function monthName(lang, index, width) {
    var date = new Date(2024, index, 15);
    // The picker names a month on its own (the month list), never after a
    // day, so the stand-alone form is the right one in either context.
    var style = INTL_WIDTHS[width] || "long";
    return new Intl.DateTimeFormat(lang, { month: style }).format(date);
  }

  function dayName(lang, index, width) {
    var date = new Date(2024, 0, index === 0 ? SUNDAY : index);
    var style = INTL_WIDTHS[width] || "long";
    return new Intl.DateTimeFormat(lang, { weekday: style }).format(date);
  }

  function dayPeriodName(lang, period) {
    var hour = period === "pm" ? 15 : 9;
    var parts = new Intl.DateTimeFormat(lang, {
      hour: "numeric",
      hour12: true,
    }).formatToParts(new Date(2024, 0, 1, hour));
    var found = parts.filter(function (part) {
      return part.type === "dayPeriod";
    })[0];
    return found ? found.value : period;
  }

  function noMatch() {
    // Typed dates use numeric formats only; text tokens are not parsed.
    return null;
  }

  function makeLocale(lang) {
    var pattern = lang === "ru" ? "dd.MM.yyyy" : "MM/dd/yyyy";
    return {
      code: lang,
      localize: {
        ordinalNumber: function (number) {
          return String(number);
        },
        era: function (value) {
          return value ? "AD" : "BC";
        },
        quarter: function (value) {
          return "Q" + value;
        },
        month: function (index, options) {
          return monthName(lang, index, options && options.width);
        },
        day: function (index, options) {
          return dayName(lang, index, options && options.width);
        },
        dayPeriod: function (period) {
          return dayPeriodName(lang, period);
        },
      },
      formatLong: {
        date: function () {
          return pattern;
        },
        time: function () {
          return "HH:mm";
        },
        dateTime: function () {
          return "{{date}} {{time}}";
        },
      },
      match: {
        ordinalNumber: noMatch,
        era: noMatch,
        quarter: noMatch,
        month: noMatch,
        day: noMatch,
        dayPeriod: noMatch,
      },
      options: { weekStartsOn: 1, firstWeekContainsDate: 4 },
    };
  }

  var locales = {};

  function localesForPage() {
    var lang = pageLanguage();
    if (lang === "en") {
      // No locale at all: the picker falls back to its built-in English.
      return {};
    }
    if (!locales[lang]) {
      locales[lang] = makeLocale(lang);
    }
    var offered = {};
    offered[lang] = locales[lang];
    return offered;
  }

  window.dateFns = window.dateFns || {};
  Object.defineProperty(window.dateFns, "locale", {
    configurable: true,
    get: localesForPage,
  });

  // --- aria labels -------------------------------------------------------------

  function readJson(element, name) {
    try {
      return JSON.parse(element.getAttribute(name) || "null");
    } catch (error) {
      return null;
    }
  }

  function setAttribute(element, name, value) {
    if (value && element.getAttribute(name) !== value) {
      element.setAttribute(name, value);
    }
  }

  function relabelButtons() {
    var shell = document.getElementById("app-shell");
    var labels = shell && readJson(shell, "data-widget-labels");
    if (!labels) {
      return;
    }
    document.querySelectorAll("[aria-label]").forEach(function (element) {
      var text = labels[element.getAttribute("aria-label")];
      if (text) {
        element.setAttribute("aria-label", text);
      }
    });
  }

  function nameSliderThumbs() {
    document.querySelectorAll("[data-thumb-labels]").forEach(function (wrapper) {
      var names = readJson(wrapper, "data-thumb-labels") || [];
      var values = readJson(wrapper, "data-value-texts") || [];
      wrapper.querySelectorAll("[role=slider]").forEach(function (thumb, index) {
        setAttribute(thumb, "aria-label", names[index]);
        setAttribute(
          thumb,
          "aria-valuetext",
          values[Number(thumb.getAttribute("aria-valuenow"))]
        );
      });
    });
  }

  function relabel() {
    relabelButtons();
    nameSliderThumbs();
  }

  var scheduled = false;

  function scheduleRelabel() {
    if (scheduled) {
      return;
    }
    scheduled = true;
    window.requestAnimationFrame(function () {
      scheduled = false;
      relabel();
    });
  }

  function start() {
    new MutationObserver(scheduleRelabel).observe(document.body, {
      childList: true,
      subtree: true,
      attributes: true,
      attributeFilter: ["aria-label", "aria-valuenow"],
    });
    relabel();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
