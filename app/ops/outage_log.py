"""Database outages in the log: one line when one starts, a summary at most every `interval`
seconds while it lasts, one line when the database answers again; never a line per request."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

log = logging.getLogger("borderstats")


class OutageLog:
    """Count failed database requests and log only state changes and periodic summaries."""

    def __init__(self, *, interval: float = 60.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.interval = interval
        self.clock = clock
        self.down_since: float | None = None
        self.failures = 0  # since the last line written
        self.total = 0  # since the outage began
        self.last_line = 0.0
        self.reason = ""

    @property
    def down(self) -> bool:
        return self.down_since is not None

    def failed(self, reason: str) -> None:
        """Record a request the database could not serve (`reason`: the detail, for the log)."""
        now = self.clock()
        self.reason = reason
        self.total += 1
        if self.down_since is None:
            self.down_since = now
            self.last_line = now
            self.failures = 0
            log.warning("database unavailable: %s", reason, extra={"outage": "started"})
            return
        self.failures += 1
        if now - self.last_line >= self.interval:
            log.warning("database still unavailable after %.0f s: %d more request(s) failed in the "
                        "last %.0f s; last reason: %s", now - self.down_since, self.failures,
                        now - self.last_line, reason,
                        extra={"outage": "ongoing", "failed_requests": self.failures})
            self.last_line = now
            self.failures = 0

    def succeeded(self) -> None:
        """Record a statement the database answered; ends an outage (one line)."""
        if self.down_since is None:
            return
        now = self.clock()
        log.warning("database available again after %.1f s; %d request(s) failed meanwhile",
                    now - self.down_since, self.total,
                    extra={"outage": "ended", "failed_requests": self.total})
        self.down_since = None
        self.failures = 0
        self.total = 0
