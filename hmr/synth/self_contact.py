"""Self-intersection test for sampled poses: the body as capsules around its bone segments.

A posed skeleton is cheap (104 bone heads) where the mesh is not (13718 skinned vertices), and a
limb passing through the body shows as two capsules that overlap deeply. Segments that meet at a
joint (thigh and shin, the torso and an upper arm) always touch and are never compared; shallow
contact (a hand on a hip, crossed arms resting on the chest) is allowed up to ``tolerance_m``.
"""

from __future__ import annotations

import numpy as np

from hmr.body.anny_body import ANNY_BONE_LABELS

#: name -> (start bone, end bone, radius in metres of an average adult), plus lateral offset for the torso halves
SEGMENTS: dict[str, tuple[str, str, float, float]] = {
    "torso_l": ("root", "neck01", 0.1, 0.06),
    "torso_r": ("root", "neck01", 0.1, -0.06),
    "head": ("neck03", "head", 0.1, 0.0),
    "upperarm_l": ("upperarm01.L", "lowerarm01.L", 0.045, 0.0),
    "forearm_l": ("lowerarm01.L", "wrist.L", 0.035, 0.0),
    "hand_l": ("wrist.L", "finger3-2.L", 0.03, 0.0),
    "upperarm_r": ("upperarm01.R", "lowerarm01.R", 0.045, 0.0),
    "forearm_r": ("lowerarm01.R", "wrist.R", 0.035, 0.0),
    "hand_r": ("wrist.R", "finger3-2.R", 0.03, 0.0),
    "thigh_l": ("upperleg01.L", "lowerleg01.L", 0.07, 0.0),
    "shin_l": ("lowerleg01.L", "foot.L", 0.05, 0.0),
    "foot_l": ("foot.L", "toe3-1.L", 0.04, 0.0),
    "thigh_r": ("upperleg01.R", "lowerleg01.R", 0.07, 0.0),
    "shin_r": ("lowerleg01.R", "foot.R", 0.05, 0.0),
    "foot_r": ("foot.R", "toe3-1.R", 0.04, 0.0),
}
#: pairs that meet at a joint or lie side by side by construction: never tested
_ADJACENT = {
    frozenset(p)
    for p in [
        ("torso_l", "torso_r"),
        ("torso_l", "head"),
        ("torso_r", "head"),
        *[(t, f"upperarm_{s}") for t in ("torso_l", "torso_r") for s in "lr"],
        *[(t, f"thigh_{s}") for t in ("torso_l", "torso_r") for s in "lr"],
        *[(f"upperarm_{s}", f"forearm_{s}") for s in "lr"],
        *[(f"forearm_{s}", f"hand_{s}") for s in "lr"],
        *[(f"thigh_{s}", f"shin_{s}") for s in "lr"],
        *[(f"shin_{s}", f"foot_{s}") for s in "lr"],
        ("thigh_l", "thigh_r"),  # they meet at the pelvis; crossing is caught lower down, knee and shin
    ]
}


def segment_distances(p0: np.ndarray, p1: np.ndarray, q0: np.ndarray, q1: np.ndarray) -> np.ndarray:
    """Shortest distances between segments ``p0 p1`` and ``q0 q1``, all ``(N, 3)``; returns ``(N,)``."""
    d1, d2, r = p1 - p0, q1 - q0, p0 - q0
    a = np.einsum("ij,ij->i", d1, d1)
    e = np.einsum("ij,ij->i", d2, d2)
    f = np.einsum("ij,ij->i", d2, r)
    c = np.einsum("ij,ij->i", d1, r)
    b = np.einsum("ij,ij->i", d1, d2)
    denom = a * e - b * b
    s = np.where(denom > 1e-12, np.clip((b * f - c * e) / np.maximum(denom, 1e-12), 0, 1), 0.0)
    t = (b * s + f) / np.maximum(e, 1e-12)
    # t outside [0, 1]: clamp it and recompute s for that end of the second segment
    t_clamped = np.clip(t, 0, 1)
    s = np.where(t != t_clamped, np.clip((b * t_clamped - c) / np.maximum(a, 1e-12), 0, 1), s)
    closest_p = p0 + s[:, None] * d1
    closest_q = q0 + t_clamped[:, None] * d2
    return np.linalg.norm(closest_p - closest_q, axis=1)


class CapsuleBody:
    """The capsules of :data:`SEGMENTS` on a skeleton whose rest heads are given."""

    tolerance_m = 0.035

    def __init__(self, rest_heads: np.ndarray, parents: list[int]) -> None:
        names = list(SEGMENTS)
        self.start = np.array([ANNY_BONE_LABELS.index(SEGMENTS[n][0]) for n in names])
        self.end = np.array([ANNY_BONE_LABELS.index(SEGMENTS[n][1]) for n in names])
        self.radius = np.array([SEGMENTS[n][2] for n in names])
        self.offset_x = np.array([SEGMENTS[n][3] for n in names])
        pairs = [
            (i, j)
            for i in range(len(names))
            for j in range(i + 1, len(names))
            if frozenset((names[i], names[j])) not in _ADJACENT
        ]
        self.pairs = np.array(pairs)
        self.names = names
        self.root = ANNY_BONE_LABELS.index("root")
        self.spine = ANNY_BONE_LABELS.index("spine01")

    def _ends(self, heads: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        start, end = heads[self.start].copy(), heads[self.end].copy()
        # the torso halves sit beside the spine, along the posed pelvis-to-chest frame's left axis
        left = heads[ANNY_BONE_LABELS.index("upperleg01.L")] - heads[ANNY_BONE_LABELS.index("upperleg01.R")]
        left = left / max(float(np.linalg.norm(left)), 1e-9)
        start += self.offset_x[:, None] * left
        end += self.offset_x[:, None] * left
        return start, end

    def penetration_m(self, heads: np.ndarray) -> float:
        """Deepest overlap (metres, <= 0 when nothing overlaps) of two non-adjacent capsules."""
        start, end = self._ends(heads)
        i, j = self.pairs[:, 0], self.pairs[:, 1]
        gap = segment_distances(start[i], end[i], start[j], end[j])
        return float(np.max(self.radius[i] + self.radius[j] - gap))

    def worst_pair(self, heads: np.ndarray) -> tuple[str, str, float]:
        """The two segments that overlap most, and by how much (for messages and tests)."""
        start, end = self._ends(heads)
        i, j = self.pairs[:, 0], self.pairs[:, 1]
        depth = self.radius[i] + self.radius[j] - segment_distances(start[i], end[i], start[j], end[j])
        k = int(np.argmax(depth))
        return self.names[i[k]], self.names[j[k]], float(depth[k])
