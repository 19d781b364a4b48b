"""Hot swap: poll the registry and hand a newly promoted model to a running agent."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from agent.core.pipeline import Agent
from agent.mlops.registry.loading import load_generator, load_parser, local_path, store_for
from agent.mlops.registry.store import ModelStore
from agent.mlops.registry.versions import active_versions
from agent.settings import Settings

log = logging.getLogger(__name__)


class ModelWatcher:
    """Checks the active versions every ``interval`` seconds and swaps changed models in."""

    def __init__(
        self,
        agent: Agent,
        sessions: sessionmaker[Session],
        *,
        interval: float,
        model_dir: Path,
        store: ModelStore | None = None,
    ) -> None:
        self.agent = agent
        self.sessions = sessions
        self.interval = interval
        self.model_dir = model_dir
        self.store = store
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        # Versions that failed to load: logged once, not retried every poll, until promoted anew
        # (a new promotion time makes a new key).
        self._failed: set[tuple[str, str, object]] = set()
        # The last promotion loaded per kind, so a row whose served_as does not match what its
        # files report is loaded once, not on every poll.
        self._loaded: dict[str, tuple[str, str, object]] = {}

    def poll_once(self) -> list[str]:
        """Swap in every kind whose active version differs from what the agent serves."""
        # Rows stay readable after the session closes: nothing expires them without a commit.
        with self.sessions() as session:
            wanted = active_versions(session)
        serving = {
            "nlu": self.agent.parser.version,
            "generator": self.agent.generator.version if self.agent.generator else None,
        }
        swapped = []
        for kind, row in sorted(wanted.items()):
            key = (kind, row.version, row.promoted_at)
            if serving.get(kind) == row.served_as or key in self._failed:
                continue
            if self._loaded.get(kind) == key:
                continue
            try:
                path = local_path(row, self.model_dir, self.store)
                if kind == "nlu":
                    self.agent.swap_models(parser=load_parser(path))
                else:
                    served = self.agent.generator
                    self.agent.swap_models(generator=load_generator(path, like=served))
            except Exception:  # a bad model must never stop the bot: keep serving the old one
                log.exception("could not load %s %s; still serving the old one", kind, row.version)
                self._failed.add(key)
                continue
            self._loaded[kind] = key
            log.info("now serving %s %s (%s)", kind, row.version, row.served_as)
            swapped.append(kind)
        return swapped

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.poll_once()
            except Exception:  # the database may blink; the next poll tries again
                log.exception("model watcher poll failed")

    def start(self) -> ModelWatcher:
        """Poll once now, then in a daemon thread that dies with the process."""
        try:
            self.poll_once()
        except Exception:
            log.exception("model watcher's first poll failed")
        self._thread = threading.Thread(target=self._run, name="model-watcher", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """End the polling thread (tests, clean shutdown)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)


def start_model_watcher(
    agent: Agent,
    sessions: sessionmaker[Session],
    interval: float,
    model_dir: Path,
    store: ModelStore | None = None,
) -> ModelWatcher:
    """Start hot-swapping for ``agent``: call once per process after building the agent."""
    return ModelWatcher(
        agent, sessions, interval=interval, model_dir=model_dir, store=store
    ).start()


def watch_from_settings(agent: Agent, settings: Settings) -> ModelWatcher:
    """:func:`start_model_watcher` with the interval, model dir and store from settings."""
    return start_model_watcher(
        agent,
        agent.sessions,
        settings.model_watch_interval_seconds,
        settings.model_dir,
        store_for(settings),
    )


def serve_active_versions(agent: Agent, settings: Settings) -> list[str]:
    """Load the registry's active models into ``agent`` once: for short commands and start-up."""
    return ModelWatcher(
        agent,
        agent.sessions,
        interval=settings.model_watch_interval_seconds,
        model_dir=settings.model_dir,
        store=store_for(settings),
    ).poll_once()


def serve_models(agent: Agent, settings: Settings, watch: bool) -> None:
    """Serve the registry's promoted models (else the settings' paths) in a new agent.

    With ``watch`` (long-running processes) newly promoted versions keep coming; the watcher's
    first poll serves the current ones. :class:`agent.context.AppContext` calls this.
    """
    if watch:
        watch_from_settings(agent, settings)
    else:
        serve_active_versions(agent, settings)
