"""``hmr-data show``: a contact sheet to check a converted dataset's conventions by eye.

Each tile is one stored image with, per person, the body mesh posed from the stored parameters
and projected through the stored K (a translucent silhouette: a flipped axis, a missing root fix
or a wrong K shows at once), the 2D keypoints (dots) and the box. Without body-model files the
meshes are skipped and only keypoints and boxes are drawn.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from hmr.atomic import atomic_path
from hmr.body.dataset_bodies import BodyBank
from hmr.camera import project
from hmr.data.reader import IndexedDataset
from hmr.data.schema import PersonLabel
from hmr.errors import HmrError

TILE = 320
COLOURS = [
    (230, 25, 75),
    (60, 180, 75),
    (0, 130, 200),
    (245, 130, 48),
    (145, 30, 180),
    (70, 240, 240),
    (240, 50, 230),
    (210, 245, 60),
]


def person_mesh(person: PersonLabel, bank: BodyBank | None) -> tuple[np.ndarray, np.ndarray | None] | None:
    """Camera-frame (vertices (V, 3), faces (F, 3) or None) of a stored person, if it can be posed."""
    if person.has_verts:
        return person.verts_cam.astype(np.float64), None
    if not person.has_params or bank is None:
        return None
    params = {k: v.reshape(1, -1) for k, v in person.params.items()}
    if person.body_model in ("smpl", "smplx"):
        if not person.has_transl:
            return None  # weak-perspective labels have no metric placement to draw
        verts, _ = bank.forward(person.body_model, person.gender, params, person.flat_hand_mean)
        model = bank.model(person.body_model, person.gender, params["betas"].shape[1], person.flat_hand_mean)
        return verts[0], np.asarray(model.faces, np.int64)
    if person.body_model in ("skel", "anny"):
        from hmr.fit.skin_fit import pose_target_model

        verts, faces = pose_target_model(person.body_model, person.gender, person.params, bank.models_dir)
        return verts, faces
    return None


def _draw_person(
    draw: ImageDraw.ImageDraw,
    overlay: ImageDraw.ImageDraw,
    person: PersonLabel,
    K: np.ndarray,
    bank: BodyBank | None,
    colour: tuple[int, int, int],
) -> None:
    mesh = None
    try:
        mesh = person_mesh(person, bank)
    except HmrError:
        pass  # body-model files missing: keypoints and boxes still tell a lot
    if mesh is not None:
        verts, faces = mesh
        in_front = verts[:, 2] > 0.05
        xy = project(verts, K)
        if faces is not None:
            tri_depth = verts[faces, 2].mean(1)
            for f in faces[np.argsort(-tri_depth)]:
                if in_front[f].all():
                    overlay.polygon([tuple(p) for p in xy[f]], fill=(*colour, 90))
        else:
            for x, y in xy[in_front][:: max(1, len(xy) // 2000)]:
                overlay.point((float(x), float(y)), fill=(*colour, 255))
    if person.has_bbox:
        draw.rectangle([float(v) for v in person.bbox_xyxy], outline=colour, width=2)
    for x, y, c in person.kp2d:
        if c > 0:
            draw.ellipse([x - 2, y - 2, x + 2, y + 2], fill=(255, 255, 255), outline=colour)


def render_sample(sample: dict, bank: BodyBank | None) -> Image.Image:
    """One image with its persons drawn over it, at stored resolution."""
    base = Image.fromarray(sample["image"]).convert("RGBA")
    layer = Image.new("RGBA", base.size, (0, 0, 0, 0))
    overlay, lines = ImageDraw.Draw(layer), Image.new("RGBA", base.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(lines)
    for i, person in enumerate(sample["persons"]):
        _draw_person(draw, overlay, person, sample["K"], bank, COLOURS[i % len(COLOURS)])
    return Image.alpha_composite(Image.alpha_composite(base, layer), lines).convert("RGB")


def contact_sheet(
    root: str | Path,
    out: str | Path,
    n: int = 16,
    datasets: Sequence[str] | None = None,
    splits: Sequence[str] | None = None,
    label_version: str | None = None,
    models_dir: str | None = None,
    seed: int = 0,
) -> Path:
    """Write a grid of ``n`` random stored images with their labels drawn; returns the PNG path."""
    ds = IndexedDataset(root, datasets or None, splits or None, label_version=label_version)
    if n < 1:
        raise HmrError("--n must be at least 1")
    keys = sorted(random.Random(seed).sample(ds.keys, min(n, len(ds))))
    bank = BodyBank(models_dir)
    cols = math.ceil(math.sqrt(len(keys)))
    rows = math.ceil(len(keys) / cols)
    sheet = Image.new("RGB", (cols * TILE, rows * (TILE + 16)), (24, 24, 24))
    label = ImageDraw.Draw(sheet)
    for i, key in enumerate(keys):
        tile = render_sample(ds.get(key), bank)
        scale = TILE / max(tile.size)
        tile = tile.resize((max(1, round(tile.width * scale)), max(1, round(tile.height * scale))))
        x, y = (i % cols) * TILE, (i // cols) * (TILE + 16)
        sheet.paste(tile, (x + (TILE - tile.width) // 2, y + (TILE - tile.height) // 2))
        label.text((x + 4, y + TILE + 2), key[-48:], fill=(220, 220, 220))
    out = Path(out)
    with atomic_path(out) as tmp:
        sheet.save(tmp, "PNG")
    return out
