"""A z-buffer rasterizer in plain torch: the fallback that needs no OpenGL at all.

Every face tests the pixel centres of its bounding box (clipped to the image) with screen-space
barycentrics, and the nearest candidate per pixel wins through one ``scatter_reduce(amin)`` over a
packed int64 key: the float32 depth's bit pattern (monotonic for positive floats) in the high 32
bits and the face's row in the low 32, so depth test and winner come out of a single pass, ties
going to the lower face index. Shading then runs once per covered pixel with perspective-correct
interpolation, the same maths as the GLSL of :mod:`hmr.render.raster_egl`.

Pixel centres sit at integer coordinates, as in OpenCV: a point projecting to ``(u, v)`` lands in
pixel ``(round(u), round(v))``.
"""

from __future__ import annotations

import numpy as np
import torch

from hmr.render.scene import DEFAULT_LIGHTING, Lighting, RasterLayers, RasterScene

# (pixel, face) candidates per chunk: about 100 MB of temporaries.
PAIRS_PER_CHUNK = 1 << 20
# Barycentric slack so pixel centres exactly on a shared edge are never missed by both faces.
EDGE_EPS = 1e-6
_EMPTY = torch.iinfo(torch.int64).max
_LOW32 = 0xFFFFFFFF


def _face_setup(scene: RasterScene, K: np.ndarray, height: int, width: int):
    """Per-face screen data for the faces that can cover a pixel centre.

    Returns ``face_ids (F',)`` int64, ``geom (F', 10)`` float32 = x0, y0, e1 (2), e2 (2),
    1 / doubled signed area, 1 / z of the three corners, and ``box (F', 4)`` int64 = first
    column, first row, box width, box height.
    """
    verts = torch.from_numpy(scene.verts_cam).double()
    K_t = torch.from_numpy(K)
    xy = (verts @ K_t.T)[:, :2] / verts[:, 2:3]
    faces = torch.from_numpy(scene.faces).long()
    tri_xy = xy[faces]  # (F, 3, 2)
    inv_z = 1.0 / verts[:, 2][faces]  # (F, 3)
    e1 = tri_xy[:, 1] - tri_xy[:, 0]
    e2 = tri_xy[:, 2] - tri_xy[:, 0]
    area2 = e1[:, 0] * e2[:, 1] - e1[:, 1] * e2[:, 0]
    lo = torch.ceil(tri_xy.amin(dim=1)).clamp(min=0)
    hi = torch.floor(tri_xy.amax(dim=1))
    hi[:, 0] = hi[:, 0].clamp(max=width - 1)
    hi[:, 1] = hi[:, 1].clamp(max=height - 1)
    keep = (lo <= hi).all(dim=1) & (area2.abs() > 1e-12)
    face_ids = torch.nonzero(keep).squeeze(1)
    geom = torch.cat([tri_xy[keep, 0], e1[keep], e2[keep], (1.0 / area2[keep])[:, None], inv_z[keep]], dim=1)
    lo, hi = lo[keep].long(), hi[keep].long()
    box = torch.cat([lo, hi - lo + 1], dim=1)
    return face_ids, geom.float(), box


def _barycentrics(geom: torch.Tensor, px: torch.Tensor, py: torch.Tensor) -> torch.Tensor:
    """Screen-space barycentrics ``(N, 3)`` of pixel centres ``(N,)`` in faces ``geom (N, 10)``.

    Offsets from the first corner keep float32 exact enough far from the image origin.
    """
    dx = px.float() - geom[:, 0]
    dy = py.float() - geom[:, 1]
    b1 = (dx * geom[:, 5] - dy * geom[:, 4]) * geom[:, 6]
    b2 = (geom[:, 2] * dy - geom[:, 3] * dx) * geom[:, 6]
    return torch.stack([1.0 - b1 - b2, b1, b2], dim=1)


