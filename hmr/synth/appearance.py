"""What the synthetic people look like: per-vertex colours of skin, clothes, hair and face.

Colours live on anny's vertices, so every region is chosen once on the neutral rest mesh and
follows the body into any pose and shape. Regions come from the skinning parts
(:mod:`hmr.synth.parts`) cut along the rest skeleton (a sleeve ends a share of the way down the
arm, trousers at a share of the shin), and from the head's geometry (eyes are anny's eyeballs;
brows, lips and the hairline are placed relative to them, on surface that faces forward).

Faces are painted on purpose: hmr's person detector finds people by their face
(:mod:`hmr.fit.detector`), so dark eyes and brows, lips and a hairline are what make a
synthetic person a person to it, as they are to any detector trained on photographs.
Clothing carries texture (stripes, checks, heathered noise, a chest print) so that a network
cannot tell body parts apart by flat colour alone.
"""

from __future__ import annotations

import colorsys

import numpy as np
import torch

from hmr.body.anny_body import ANNY_BONE_LABELS, AnnyBody
from hmr.synth.parts import PARTS, vertex_bones, vertex_parts

#: sRGB skin tones from light to deep; a person's tone is a point on this ramp
SKIN_RAMP = np.array(
    [
        [0.97, 0.83, 0.74],
        [0.92, 0.74, 0.62],
        [0.82, 0.61, 0.47],
        [0.67, 0.46, 0.33],
        [0.50, 0.33, 0.22],
        [0.34, 0.21, 0.14],
    ]
)
#: (weight, sRGB) of hair colours; grey and white are drawn for the elderly instead
HAIR_COLOURS = (
    (0.35, (0.06, 0.05, 0.04)),
    (0.25, (0.20, 0.13, 0.08)),
    (0.15, (0.38, 0.25, 0.14)),
    (0.12, (0.72, 0.58, 0.36)),
    (0.05, (0.50, 0.22, 0.10)),
    (0.08, (0.12, 0.10, 0.09)),
)
GREY_HAIR = ((0.55, 0.55, 0.55), (0.78, 0.77, 0.75), (0.35, 0.34, 0.33))
#: (weight, sRGB) of garment base colours: mostly dark and neutral, as clothes are
GARMENT_COLOURS = (
    (0.14, (0.08, 0.08, 0.09)),
    (0.09, (0.90, 0.90, 0.88)),
    (0.09, (0.45, 0.45, 0.47)),
    (0.10, (0.12, 0.16, 0.32)),
    (0.10, (0.25, 0.36, 0.55)),
    (0.07, (0.72, 0.64, 0.50)),
    (0.06, (0.35, 0.24, 0.15)),
    (0.05, (0.33, 0.36, 0.20)),
    (0.05, (0.70, 0.12, 0.12)),
    (0.04, (0.40, 0.08, 0.14)),
    (0.04, (0.15, 0.45, 0.25)),
    (0.03, (0.85, 0.72, 0.20)),
    (0.03, (0.85, 0.55, 0.65)),
    (0.03, (0.40, 0.25, 0.55)),
    (0.03, (0.90, 0.45, 0.15)),
    (0.02, (0.10, 0.45, 0.50)),
)
TOPS = {"tank": 0.12, "tshirt": 0.45, "long": 0.43}
BOTTOMS = {"shorts": 0.22, "trousers": 0.63, "skirt": 0.15}
HAIR_STYLES = {"bald": 0.06, "short": 0.44, "medium": 0.25, "long": 0.25}
PATTERNS = {"solid": 0.4, "heather": 0.2, "stripes": 0.15, "checks": 0.1, "print": 0.15}


def _choice(rng: np.random.Generator, table: dict[str, float]) -> str:
    names = list(table)
    weights = np.array([table[n] for n in names])
    return names[int(rng.choice(len(names), p=weights / weights.sum()))]


def _weighted_colour(rng: np.random.Generator, table: tuple) -> np.ndarray:
    weights = np.array([w for w, _ in table])
    return np.array(table[int(rng.choice(len(table), p=weights / weights.sum()))][1], np.float64)


def _jitter(rng: np.random.Generator, rgb: np.ndarray, hue: float = 0.03, sat: float = 0.12, val: float = 0.12):
    h, s, v = colorsys.rgb_to_hsv(*np.clip(rgb, 0, 1))
    h = (h + rng.normal(0, hue)) % 1.0
    s = float(np.clip(s * (1 + rng.normal(0, sat)), 0, 1))
    v = float(np.clip(v * (1 + rng.normal(0, val)), 0.03, 1))
    return np.array(colorsys.hsv_to_rgb(h, s, v))


