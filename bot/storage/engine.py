"""Where the store lives: PostgreSQL when `DATABASE_URL` is set, else SQLite in `BOT_DATA_DIR`.

One schema and one set of statements for both (bot/storage/store.py); this module only makes
the PostgreSQL engine: psycopg 3 with SQLAlchemy's own bounded pool (`pool_size` connections,
no overflow: one per store thread), so each process holds a bounded number of connections
(docs/deployment.md, bench/notes.md). A connection that broke (the server restarted) is
noticed before use (`pool_pre_ping`) and replaced; a server that is down fails a call within
`CONNECT_TIMEOUT_S`, so the front answers Slack 5xx in time instead of acking a question it
could not keep."""

from __future__ import annotations

from sqlalchemy import Engine, create_engine
from sqlalchemy.engine import make_url

from config.settings import POSTGRES_SCHEMES

CONNECT_TIMEOUT_S = 2  # Slack waits 3 s for an ack
LOCK_WAIT_MS = 2000
TCP_USER_TIMEOUT_MS = 3000


def driver_url(url: str) -> str:
    """`postgres://…` or `postgresql://…` (as platforms set it) → SQLAlchemy's URL for
    psycopg 3."""
    if not url.startswith(POSTGRES_SCHEMES):
        raise ValueError("DATABASE_URL must start with postgresql:// or postgres://")
    _, rest = url.split("://", 1)
    return f"postgresql+psycopg://{rest}"


def postgres_engine(url: str, *, durable: bool, pool_size: int) -> Engine:
    """`durable`: each commit waits for the server's WAL flush (the front's, before it acks);
    otherwise `synchronous_commit=off` (the worker's bookkeeping: a mark lost with the
    server's power means a question taken again or a trace sent again, both recognised)."""
    options = f"-c lock_timeout={LOCK_WAIT_MS}"
    if not durable:
        options += " -c synchronous_commit=off"
    return create_engine(
        make_url(driver_url(url)),
        pool_size=pool_size,
        max_overflow=0,
        pool_timeout=CONNECT_TIMEOUT_S,
        pool_pre_ping=True,
        connect_args={
            "connect_timeout": CONNECT_TIMEOUT_S,
            "options": options,
            "application_name": "slack-feedback-bot",
            # A database host that vanished (failover, lost network) without closing its
            # connections: data it never acknowledges fails the call after TCP_USER_TIMEOUT_MS,
            # an idle connection is found dead by keepalives, instead of after TCP's minutes.
            "tcp_user_timeout": TCP_USER_TIMEOUT_MS,
            "keepalives": 1,
            "keepalives_idle": 10,
            "keepalives_interval": 2,
            "keepalives_count": 3,
        },
    )


def safe_url(url: str) -> str:
    """The URL without its password, for logs."""
    return make_url(driver_url(url)).render_as_string(hide_password=True)
