"""Peak resident memory of this process over a block of code, sampled by a background thread.

``resource.getrusage(...).ru_maxrss`` is the peak over the *whole* process life, so it cannot tell
two stages of one script apart; this samples ``psutil`` RSS every ``interval`` seconds instead (a
spike shorter than the interval can be missed, so the process maximum is reported beside it).
"""

from __future__ import annotations

import resource
import threading

import psutil


class PeakRSS:
    """``with PeakRSS() as m: ...`` then ``m.peak_mb`` (sampled peak inside the block) and
    ``m.process_peak_mb`` (the process's ru_maxrss, which includes everything before the block)."""

    def __init__(self, interval: float = 0.1) -> None:
        self.interval = interval
        self._proc = psutil.Process()
        self._stop = threading.Event()
        self.start_mb = 0.0
        self.peak_mb = 0.0

    def _rss_mb(self) -> float:
        return self._proc.memory_info().rss / 2**20

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.peak_mb = max(self.peak_mb, self._rss_mb())

    def __enter__(self) -> "PeakRSS":
        self.start_mb = self.peak_mb = self._rss_mb()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak_mb = max(self.peak_mb, self._rss_mb())

    @property
    def process_peak_mb(self) -> float:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
