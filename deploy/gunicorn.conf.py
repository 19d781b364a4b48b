"""gunicorn settings for production: `gunicorn -c deploy/gunicorn.conf.py 'web:create_app()'`.

Override any value without editing this file through gunicorn's own GUNICORN_CMD_ARGS, e.g.
GUNICORN_CMD_ARGS="--workers 4 --bind 0.0.0.0:8000".
"""

from __future__ import annotations

import os

# nginx is in front on the same machine; nothing else should reach gunicorn directly.
bind = ["127.0.0.1:8000"]
# Each worker holds its own NLU and generator in memory, so memory, not cores, sets the count:
# two fit a 2 GiB t3.small beside the Twitter loop (docs/deploy.md).
workers = 2
# Threads let a worker answer /healthz and static files while another thread runs a turn.
worker_class = "gthread"
threads = 4
# A turn takes tens of milliseconds; 30 s only trips on a stuck worker, which is then replaced.
timeout = 30
# Below systemd's TimeoutStopSec=40, so in-flight requests finish before SIGKILL.
graceful_timeout = 25
# Matches nginx's upstream keepalive: idle connections stay open between requests.
keepalive = 5
# Recycle workers now and then, so a slow leak in a library never grows without bound.
max_requests = 2000
max_requests_jitter = 200
# Trust X-Forwarded-Proto only from nginx on this machine.
forwarded_allow_ips = "127.0.0.1,::1"
# Worker heartbeats on tmpfs: a slow disk must not make healthy workers look dead.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None
# Logs to stderr; systemd sends them to journald.
accesslog = "-"
errorlog = "-"
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms "%(a)s"'
proc_name = "threadbot-web"
# gunicorn 27's control socket (for gunicornc) is unused here; off, it writes nothing to $HOME.
control_socket_disable = True


def _logconfig(log_format: str, level: str) -> dict[str, object]:
    """One stderr handler for gunicorn's and the app's loggers, text or JSON like the CLI."""
    formatter: dict[str, object] = (
        {"()": "agent.ops.logs.JsonFormatter"}
        if log_format == "json"
        else {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}
    )
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"main": formatter},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": "main",
                "stream": "ext://sys.stderr",
            }
        },
        "root": {"level": level, "handlers": ["stderr"]},
        "loggers": {
            "gunicorn.error": {"level": level, "handlers": [], "propagate": True},
            "gunicorn.access": {"level": "INFO", "handlers": [], "propagate": True},
            # transitions logs every callback and alembic every /readyz schema check at INFO.
            "transitions": {"level": "WARNING"},
            "alembic": {"level": "WARNING"},
        },
    }


logconfig_dict = _logconfig(
    os.environ.get("THREADBOT_LOG_FORMAT", "text").lower(),
    os.environ.get("THREADBOT_LOG_LEVEL", "INFO").upper(),
)
