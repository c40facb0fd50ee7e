"""The Dash app on the Flask server: page shell, router, banners and switches.

`create_dash(server)` attaches Dash at "/" and routes "/" to the analytics
page and "/methodology" to the methodology page; any other path that would
reach Dash's catch-all route answers 404 instead of an empty shell. The
shell around the pages shows the demo-data and maintenance banners, the
language and theme switches, the account links (when accounts are
installed) and, in the footer, the data version and refresh time. The shell
is rebuilt on every page load, so the banners and the language follow the
database and the `lang` cookie.
"""

from __future__ import annotations

import logging

import dash
from dash import Input
from dash import Output
from dash import State
from dash import dcc
from dash import html
from flask import current_app
from flask import request

from auth.guard import refuse
from dashboard import analytics
from dashboard import methodology
from dashboard.downloads import init_downloads
from dashboard.format import format_moscow_time
from dashboard.i18n import LANGUAGE_COOKIE
from dashboard.i18n import register_messages
from dashboard.i18n import request_language
from dashboard.i18n import translate
from dashboard.widgets import page_widget_attributes
from services.runtime import current_settings
from services.runtime import request_session
from services.state import get_data_info
from services.state import get_maintenance

logger = logging.getLogger(__name__)

LANGUAGE_COOKIE_SECONDS = 365 * 24 * 3600
METHODOLOGY_PATH = "/methodology"

register_messages(
    {
        "app.title": ("Зарплаты на hh.ru", "Salaries on hh.ru"),
        "app.nav_analytics": ("Аналитика", "Analytics"),
        "app.nav_methodology": ("Методика", "Methodology"),
        "app.theme": ("Тема", "Theme"),
        "app.filters_toggle": ("Фильтры", "Filters"),
        "app.demo_banner": (
            "Демонстрационные данные: вакансии сгенерированы, а не загружены с "
            "hh.ru. Баннер исчезнет после первого успешного обновления.",
            "Demo data: these vacancies are generated, not loaded from hh.ru. "
            "The banner goes away after the first successful refresh.",
        ),
        "app.maintenance_banner": (
            "Идёт обновление данных: цифры могут измениться через минуту.",
            "The data is being refreshed: the figures may change in a minute.",
        ),
        "app.footer_data": (
            "Данные: версия {version}, обновлены {refreshed}",
            "Data: version {version}, refreshed {refreshed}",
        ),
        "app.footer_never": ("ещё не обновлялись", "never"),
        "app.footer_source": (
            "Источник: открытые вакансии hh.ru",
            "Source: public vacancies on hh.ru",
        ),
        "app.not_found": ("Страница не найдена", "Page not found"),
        "app.login": ("Войти", "Log in"),
        "app.logout": ("Выйти", "Log out"),
        "app.account": ("Аккаунт", "Account"),
        "app.moderator": ("Модерация", "Moderation"),
        "app.admin": ("Администрирование", "Administration"),
    }
)


def create_dash(server) -> dash.Dash:
    """Attach the Dash pages to `server` at "/" and return the Dash app."""
    app = dash.Dash(
        __name__,
        server=server,
        url_base_pathname="/",
        use_pages=False,
        assets_folder=str(_assets_folder()),
        suppress_callback_exceptions=True,
        title=translate("app.title", "ru"),
        update_title=None,
        meta_tags=[
            {"name": "viewport", "content": "width=device-width, initial-scale=1"}
        ],
    )
    app.layout = make_shell_layout
    _refuse_unknown_paths(server, app.config.routes_pathname_prefix + "<path:path>")
    init_downloads(server)
    _register_shell_callbacks(app)
    analytics.register_callbacks(app)
    logger.info("Dash pages attached: /, /methodology")
    return app


def _refuse_unknown_paths(server, catch_all_endpoint: str) -> None:
    """Answer 404 for paths that only Dash's catch-all route would take.

    Dash serves its page shell for any path, so a mistyped link or an unknown
    /api/v1/ address would answer 200. The check runs after the access guard:
    a visitor who may not see the pages is still sent to the login first.
    """

    def refuse_unknown_path():
        if request.endpoint != catch_all_endpoint or is_page_path(request.path):
            return None
        logger.info("unknown path %s: 404", request.path[:200])
        return refuse(404, "not_found")

    server.before_request(refuse_unknown_path)


def is_page_path(path: str | None) -> bool:
    """Whether `path` is one of the Dash pages (a trailing slash allowed)."""
    return path in (None, "", "/") or path.rstrip("/") == METHODOLOGY_PATH


def _assets_folder():
    from services.settings import PROJECT_ROOT

    return PROJECT_ROOT / "assets"


def make_shell_layout() -> html.Div:
    """The page shell for the current request: header, banners, page slot, footer."""
    lang = request_language()
    return html.Div(
        id="app-shell",
        lang=lang,
        **page_widget_attributes(lang),
        children=[
            dcc.Location(id="app-url", refresh=False),
            dcc.Store(id="app-theme", storage_type="local", data="light"),
            dcc.Store(id="app-language", data=lang),
            _make_header(lang),
            *_make_banners(lang),
            html.Main(id="app-page", className="app-page"),
            _make_footer(lang),
        ],
    )


