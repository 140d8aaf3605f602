"""Person colours: one stable colour per person or track id.

A fixed list rather than random hues, so that the same track keeps its colour across frames and
runs, and neighbouring ids (0, 1, 2: the people of one image) get colours far apart. The hues are
light and slightly desaturated so Lambert shading still shows the body shape on every colour.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

# RGB in [0, 1]; ids wrap around after the last entry.
PALETTE = np.array(
    [
        (0.40, 0.65, 0.95),  # blue
        (0.95, 0.55, 0.35),  # orange
        (0.45, 0.85, 0.50),  # green
        (0.90, 0.45, 0.65),  # pink
        (0.95, 0.85, 0.40),  # yellow
        (0.65, 0.50, 0.90),  # violet
        (0.40, 0.85, 0.85),  # cyan
        (0.85, 0.35, 0.35),  # red
        (0.70, 0.80, 0.45),  # olive
        (0.75, 0.75, 0.80),  # grey-lilac
    ],
    dtype=np.float32,
)


def person_colors(ids: Sequence[int]) -> np.ndarray:
    """The palette colour of each id, ``(P,) -> (P, 3)`` float32 RGB in [0, 1].

    Negative ids (untracked persons) are allowed and wrap like Python indices do.
    """
    index = np.asarray(ids, dtype=np.int64).reshape(-1) % len(PALETTE)
    return PALETTE[index]