def _depth_pass(geom: torch.Tensor, box: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """The packed (depth bits, row of ``geom``) key of the nearest face at every pixel, ``(H * W,)``.

    Faces are grouped by bounding-box size into power-of-two grids (``2^i x 2^j`` cells), so each
    group is one dense ``(faces, cells)`` computation with the face data broadcast, not gathered.
    """
    zbuf = torch.full((height * width,), _EMPTY, dtype=torch.int64)
    level_x = torch.ceil(torch.log2(box[:, 2].double())).long()
    level_y = torch.ceil(torch.log2(box[:, 3].double())).long()
    group = level_y * 64 + level_x
    start_x = box[:, 0].float() - geom[:, 0]
    start_y = box[:, 1].float() - geom[:, 1]
    first_pixel = box[:, 1] * width + box[:, 0]
    for key_group in torch.unique(group).tolist():
        side_y, side_x = 1 << (key_group // 64), 1 << (key_group % 64)
        cell = torch.arange(side_x * side_y)
        cell_x, cell_y = cell % side_x, cell // side_x
        cell_offset = cell_y * width + cell_x
        rows = torch.nonzero(group == key_group).squeeze(1)
        for chunk in rows.split(max(1, PAIRS_PER_CHUNK // len(cell))):
            g = geom[chunk]
            dx = start_x[chunk, None] + cell_x.float()
            dy = start_y[chunk, None] + cell_y.float()
            b1 = (dx * g[:, 5:6] - dy * g[:, 4:5]) * g[:, 6:7]
            b2 = (dy * g[:, 2:3] - dx * g[:, 3:4]) * g[:, 6:7]
            b0 = 1.0 - b1 - b2
            inside = (
                (cell_x < box[chunk, 2:3])
                & (cell_y < box[chunk, 3:4])
                & (b0 >= -EDGE_EPS)
                & (b1 >= -EDGE_EPS)
                & (b2 >= -EDGE_EPS)
            )
            inv_depth = b0 * g[:, 7:8] + b1 * g[:, 8:9] + b2 * g[:, 9:10]
            depth_bits = (1.0 / inv_depth).view(torch.int32).long()
            # Dense scatter with "no candidate" keys outside the face: cheaper than three mask-selects.
            key = torch.where(inside, (depth_bits << 32) | chunk[:, None], _EMPTY)
            pixel = torch.where(inside, first_pixel[chunk, None] + cell_offset, 0)
            zbuf.scatter_reduce_(0, pixel.view(-1), key.view(-1), reduce="amin")
    return zbuf


def rasterize_layers(
    scene: RasterScene, K: np.ndarray, height: int, width: int, lighting: Lighting = DEFAULT_LIGHTING
) -> RasterLayers:
    """Colour, depth and visible face at every covered pixel (see :class:`RasterLayers`)."""
    face_ids, geom, box = _face_setup(scene, K, height, width)
    if len(face_ids) == 0:
        return RasterLayers(
            np.zeros(0, np.int64), np.zeros((0, 3), np.float32), np.zeros(0, np.float32), np.zeros(0, np.int64)
        )
    zbuf = _depth_pass(geom, box, height, width)
    pix = torch.nonzero(zbuf != _EMPTY).squeeze(1)
    row = zbuf[pix] & _LOW32
    px, py = pix % width, pix // width
    g = geom.index_select(0, row)
    bary = _barycentrics(g, px, py)
    weights = bary * g[:, 7:10]
    depth_m = 1.0 / weights.sum(dim=1)
    weights = weights * depth_m[:, None]  # perspective-correct
    # Per face: the three corner normals and the three corner colours.
    faces = torch.from_numpy(scene.faces).long()[face_ids]
    face_attr = torch.cat(
        [
            torch.from_numpy(scene.normals_cam)[faces].reshape(-1, 9),
            torch.from_numpy(scene.colors)[faces].reshape(-1, 9),
        ],
        dim=1,
    )
    pixel_attr = face_attr.index_select(0, row)  # (M, 18)

    def interpolate(first: int) -> torch.Tensor:
        return sum(pixel_attr[:, first + 3 * k : first + 3 * k + 3] * weights[:, k : k + 1] for k in range(3))

    normal = interpolate(0)
    # Two-sided lighting. A positive doubled screen area (x right, y down) means the face's
    # geometric normal, and the vertex normals built from its winding, point away from the viewer.
    normal = torch.where(g[:, 6:7] > 0, -normal, normal)
    normal = torch.nn.functional.normalize(normal, dim=1)
    lambert = (normal @ torch.tensor(lighting.to_light_cam, dtype=torch.float32)).clamp(min=0)
    shaded = interpolate(9) * (lighting.ambient + lighting.diffuse * lambert)[:, None]
    return RasterLayers(
        pix.numpy(), shaded.clamp(0, 1).numpy(), depth_m.numpy().astype(np.float32), face_ids[row].numpy()
    )


def rasterize(scene: RasterScene, K: np.ndarray, height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """The covered pixels, ``(M,)`` int64 flat indices ``row * W + col``, and their shaded colour
    ``(M, 3)`` float32 RGB in [0, 1], lit by :data:`~hmr.render.scene.DEFAULT_LIGHTING`."""
    layers = rasterize_layers(scene, K, height, width)
    return layers.pixels, layers.rgb
