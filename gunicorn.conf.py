"""gunicorn settings: each worker maps the current dataset before serving.

Without this the first request of every worker would wait for the dataset;
the first worker to start builds the data version's snapshot and the others
map it. A database that is not ready yet only moves the load to the first
request.
"""

import logging

logger = logging.getLogger("gunicorn.error")

# gunicorn's control socket has one default path per user
# (~/.gunicorn/gunicorn.ctl): a second server on the machine would take it
# over from the first. Nothing here uses it.
control_socket_disable = True


def post_worker_init(worker) -> None:
    from sqlalchemy.exc import SQLAlchemyError

    from services.dataset import DatasetError
    from services.dataset import warm_dataset

    extensions = getattr(worker.wsgi, "extensions", None)
    if extensions is None:
        return
    try:
        warm_dataset(extensions["hh_engine"], extensions["hh_settings"])
    except (SQLAlchemyError, DatasetError):
        logger.exception("Dataset not loaded at worker start; the first request will")