def _vertex_normals(verts: np.ndarray, faces: np.ndarray) -> np.ndarray:
    corners = verts[faces]
    face_normals = np.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0])
    normals = np.zeros_like(verts)
    for k in range(3):
        np.add.at(normals, faces[:, k], face_normals)
    return normals / np.maximum(np.linalg.norm(normals, axis=1, keepdims=True), 1e-12)


def _along(points: np.ndarray, start: np.ndarray, end: np.ndarray) -> np.ndarray:
    """Position of each point along the segment start -> end (0 at start, 1 at end)."""
    axis = end - start
    return (points - start) @ axis / float(axis @ axis)


class AppearanceSampler:
    """Samples per-vertex sRGB colours, ``(V, 3)`` float32 in [0, 1], for one person."""

    def __init__(self, body: AnnyBody) -> None:
        with torch.no_grad():
            out = body(**body.neutral_params(1))
        rest = out.vertices[0].double().numpy()
        heads = out.joints[0, : len(ANNY_BONE_LABELS)].double().numpy()
        self.num_vertices = len(rest)
        part = vertex_parts(body)
        bone = vertex_bones(body)
        normals = _vertex_normals(rest, np.asarray(body.faces))
        p = {name: part == i for i, name in enumerate(PARTS)}

        def head_of(label: str) -> np.ndarray:
            return heads[ANNY_BONE_LABELS.index(label)]

        x, y, z = rest[:, 0], rest[:, 1], rest[:, 2]
        eyes = {s: bone == ANNY_BONE_LABELS.index(f"eye.{s}") for s in ("L", "R")}
        eye_centre = {s: rest[m].mean(0) for s, m in eyes.items()}
        eye_y = float((eye_centre["L"][1] + eye_centre["R"][1]) / 2)
        eye_front_z = float(max(rest[m][:, 2].max() for m in eyes.values()))
        head = p["head"] & ~eyes["L"] & ~eyes["R"]
        front = normals[:, 2] > 0.35
        back = normals[:, 2] < -0.1

        self.eyeball = eyes["L"] | eyes["R"]
        iris = np.zeros(len(rest), bool)
        for m in eyes.values():
            front_most = rest[m][:, 2].max()
            iris |= m & (z > front_most - 0.006)
        self.iris = iris
        brows = np.zeros(len(rest), bool)
        for s in ("L", "R"):
            cx, sign = eye_centre[s][0], np.sign(eye_centre[s][0])
            dx = (x - cx) * sign  # positive towards the outside of the face
            brows |= head & front & (y > eye_y + 0.017) & (y < eye_y + 0.029) & (dx > -0.018) & (dx < 0.024)
        self.brows = brows & (z > eye_front_z - 0.02)
        self.lips = head & front & (np.abs(x) < 0.024) & (y > eye_y - 0.083) & (y < eye_y - 0.064)
        self.lips &= z > eye_front_z - 0.01
        # hairline: above the forehead in front, above the ears at the sides, lower at the back
        crown = head & (y > eye_y + 0.05)
        sides = head & (y > eye_y + 0.012) & (z < eye_front_z - 0.045)
        nape = head & back & (y > eye_y - 0.07)
        self.hair = {
            "bald": np.zeros(len(rest), bool),
            "short": crown | (sides & (y > eye_y + 0.03)),
            "medium": crown | sides | (head & back & (y > eye_y - 0.035)),
            "long": crown | sides | nape | ((p["neck"] | p["torso"]) & back & (y > head_of("neck01")[1] - 0.16)),
        }
        for style in self.hair.values():
            style &= ~self.brows

        waist_y = float(head_of("upperleg01.L")[1]) + 0.1
        torso = p["torso"] | (p["neck"] & (y < head_of("neck01")[1] + 0.01))
        self.top_torso = torso & (y > waist_y)
        self.bottom_torso = p["torso"] & (y <= waist_y)
        self.arm_share = np.zeros(len(rest))
        self.leg_share = np.zeros(len(rest))
        for s in ("L", "R"):
            side = s.lower()
            upper = p[f"upperarm_{side}"]
            fore = p[f"forearm_{side}"]
            self.arm_share[upper] = 0.5 * _along(rest[upper], head_of(f"upperarm01.{s}"), head_of(f"lowerarm01.{s}"))
            self.arm_share[fore] = 0.5 + 0.5 * _along(rest[fore], head_of(f"lowerarm01.{s}"), head_of(f"wrist.{s}"))
            thigh, shin = p[f"thigh_{side}"], p[f"shin_{side}"]
            self.leg_share[thigh] = 0.5 * _along(rest[thigh], head_of(f"upperleg01.{s}"), head_of(f"lowerleg01.{s}"))
            self.leg_share[shin] = 0.5 + 0.5 * _along(rest[shin], head_of(f"lowerleg01.{s}"), head_of(f"foot.{s}"))
        self.arm = p["upperarm_l"] | p["forearm_l"] | p["upperarm_r"] | p["forearm_r"]
        self.leg = p["thigh_l"] | p["shin_l"] | p["thigh_r"] | p["shin_r"]
        self.feet = p["foot_l"] | p["foot_r"]
        self.chest_print = self.top_torso & front & (np.abs(x) < 0.07) & (y > waist_y + 0.12) & (y < waist_y + 0.27)
        self.rest = rest
        # fixed per-vertex grain, so fabric noise is a property of the cloth, not of the draw
        self.grain = np.random.default_rng(0).standard_normal(len(rest))

    def _garment(self, rng: np.random.Generator, mask: np.ndarray, base: np.ndarray, colours: np.ndarray) -> None:
        """Paint ``mask`` with ``base`` and a pattern in place."""
        pattern = _choice(rng, PATTERNS)
        colours[mask] = base
        second = _jitter(rng, _weighted_colour(rng, GARMENT_COLOURS), 0.08, 0.3, 0.3)
        pts = self.rest[mask]
        if pattern == "heather":
            colours[mask] *= (1 + 0.12 * self.grain[mask])[:, None]
        elif pattern == "stripes":
            period = rng.uniform(0.03, 0.1)
            on = np.sin(2 * np.pi * pts[:, 1] / period + rng.uniform(0, 2 * np.pi)) > rng.uniform(-0.3, 0.5)
            colours[np.flatnonzero(mask)[on]] = second
        elif pattern == "checks":
            size = rng.uniform(0.025, 0.07)
            cells = np.floor(pts / size).astype(np.int64).sum(1) % 2 == 0
            colours[np.flatnonzero(mask)[cells]] = 0.6 * base + 0.4 * second
        elif pattern == "print":
            colours[mask & self.chest_print] = second
        colours[mask] *= (1 + 0.03 * self.grain[mask])[:, None]

    def sample(self, rng: np.random.Generator, phenotype: dict[str, float]) -> np.ndarray:
        """Colours of one person; ``phenotype`` (anny units) makes grey hair likelier with age."""
        skin_tone = rng.uniform(0.0, 1.0) ** 1.15 * (len(SKIN_RAMP) - 1)
        low = int(min(skin_tone, len(SKIN_RAMP) - 2))
        skin = SKIN_RAMP[low] + (skin_tone - low) * (SKIN_RAMP[low + 1] - SKIN_RAMP[low])
        skin = _jitter(rng, skin, 0.01, 0.06, 0.04)
        colours = np.tile(skin, (self.num_vertices, 1))
        colours *= (1 + 0.015 * self.grain)[:, None]

        bottom = _jitter(rng, _weighted_colour(rng, GARMENT_COLOURS))
        top = _jitter(rng, _weighted_colour(rng, GARMENT_COLOURS))
        top_style, bottom_style = _choice(rng, TOPS), _choice(rng, BOTTOMS)
        sleeve = {"tank": 0.0, "tshirt": rng.uniform(0.2, 0.45), "long": rng.uniform(0.9, 1.0)}[top_style]
        hem = {"shorts": rng.uniform(0.25, 0.45), "skirt": rng.uniform(0.35, 0.75), "trousers": rng.uniform(0.9, 1.0)}
        bottom_mask = self.bottom_torso | (self.leg & (self.leg_share < hem[bottom_style]))
        self._garment(rng, bottom_mask, bottom, colours)
        top_mask = self.top_torso | (self.arm & (self.arm_share < sleeve))
        self._garment(rng, top_mask, top, colours)
        shoe = _jitter(rng, _weighted_colour(rng, GARMENT_COLOURS[:7]), 0.02, 0.1, 0.2)
        colours[self.feet | (self.leg & (self.leg_share > rng.uniform(0.95, 1.0)))] = shoe

        if phenotype.get("age", 0.5) > 0.88 and rng.random() < 0.65:
            hair = np.array(GREY_HAIR[int(rng.integers(len(GREY_HAIR)))])
        else:
            hair = _weighted_colour(rng, HAIR_COLOURS)
        hair = _jitter(rng, hair, 0.01, 0.08, 0.1)
        style = _choice(rng, HAIR_STYLES)
        colours[self.hair[style]] = hair * (1 + 0.08 * self.grain[self.hair[style]])[:, None]
        colours[self.brows] = np.minimum(hair, skin) * 0.55
        colours[self.lips] = skin * np.array([0.82, 0.56, 0.56])
        colours[self.eyeball] = np.array([0.86, 0.84, 0.8])
        iris = _jitter(rng, np.array([0.25, 0.15, 0.08]) if rng.random() < 0.75 else np.array([0.25, 0.35, 0.45]))
        colours[self.iris] = iris * 0.5
        return np.clip(colours, 0.0, 1.0).astype(np.float32)
