"""Overlay rendering speed: ms per frame for each available backend.

A procedural body-like mesh (head, torso, arms and legs, about 10k vertices with fairly even
triangles, as a body model gives) is drawn one or three times, partly overlapping, at 640x480
and 1280x720 with the default intrinsics (60 degree FOV across the longer side). Each setting is
timed end to end through ``render_overlay`` (rasterizing and compositing) after warm-up runs; the
table gives the median and the minimum.

    python benchmarks/bench_render.py [--repeats 10] [--threads N] [--supersample 1]
"""

from __future__ import annotations

import argparse
import math
import statistics
import time

import numpy as np
import torch
import trimesh

from hmr.camera import intrinsics_from_fov
from hmr.render import available_backends, render_overlay


def body_mesh() -> tuple[np.ndarray, np.ndarray]:
    """A 1.75 m standing figure in the OpenCV camera frame (y down), centred at the origin."""

    def capsule_y(length_m: float, radius_m: float, count: list[int]) -> trimesh.Trimesh:
        mesh = trimesh.creation.capsule(height=length_m, radius=radius_m, count=count)
        mesh.apply_translation(-mesh.bounds.mean(axis=0))  # centred, whatever the trimesh version
        mesh.apply_transform(trimesh.transformations.rotation_matrix(math.pi / 2, [1, 0, 0]))
        return mesh

    def ellipsoid(subdivisions: int, radii_m: list[float]) -> trimesh.Trimesh:
        mesh = trimesh.creation.icosphere(subdivisions=subdivisions)
        mesh.apply_scale(radii_m)
        return mesh

    parts = [
        (ellipsoid(3, [0.10, 0.12, 0.11]), [0.0, -0.75, 0.0]),  # head
        (ellipsoid(4, [0.19, 0.33, 0.12]), [0.0, -0.30, 0.0]),  # torso
        (capsule_y(0.55, 0.045, [24, 48]), [-0.25, -0.30, 0.0]),  # arms
        (capsule_y(0.55, 0.045, [24, 48]), [0.25, -0.30, 0.0]),
        (capsule_y(0.80, 0.07, [32, 64]), [-0.10, 0.45, 0.0]),  # legs
        (capsule_y(0.80, 0.07, [32, 64]), [0.10, 0.45, 0.0]),
    ]
    verts, faces, offset = [], [], 0
    for mesh, position in parts:
        verts.append(np.asarray(mesh.vertices) + position)
        faces.append(np.asarray(mesh.faces) + offset)
        offset += len(mesh.vertices)
    return np.concatenate(verts), np.concatenate(faces)


def time_ms(fn, repeats: int, warmup: int = 2) -> list[float]:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads (default: torch's)")
    parser.add_argument("--supersample", type=int, default=1)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    verts, faces = body_mesh()
    # Three people side by side at 3.5 to 4.9 m, each partly hiding the next.
    placements = [[0.0, 0.1, 3.5], [0.45, 0.1, 4.2], [-0.5, 0.1, 4.9]]
    print(
        f"body: {len(verts)} vertices, {len(faces)} faces; torch threads: {torch.get_num_threads()}; "
        f"supersample: {args.supersample}"
    )
    print(f"{'backend':8} {'size':>10} {'bodies':>6} {'median ms':>10} {'min ms':>8}")
    for backend in available_backends():
        for width, height in ((640, 480), (1280, 720)):
            image = np.full((height, width, 3), 90, np.uint8)
            K = intrinsics_from_fov(width, height)
            for n_bodies in (1, 3):
                meshes = [verts + offset for offset in placements[:n_bodies]]

                def frame(image=image, meshes=meshes, K=K, backend=backend):
                    return render_overlay(image, meshes, faces, K, backend=backend, supersample=args.supersample)

                times = time_ms(frame, args.repeats)
                print(
                    f"{backend:8} {f'{width}x{height}':>10} {n_bodies:>6} {statistics.median(times):>10.1f} "
                    f"{min(times):>8.1f}"
                )


if __name__ == "__main__":
    main()
