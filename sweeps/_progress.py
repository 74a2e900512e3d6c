"""The progress bar of ``progress=True``: tqdm on stderr, with rate and ETA."""

from __future__ import annotations

import sys


class ProgressBar:
    """Counts model-steps (models x training steps), so chunks weigh what they cost.

    The bar starts at the first report, at the work already done (resumed chunks), so
    the rate and ETA measure this run only."""

    def __init__(self, total: int):
        self.total = total
        self._bar = None

    def update(self, done: int) -> None:
        if self._bar is None:
            from tqdm import tqdm

            self._bar = tqdm(
                total=self.total,
                initial=done,
                unit="model-step",
                unit_scale=True,
                file=sys.stderr,
                dynamic_ncols=True,
                smoothing=0.1,
                desc="sweep",
            )
        self._bar.update(done - self._bar.n)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