def _make_header(lang: str) -> html.Header:
    return html.Header(
        className="app-header",
        children=[
            html.Button(
                translate("app.filters_toggle", lang),
                id="app-drawer-toggle",
                className="app-drawer-toggle",
                n_clicks=0,
            ),
            dcc.Link(translate("app.title", lang), href="/", className="app-brand"),
            html.Nav(
                className="app-nav",
                children=[
                    dcc.Link(translate("app.nav_analytics", lang), href="/"),
                    dcc.Link(
                        translate("app.nav_methodology", lang), href="/methodology"
                    ),
                ],
            ),
            html.Div(className="app-account", children=_make_account_links(lang)),
            html.Div(
                className="app-switches",
                children=[
                    html.Button("RU", id="app-lang-ru", n_clicks=0, lang="ru"),
                    html.Button("EN", id="app-lang-en", n_clicks=0, lang="en"),
                    html.Button(
                        "◐",
                        id="app-theme-toggle",
                        n_clicks=0,
                        title=translate("app.theme", lang),
                    ),
                ],
            ),
        ],
    )


def _make_account_links(lang: str) -> list:
    # Accounts are optional for this module: without a login manager on the
    # server (a public dashboard in tests) the slot stays empty.
    if getattr(current_app, "login_manager", None) is None:
        return []
    from flask_login import current_user

    if not current_user.is_authenticated:
        return [html.A(translate("app.login", lang), href="/login")]
    role = getattr(current_user, "role", "user")
    links = [
        html.Span(current_user.login, className="app-user"),
        html.A(translate("app.account", lang), href="/account"),
    ]
    if role in ("moderator", "admin"):
        links.append(html.A(translate("app.moderator", lang), href="/moderator"))
    if role == "admin":
        links.append(html.A(translate("app.admin", lang), href="/admin"))
    links.append(html.A(translate("app.logout", lang), href="/logout"))
    return links


def _make_banners(lang: str) -> list:
    session = request_session()
    settings = current_settings()
    banners = []
    if get_data_info(session).dataset == "demo":
        banners.append(
            html.Div(
                translate("app.demo_banner", lang),
                id="app-demo-banner",
                className="app-banner app-banner-demo",
                role="status",
            )
        )
    if get_maintenance(session, settings.maintenance_stale_seconds) is not None:
        banners.append(
            html.Div(
                translate("app.maintenance_banner", lang),
                id="app-maintenance-banner",
                className="app-banner app-banner-maintenance",
                role="status",
            )
        )
    return banners


def _make_footer(lang: str) -> html.Footer:
    info = get_data_info(request_session())
    refreshed = (
        format_moscow_time(info.refreshed_at, lang)
        if info.refreshed_at
        else translate("app.footer_never", lang)
    )
    return html.Footer(
        className="app-footer",
        children=[
            html.Span(
                translate(
                    "app.footer_data", lang, version=info.version, refreshed=refreshed
                ),
                id="app-data-version",
            ),
            html.Span(translate("app.footer_source", lang)),
        ],
    )


def render_page(pathname: str | None, search: str | None) -> object:
    """The page for `pathname`, in the request's language."""
    lang = request_language()
    if pathname in (None, "", "/"):
        return analytics.layout(lang, search or "")
    if pathname.rstrip("/") == METHODOLOGY_PATH:
        return methodology.layout(lang)
    return html.Div(
        html.H1(translate("app.not_found", lang)), className="app-not-found"
    )


def _register_shell_callbacks(app: dash.Dash) -> None:
    app.callback(
        Output("app-page", "children"),
        Input("app-url", "pathname"),
        State("app-url", "search"),
    )(render_page)

    # The language lives in a cookie that Flask pages read too; a reload
    # re-renders every text of the shell and the page in the new language.
    app.clientside_callback(
        f"""
        function(ruClicks, enClicks) {{
            const picked = dash_clientside.callback_context.triggered_id;
            if (!picked) {{ return dash_clientside.no_update; }}
            const lang = picked === "app-lang-en" ? "en" : "ru";
            document.cookie = "{LANGUAGE_COOKIE}=" + lang +
                "; path=/; max-age={LANGUAGE_COOKIE_SECONDS}; SameSite=Lax";
            window.location.reload();
            return lang;
        }}
        """,
        Output("app-language", "data"),
        Input("app-lang-ru", "n_clicks"),
        Input("app-lang-en", "n_clicks"),
        prevent_initial_call=True,
    )

    app.clientside_callback(
        """
        function(clicks, theme) {
            const picked = dash_clientside.callback_context.triggered_id;
            let next = theme || "light";
            if (picked === "app-theme-toggle") {
                next = next === "dark" ? "light" : "dark";
            }
            document.documentElement.dataset.theme = next;
            return next;
        }
        """,
        Output("app-theme", "data"),
        Input("app-theme-toggle", "n_clicks"),
        State("app-theme", "data"),
    )

    app.clientside_callback(
        """
        function(clicks) {
            document.body.classList.toggle("app-drawer-open");
            return dash_clientside.no_update;
        }
        """,
        Output("app-drawer-toggle", "title"),
        Input("app-drawer-toggle", "n_clicks"),
        prevent_initial_call=True,
    )
