"""Russian and English texts of the account, moderator and admin pages."""

from __future__ import annotations

from dashboard.i18n import register_messages

MESSAGES = {
    # layout
    "auth.brand": ("Зарплаты на hh.ru", "hh.ru salaries"),
    "auth.nav.analytics": ("Аналитика", "Analytics"),
    "auth.nav.account": ("Аккаунт", "Account"),
    "auth.nav.moderator": ("Модерация", "Moderation"),
    "auth.nav.admin": ("Администрирование", "Administration"),
    "auth.nav.login": ("Войти", "Sign in"),
    "auth.nav.register": ("Регистрация", "Sign up"),
    "auth.nav.logout": ("Выйти", "Sign out"),
    "auth.lang.switch": ("English", "Русский"),
    # forms
    "auth.field.login": ("Логин", "Login"),
    "auth.field.password": ("Пароль", "Password"),
    "auth.field.password_repeat": ("Пароль ещё раз", "Repeat the password"),
    "auth.field.current_password": ("Текущий пароль", "Current password"),
    "auth.field.new_password": ("Новый пароль", "New password"),
    "auth.login.title": ("Вход", "Sign in"),
    "auth.login.submit": ("Войти", "Sign in"),
    "auth.login.no_account": ("Нет аккаунта?", "No account yet?"),
    "auth.register.title": ("Регистрация", "Sign up"),
    "auth.register.submit": ("Зарегистрироваться", "Sign up"),
    "auth.register.hint": (
        "Логин: 3-64 латинских буквы, цифры, «_», «.», «-». Пароль: от 10 символов.",
        "Login: 3-64 latin letters, digits, '_', '.', '-'. Password: 10+ characters.",
    ),
    # account
    "auth.account.title": ("Аккаунт", "Account"),
    "auth.account.role": ("Роль", "Role"),
    "auth.account.password": ("Смена пароля", "Change password"),
    "auth.account.password_submit": ("Сменить пароль", "Change password"),
    "auth.account.password_changed": (
        "Пароль изменён; другие сеансы завершены.",
        "Password changed; other sessions were ended.",
    ),
    "auth.tokens.title": ("API-токены", "API tokens"),
    "auth.tokens.hint": (
        "Передавайте токен в заголовке «Authorization: Bearer <токен>».",
        "Send the token in the header 'Authorization: Bearer <token>'.",
    ),
    "auth.tokens.name": ("Название", "Name"),
    "auth.tokens.create": ("Создать токен", "Create a token"),
    "auth.tokens.created": (
        "Новый токен (показан один раз, сохраните его):",
        "New token (shown once, keep it now):",
    ),
    "auth.tokens.revoke": ("Отозвать", "Revoke"),
    "auth.tokens.revoked": ("Токен отозван.", "Token revoked."),
    "auth.tokens.none": ("Токенов нет.", "No tokens."),
    "auth.tokens.too_many": (
        "Слишком много действующих токенов: отзовите ненужные.",
        "Too many live tokens: revoke the ones you do not need.",
    ),
    "auth.col.created": ("Создан", "Created"),
    "auth.col.last_used": ("Последнее использование", "Last used"),
    "auth.col.status": ("Статус", "Status"),
    "auth.status.live": ("действует", "live"),
    "auth.status.revoked": ("отозван", "revoked"),
    "auth.role.user": ("пользователь", "user"),
    "auth.role.moderator": ("модератор", "moderator"),
    "auth.role.admin": ("администратор", "admin"),
    # moderator
    "auth.mod.title": ("Модерация", "Moderation"),
    "auth.mod.journal": ("Журнал", "Journal"),
    "auth.mod.filter": ("Показать", "Show"),
    "auth.mod.export": ("Скачать CSV", "Download CSV"),
    "auth.mod.any_action": ("любое действие", "any action"),
    "auth.mod.from": ("С (дата, МСК)", "From (date, Moscow)"),
    "auth.mod.to": ("По (дата, МСК)", "To (date, Moscow)"),
    "auth.mod.found": ("Найдено записей: {total}", "Entries found: {total}"),
    "auth.mod.page": ("Страница {page} из {pages}", "Page {page} of {pages}"),
    "auth.mod.prev": ("← Назад", "← Previous"),
    "auth.mod.next": ("Вперёд →", "Next →"),
    "auth.mod.empty": ("Записей нет.", "No entries."),
    "auth.col.at": ("Время (UTC)", "Time (UTC)"),
    "auth.col.login": ("Логин", "Login"),
    "auth.col.ip": ("IP", "IP"),
    "auth.col.action": ("Действие", "Action"),
    "auth.col.details": ("Подробности", "Details"),
    "auth.bans.title": ("Блокировки", "Bans"),
    "auth.bans.kind": ("Что блокировать", "What to ban"),
    "auth.bans.kind.login": ("логин", "login"),
    "auth.bans.kind.ip": ("IP или CIDR", "IP or CIDR"),
    "auth.bans.value": ("Логин, IP или диапазон", "Login, IP or range"),
    "auth.bans.reason": ("Причина", "Reason"),
    "auth.bans.days": ("Срок, дней (пусто — бессрочно)", "Days (empty: no expiry)"),
    "auth.bans.submit": ("Заблокировать", "Ban"),
    "auth.bans.lift": ("Снять", "Lift"),
    "auth.bans.none": ("Действующих блокировок нет.", "No active bans."),
    "auth.bans.saved": ("Блокировка добавлена.", "Ban added."),
    "auth.bans.lifted": ("Блокировка снята.", "Ban lifted."),
    "auth.bans.expires": ("Истекает", "Expires"),
    "auth.bans.never": ("бессрочно", "never"),
    "auth.bans.days_invalid": (
        "Срок — целое число дней от 1 до 3650.",
        "The term is a whole number of days from 1 to 3650.",
    ),
    # admin
    "auth.admin.title": ("Администрирование", "Administration"),
    "auth.admin.users": ("Пользователи", "Users"),
    "auth.admin.set_role": ("Назначить", "Set"),
    "auth.admin.role_saved": ("Роль {login}: {role}.", "Role of {login}: {role}."),
    "auth.admin.data": ("Данные", "Data"),
    "auth.admin.areas": ("Регионы (id через запятую)", "Areas (ids, comma-separated)"),
    "auth.admin.roles": (
        "Проф. роли (id через запятую, пусто — все)",
        "Professional roles (ids, empty: all)",
    ),
    "auth.admin.days": ("За дней (пусто — всё)", "Last days (empty: everything)"),
    "auth.admin.start": ("Запустить обновление", "Start a refresh"),
    "auth.admin.started": (
        "Обновление запущено (pid {pid}).",
        "Refresh started (pid {pid}).",
    ),
    "auth.admin.already_running": (
        "Обновление №{run} уже идёт.",
        "Refresh #{run} is already running.",
    ),
    "auth.admin.cancel": ("Отменить", "Cancel"),
    "auth.admin.cancel_sent": ("Отмена запрошена.", "Cancellation requested."),
    "auth.admin.runs": ("История обновлений", "Refresh history"),
    "auth.admin.no_runs": ("Обновлений ещё не было.", "No refreshes yet."),
    "auth.admin.maintenance": (
        "Идёт запись данных: пользователи видят страницу обслуживания.",
        "Data is being written: users see the maintenance page.",
    ),
    "auth.col.run": ("№", "#"),
    "auth.col.started": ("Начало (UTC)", "Started (UTC)"),
    "auth.col.finished": ("Конец (UTC)", "Finished (UTC)"),
    "auth.col.scope": ("Охват", "Scope"),
    "auth.col.progress": ("Ход", "Progress"),
    "auth.col.by": ("Кто", "By"),
    "auth.col.role": ("Роль", "Role"),
    "auth.col.last_login": ("Последний вход", "Last sign-in"),
    # errors and refusals
    "auth.error.login_required": ("Нужно войти.", "Please sign in."),
    "auth.error.token_invalid": (
        "API-токен не распознан или отозван.",
        "The API token is unknown or revoked.",
    ),
    "auth.error.role_too_low": (
        "Эта страница недоступна для вашей роли.",
        "Your role does not give access to this page.",
    ),
    "auth.error.ip_banned": (
        "Доступ с вашего IP-адреса заблокирован.",
        "Access from your IP address is banned.",
    ),
    "auth.error.login_banned": (
        "Этот аккаунт заблокирован.",
        "This account is banned.",
    ),
    "auth.error.maintenance": (
        "Идёт обновление данных. Попробуйте через минуту.",
        "The data is being refreshed. Try again in a minute.",
    ),
    "auth.error.cross_site": (
        "Запрос отклонён: он пришёл не с нашей страницы. Обновите страницу.",
        "Request refused: it did not come from our page. Reload the page.",
    ),
    "auth.error.not_found": ("Страница не найдена.", "Page not found."),
    "auth.error.bad_credentials": (
        "Неверный логин или пароль.",
        "Wrong login or password.",
    ),
    "auth.error.rate_limited": (
        "Слишком много неудачных попыток. Подождите 15 минут.",
        "Too many failed attempts. Wait 15 minutes.",
    ),
    "auth.error.password_mismatch": ("Пароли не совпадают.", "The passwords differ."),
    "auth.error.password_short": (
        "Пароль короче 10 символов.",
        "The password is shorter than 10 characters.",
    ),
    "auth.error.password_long": (
        "Пароль слишком длинный.",
        "The password is too long.",
    ),
    "auth.error.login_invalid": (
        "Логин: 3-64 латинских буквы, цифры, «_», «.», «-».",
        "Login: 3-64 latin letters, digits, '_', '.', '-'.",
    ),
    "auth.error.login_taken": ("Этот логин уже занят.", "This login is taken."),
    "auth.error.last_admin": (
        "Последний администратор не может снять с себя роль.",
        "The last admin cannot give up the admin role.",
    ),
    "auth.error.role_invalid": ("Неизвестная роль.", "Unknown role."),
    "auth.error.ban_self": (
        "Нельзя заблокировать себя или свой IP.",
        "You cannot ban yourself or your own IP.",
    ),
    "auth.error.ban_role": (
        "Модераторов и администраторов так заблокировать нельзя.",
        "Moderators and admins cannot be banned this way.",
    ),
    "auth.error.ban_ip_invalid": (
        "Это не IP-адрес и не CIDR-диапазон.",
        "This is not an IP address or a CIDR range.",
    ),
    "auth.error.ban_kind_invalid": ("Неизвестный вид блокировки.", "Unknown ban kind."),
    "auth.error.ban_value_missing": ("Укажите, что блокировать.", "Say what to ban."),
    "auth.error.ban_missing": ("Такой блокировки нет.", "There is no such ban."),
    "auth.error.scope_invalid": (
        "Охват: id — целые числа через запятую, дни — от 1 до 3650.",
        "Scope: ids are whole numbers, comma-separated; days from 1 to 3650.",
    ),
    "auth.error.refresh_start_failed": (
        "Не удалось запустить обновление: {reason}",
        "Could not start the refresh: {reason}",
    ),
    "auth.error.title": ("Ошибка {status}", "Error {status}"),
    "auth.error.go_login": ("Войти", "Sign in"),
    "auth.error.go_home": ("На главную", "Home"),
}


def register_auth_messages() -> None:
    register_messages(MESSAGES)
