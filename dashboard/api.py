"""The JSON API: `/api/v1/stats` and the area and employer searches.

The views stay thin: parse the query with `services.filters`, call the
models, answer JSON. A malformed parameter is a 400 naming the first bad
parameter, never a 500. Access checks come from the request guard.
"""

from __future__ import annotations

import logging

from flask import Blueprint
from flask import Flask
from flask import jsonify
from flask import request

from services.analytics import get_stats
from services.filters import FilterError
from services.filters import parse_filters
from services.lookup import search_areas
from services.lookup import search_employers
from services.runtime import current_settings
from services.runtime import request_session

logger = logging.getLogger(__name__)

MAX_SEARCH_LENGTH = 200

api = Blueprint("api", __name__, url_prefix="/api/v1")


def init_api(server: Flask) -> None:
    """Attach the API routes to the Flask server."""
    server.register_blueprint(api)


def error_response(error: FilterError):
    body = {"param": error.param, "value": error.value, "message": error.message}
    return jsonify(error=body), 400


@api.get("/stats")
def stats_view():
    filters, errors = parse_filters(request.args)
    if errors:
        return error_response(errors[0])
    return jsonify(get_stats(request_session(), filters, current_settings()))


@api.get("/areas")
def areas_view():
    q = request.args.get("q", "")
    if len(q) > MAX_SEARCH_LENGTH:
        return error_response(_long_search_error(q))
    return jsonify(items=search_areas(request_session(), q))


@api.get("/employers")
def employers_view():
    q = request.args.get("q", "")
    if len(q) > MAX_SEARCH_LENGTH:
        return error_response(_long_search_error(q))
    return jsonify(items=search_employers(request_session(), q))


def _long_search_error(q: str) -> FilterError:
    return FilterError(
        "q",
        q,
        f"the search text is {len(q)} characters; the limit is {MAX_SEARCH_LENGTH}",
    )
