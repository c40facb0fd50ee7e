// Tells the reader of an open page why it stopped updating.
//
// The server refuses a Dash callback with 401 when the session ended (signed
// out elsewhere, or banned), 403 when access is refused, and 503 while a
// refresh writes the data. Dash itself shows nothing then, so this watches
// the callback requests and puts a notice on top of the page.
(function () {
  "use strict";

  var MESSAGES = {
    ru: {
      unauthorized: "Сеанс завершён. Войдите снова, чтобы продолжить.",
      forbidden: "Доступ запрещён.",
      maintenance: "Идёт обновление данных. Страница обновится сама через минуту.",
      signIn: "Войти",
    },
    en: {
      unauthorized: "Your session has ended. Sign in again to continue.",
      forbidden: "Access is refused.",
      maintenance: "The data is being refreshed. The page reloads itself in a minute.",
      signIn: "Sign in",
    },
  };
  var RELOAD_AFTER_MAINTENANCE_MS = 60000;
  var reloadScheduled = false;

  function language() {
    var match = document.cookie.match(/(?:^|;\s*)lang=(en|ru)/);
    return match ? match[1] : "ru";
  }

  function loginLink(text) {
    var link = document.createElement("a");
    var here = window.location.pathname + window.location.search;
    link.href = "/login?next=" + encodeURIComponent(here);
    link.textContent = text;
    return link;
  }

  function showNotice(kind) {
    var words = MESSAGES[language()];
    var notice = document.getElementById("app-session-notice");
    if (!notice) {
      notice = document.createElement("div");
      notice.id = "app-session-notice";
      notice.setAttribute("role", "alert");
      document.body.appendChild(notice);
    }
    notice.className = "app-session-notice app-session-notice-" + kind;
    notice.textContent = words[kind] + " ";
    if (kind === "unauthorized") {
      notice.appendChild(loginLink(words.signIn));
    }
  }

  function scheduleReload() {
    if (reloadScheduled) {
      return;
    }
    reloadScheduled = true;
    window.setTimeout(function () {
      window.location.reload();
    }, RELOAD_AFTER_MAINTENANCE_MS);
  }

  function watch(response) {
    if (response.status === 401) {
      showNotice("unauthorized");
    } else if (response.status === 403) {
      showNotice("forbidden");
    } else if (response.status === 503) {
      showNotice("maintenance");
      scheduleReload();
    }
    return response;
  }

  var originalFetch = window.fetch.bind(window);
  window.fetch = function (resource, options) {
    var url = typeof resource === "string" ? resource : resource && resource.url;
    var pending = originalFetch(resource, options);
    if (url && url.indexOf("/_dash-update-component") !== -1) {
      return pending.then(watch);
    }
    return pending;
  };
})();
