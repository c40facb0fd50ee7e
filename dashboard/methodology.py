"""The methodology page: how every number on the analytics page is made.

It explains the statistics rules of design §5 in plain words, in Russian and
in English, so a reader can check a figure without reading the code.
"""

from __future__ import annotations

from dash import dcc
from dash import html

from dashboard.i18n import register_messages
from dashboard.i18n import translate

SECTIONS = (
    "source",
    "disclosure",
    "monthly",
    "currency",
    "period",
    "tax",
    "implausible",
    "aggregates",
    "areas",
    "experience",
    "companies",
    "time",
    "histogram",
    "tops",
    "scope",
)

register_messages(
    {
        "methodology.title": ("Как считаются цифры", "How the figures are made"),
        "methodology.source.title": ("Откуда данные", "Where the data comes from"),
        "methodology.source.text": (
            "Вакансии загружаются из открытого API hh.ru. Каждое обновление "
            "сохраняет всё, что hh.ru публикует в выбранной области поиска; "
            "вакансия, которая пропала из полного обновления, считается "
            "закрытой. Версия данных и время обновления указаны внизу страницы.",
            "Vacancies are loaded from the public hh.ru API. Each refresh keeps "
            "everything hh.ru publishes in its search scope; a vacancy that a "
            "complete refresh no longer returns counts as closed. The data "
            "version and refresh time are at the bottom of every page.",
        ),
        "methodology.disclosure.title": ("Доля с зарплатой", "Disclosure rate"),
        "methodology.disclosure.text": (
            "Вакансия «указывает зарплату», если в ней есть хотя бы одна "
            "граница вилки — в любой валюте и за любой период. Доля — это число "
            "таких вакансий, делённое на число всех вакансий выборки.",
            "A vacancy discloses a salary when it states at least one bound of "
            "the range, in any currency and for any pay period. The rate is "
            "the number of such vacancies divided by all vacancies selected.",
        ),
        "methodology.monthly.title": (
            "Одно число на вакансию",
            "One number per vacancy",
        ),
        "methodology.monthly.text": (
            "Обе границы вилки переводятся в рубли. В режиме «Середина» берётся "
            "середина вилки, а если указана одна граница — она сама. В режимах "
            "«От» и «До» участвуют только вакансии с нижней или, соответственно, "
            "верхней границей, без подстановок.",
            "Both bounds are converted to roubles. The Midpoint view takes the "
            "middle of the range, or the single bound when only one is given. "
            "The From and To views use only vacancies that state a lower or an "
            "upper bound, with nothing filled in.",
        ),
        "methodology.currency.title": ("Валюты", "Currencies"),
        "methodology.currency.text": (
            "Суммы в валюте делятся на курс из справочника hh.ru, полученный при "
            "том же обновлении (сколько единиц валюты стоит один рубль). "
            "Белорусские рубли уже деноминированы. Зарплата в валюте, которой "
            "нет в справочнике, не угадывается как рублёвая: она исключается и "
            "учитывается в строке об исключениях.",
            "Foreign amounts are divided by the rate from hh.ru's dictionary, "
            "fetched in the same refresh (units of the currency per rouble). "
            "Belarusian roubles are already the redenominated ones. A salary in "
            "a currency the dictionary does not list is never taken as roubles: "
            "it is excluded and counted in the exclusions line.",
        ),
        "methodology.period.title": ("Только помесячная оплата", "Monthly pay only"),
        "methodology.period.text": (
            "В статистику зарплат входят только оклады за месяц. Почасовая, "
            "посменная, сдельная оплата и оплата за вахту считаются отдельно и "
            "не смешиваются с месячными суммами.",
            "Salary statistics use monthly pay only. Hourly, per-shift, "
            "per-service and rotation pay are counted apart and never mixed "
            "with monthly amounts.",
        ),
        "methodology.tax.title": ("На руки или до вычета", "Net or gross"),
        "methodology.tax.text": (
            "По умолчанию зарплаты показаны на руки. Для регионов России "
            "пересчёт использует прогрессивную шкалу НДФЛ, действующую с 2025 "
            "года: годовая сумма (месячная × 12) облагается по 13 % до 2,4 млн ₽, "
            "15 % — от 2,4 до 5 млн, 18 % — от 5 до 20 млн, 20 % — от 20 до 50 "
            "млн и 22 % — свыше. Обратный пересчёт — точное обращение этой "
            "функции. Предполагается налоговый резидент. Если работодатель не "
            "указал, до или после вычета сумма, она считается суммой до вычета. "
            "Зарплаты за пределами России переводятся в рубли, но берутся как "
            "опубликованы; их число указано под карточками.",
            "Salaries are shown net by default. For areas in Russia the "
            "conversion follows the progressive income tax in force since 2025: "
            "the yearly amount (monthly × 12) is taxed at 13% up to 2.4M ₽, 15% "
            "from 2.4M to 5M, 18% from 5M to 20M, 20% from 20M to 50M and 22% "
            "above. Net to gross is the exact inverse. A tax resident is "
            "assumed. When the employer does not say whether the amount is "
            "before or after tax, it is taken as gross. Salaries outside Russia "
            "are converted to roubles but taken as published; their number is "
            "shown under the cards.",
        ),
        "methodology.implausible.title": (
            "Неправдоподобные суммы",
            "Implausible amounts",
        ),
        "methodology.implausible.text": (
            "Если месячная сумма в рублях, как опубликована (до пересчёта налога), "
            "меньше 5 000 ₽ или больше 3 000 000 ₽, вакансия исключается из "
            "статистики зарплат и учитывается отдельно: обычно это почасовая или "
            "годовая сумма, ошибочно указанная как месячная. Порог не зависит от "
            "выбора «на руки» или «до вычета», поэтому n от него тоже не зависит.",
            "When the monthly rouble amount as published (before any tax "
            "conversion) is below 5,000 ₽ or above 3,000,000 ₽, the vacancy is "
            "left out of salary statistics and counted: it is usually an hourly "
            "or yearly figure entered as monthly. The check ignores the net or "
            "gross choice, so n does not depend on it.",
        ),
        "methodology.aggregates.title": (
            "Медиана, квартили, n",
            "Median, quartiles, n",
        ),
        "methodology.aggregates.text": (
            "n — число зарплат в расчёте. Среднее, P10, P25, медиана, P75 и P90 "
            "считаются по самим вакансиям (линейная интерполяция), никогда как "
            "среднее средних. При n меньше 5 статистика не показывается — только "
            "n. При n меньше 30 цифры помечены как неточные.",
            "n is the number of salaries used. The mean, P10, P25, median, P75 "
            "and P90 are computed from the vacancies themselves (linear "
            "interpolation), never by averaging averages. With n below 5 no "
            "statistic is shown, only n. With n below 30 the figures carry a "
            "low-confidence mark.",
        ),
        "methodology.areas.title": ("Регионы", "Areas"),
        "methodology.areas.text": (
            "Регион или страна включает все населённые пункты внутри. Москва "
            "(id 1) не включает Московскую область (id 2019). Названия могут "
            "совпадать, поэтому рядом указан родительский регион. «Россия без "
            "Москвы и Петербурга» — это Россия с исключёнными городами 1 и 2.",
            "A region or country includes every area below it. Moscow (id 1) "
            "does not include Moscow Oblast (id 2019). Names can repeat, so the "
            "parent region is shown beside them. 'Russia without Moscow and St "
            "Petersburg' is Russia with areas 1 and 2 excluded.",
        ),
        "methodology.experience.title": ("Опыт и другие категории", "Categories"),
        "methodology.experience.text": (
            "Опыт упорядочен: без опыта, 1–3 года, 3–6 лет, более 6 лет. "
            "Вакансии без указанного опыта, типа занятости или формата работы "
            "попадают в группу «Не указан», и её тоже можно выбрать фильтром. "
            "Вакансия с несколькими форматами работы входит в каждый из них.",
            "Experience is ordered: none, 1–3 years, 3–6 years, over 6 years. "
            "Vacancies that state no experience, employment form or work format "
            "form a 'Not stated' group, which is a filter value too. A vacancy "
            "with several work formats counts in each of them.",
        ),
        "methodology.companies.title": ("Компании", "Companies"),
        "methodology.companies.text": (
            "Число компаний — это число разных идентификаторов работодателей. "
            "Анонимные вакансии образуют одну группу и не сливаются с компанией "
            "того же названия.",
            "The company count is the number of distinct employer ids. "
            "Anonymous vacancies form one group and never merge with a named "
            "company of the same name.",
        ),
        "methodology.time.title": ("Время и недели", "Time and weeks"),
        "methodology.time.text": (
            "Время хранится в UTC, а показывается и группируется по московскому "
            "времени. Недели начинаются в понедельник и подписаны его датой; "
            "недельный график следует тем же фильтрам, что и вся страница.",
            "Times are stored in UTC and shown and grouped in Moscow time. "
            "Weeks start on Monday and are labelled by that date; the weekly "
            "chart follows the same filters as the rest of the page.",
        ),
        "methodology.histogram.title": ("Гистограмма", "Histogram"),
        "methodology.histogram.text": (
            "Интервалы по 10 000 ₽ от нуля до 99-го процентиля; последний "
            "интервал вмещает всё, что выше. Интервалы считаются на сервере, "
            "в браузер приходят только их высоты.",
            "Bins of 10,000 ₽ from zero up to the 99th percentile; the last bin "
            "holds everything above. Bins are counted on the server; the "
            "browser receives only their heights.",
        ),
        "methodology.tops.title": ("Топ-таблицы", "Top tables"),
        "methodology.tops.text": (
            "20 регионов (собственный регион вакансии) и 20 компаний с "
            "наибольшим числом вакансий в выборке, с медианой, P25–P75 и n.",
            "The 20 areas (each vacancy's own area) and the 20 named companies "
            "with the most vacancies in the selection, with median, P25–P75 and n.",
        ),
        "methodology.scope.title": ("Что показывается по умолчанию", "Default scope"),
        "methodology.scope.text": (
            "Без фильтров страница показывает все открытые вакансии всех "
            "компаний во всех регионах. Закрытые вакансии — по выбору в поле "
            "«Статус». Ссылка на страницу воспроизводит выбранные фильтры.",
            "With no filter the page shows every open vacancy of every company "
            "in every area. Closed vacancies are included on request (Status). "
            "A link to the page reproduces the chosen filters.",
        ),
        "methodology.back": ("← К аналитике", "← Back to the analytics"),
    }
)


def layout(lang: str) -> html.Article:
    """The methodology page in `lang`."""
    sections = [
        html.Section(
            id=f"methodology-{name}",
            children=[
                html.H2(translate(f"methodology.{name}.title", lang)),
                html.P(translate(f"methodology.{name}.text", lang)),
            ],
        )
        for name in SECTIONS
    ]
    return html.Article(
        className="methodology-page",
        children=[
            html.H1(translate("methodology.title", lang)),
            *sections,
            dcc.Link(translate("methodology.back", lang), href="/"),
        ],
    )
