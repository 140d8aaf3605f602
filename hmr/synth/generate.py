"""One synthetic image, as a pure function of (seed, image index): people, camera, pixels, labels.

Every random draw of image ``i`` comes from ``numpy.random.default_rng([seed, i])``, so an image
is the same whichever shard, worker or run makes it, and torch runs single-threaded here so its
reductions add up in the same order everywhere: the same seed gives the same labels bit for bit.

A person is posed and shaped in its own frame with anny's fast sparse skinning
(:class:`hmr.fit.anny_keypoints.AnnyKeypointModel`), stood on the ground (:mod:`.scene`), and
stored with the parameters :class:`hmr.body.anny_body.AnnyBody` takes plus ``transl``:
``AnnyBody()(**params).vertices + transl`` is the rendered mesh in the camera frame.
"""

from __future__ import annotations

import contextlib
import io
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from hmr.body.anny_body import ANNY_PHENOTYPES, AnnyBody
from hmr.camera import matrix_to_rotvec, rotvec_to_matrix
from hmr.data.schema import PersonLabel
from hmr.errors import HmrError
from hmr.fit.anny_keypoints import AnnyKeypointModel
from hmr.geometry import rotvec_to_rotmat
from hmr.render.overlay import rasterize_layers
from hmr.render.scene import Lighting, build_scene
from hmr.synth.appearance import AppearanceSampler
from hmr.synth.backgrounds import photo_background, procedural_background
from hmr.synth.labels import amodal_box, build_layout, keypoint_visibility, mask_box
from hmr.synth.motion import MotionClip
from hmr.synth.parts import face_parts
from hmr.synth.phenotypes import sample_phenotype
from hmr.synth.poses import PoseSampler, SampledPose
from hmr.synth.scene import Camera, CameraRanges, PlacementRules, Placer, sample_camera

POSE_GROUPS = ("body_pose", "left_hand_pose", "right_hand_pose", "eye_pose")
#: the amodal (whole-body) area is measured on a canvas of at most this many pixels around the body
AMODAL_PIXELS = 20_000


@dataclass(frozen=True)
class SynthConfig:
    """What a generated set looks like; everything that changes pixels or labels is here."""

    width: int = 640
    height: int = 480
    people: tuple[int, int] = (1, 6)
    camera: CameraRanges = CameraRanges()
    placement: PlacementRules = PlacementRules()
    yaw_sigma_deg: float = 60.0
    motion_share: float = 1.0  # share of people posed from --poses clips, when clips are given
    jpeg_quality: tuple[int, int] = (85, 95)
    render_backend: str = "auto"

    def __post_init__(self) -> None:
        if not (16 <= self.width <= 8192 and 16 <= self.height <= 8192):
            raise HmrError(f"image size {self.width}x{self.height} must lie within 16..8192 pixels per side")
        if not 1 <= self.people[0] <= self.people[1]:
            raise HmrError(f"people per image {self.people} must be 1 <= min <= max")


@dataclass
class SynthImage:
    """A rendered image and its labels (persons in the camera frame of ``K``, pixels of the image)."""

    index: int
    jpeg: bytes
    K: np.ndarray
    persons: list[PersonLabel]
    instance_png: bytes | None = None  # 8-bit map: 0 background, i + 1 for person i
    meta: dict = field(default_factory=dict)


@contextlib.contextmanager
def _single_thread() -> Iterator[None]:
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _sample_lighting(rng: np.random.Generator, camera: Camera) -> tuple[Lighting, np.ndarray, float]:
    """A sun/lamp from above at a random azimuth, ambient sky light, and a light tint (RGB gains)."""
    elevation = math.radians(rng.uniform(20.0, 85.0))
    azimuth = rng.uniform(0.0, 2 * math.pi)
    to_light_world = np.array(
        [math.cos(elevation) * math.sin(azimuth), math.sin(elevation), math.cos(elevation) * math.cos(azimuth)]
    )
    ambient = rng.uniform(0.3, 0.6)
    diffuse = rng.uniform(0.45, 0.85)
    tint = np.clip(1.0 + rng.normal(0.0, 0.06, 3), 0.85, 1.15).astype(np.float32)
    lighting = Lighting(tuple(camera.R_wc @ to_light_world), ambient=ambient, diffuse=diffuse)
    return lighting, tint, diffuse / (ambient + diffuse)


class Generator:
    """Makes images; build once per process (it loads anny and precomputes samplers)."""

    def __init__(
        self,
        config: SynthConfig,
        seed: int,
        backgrounds: Sequence[Path] = (),
        motions: Sequence[MotionClip] = (),
        save_verts: bool = False,
        save_masks: bool = False,
        body: AnnyBody | None = None,
    ) -> None:
        self.config, self.seed = config, int(seed)
        self.backgrounds, self.motions = list(backgrounds), list(motions)
        self.save_verts, self.save_masks = save_verts, save_masks
        self.body = body if body is not None else AnnyBody()
        self.fast = AnnyKeypointModel(self.body)
        self.layout = build_layout(self.fast.keypoint_names)
        self.face_part = face_parts(self.body)
        self.poses = PoseSampler(self.body)
        self.looks = AppearanceSampler(self.body)
        self.faces = self.body.faces
        #: background files that failed to read, with the one-line reason (reported by the caller)
        self.bad_backgrounds: dict[str, str] = {}

    def rng(self, index: int) -> np.random.Generator:
        return np.random.default_rng([self.seed, int(index)])

    def _pose(self, rng: np.random.Generator) -> SampledPose:
        pose = self.poses.sample(rng)
        if self.motions and rng.random() < self.config.motion_share:
            clip = self.motions[int(rng.integers(len(self.motions)))]
            frame = int(rng.integers(len(clip.body_pose)))
            pose = SampledPose(
                global_orient=clip.global_orient[frame].astype(np.float32),
                body_pose=clip.body_pose[frame].astype(np.float32),
                left_hand_pose=pose.left_hand_pose,
                right_hand_pose=pose.right_hand_pose,
                eye_pose=pose.eye_pose,
                name=f"motion:{Path(clip.source).name}#{frame}",
            )
        return pose

    def _background(self, rng: np.random.Generator, camera: Camera, shadows, strength: float) -> np.ndarray:
        live = [p for p in self.backgrounds if str(p) not in self.bad_backgrounds]
        if live:
            path = live[int(rng.integers(len(live)))]
            try:
                return photo_background(path, rng, camera.width, camera.height)
            except HmrError as e:
                self.bad_backgrounds[str(path)] = str(e)
        return procedural_background(rng, camera, shadows, strength)

    def image(self, index: int) -> SynthImage:
        """Image ``index`` of this seed, with its labels."""
        with _single_thread(), torch.no_grad():
            return self._image(index)

    def _image(self, index: int) -> SynthImage:
        cfg, rng = self.config, self.rng(index)
        camera = sample_camera(rng, cfg.width, cfg.height, cfg.camera)
        count = int(rng.integers(cfg.people[0], cfg.people[1] + 1))
        poses = [self._pose(rng) for _ in range(count)]
        phenotypes = [sample_phenotype(rng) for _ in range(count)]
        colours = [self.looks.sample(rng, ph) for ph in phenotypes]
        rotmats = {g: rotvec_to_rotmat(torch.from_numpy(np.stack([getattr(p, g) for p in poses]))) for g in POSE_GROUPS}
        pheno = torch.tensor([[ph[n] for n in self.fast.phenotype_labels] for ph in phenotypes], dtype=torch.float32)
        verts_body = self.fast.vertices(rotmats, pheno).numpy().astype(np.float64)
        keypoints, heads = self.fast(rotmats, pheno)
        points_body = torch.cat([keypoints, heads], 1).numpy().astype(np.float64)[:, np.maximum(self.layout.source, 0)]

        placer = Placer(camera, cfg.placement)
        people = []
        for i, pose in enumerate(poses):
            root = rotvec_to_matrix(pose.global_orient.astype(np.float64))
            lift = rng.uniform(0.05, 0.35) if "jump" in pose.name else 0.0
            placement = placer.place(rng, verts_body[i] @ root.T, lift, cfg.yaw_sigma_deg)
            if placement is None:
                continue
            to_cam = camera.R_wc @ placement.rotation @ root
            transl = camera.R_wc @ (placement.translation_world - camera.center_world)
            people.append((i, placement, to_cam, transl))

        lighting, tint, strength = _sample_lighting(rng, camera)
        shadows = placer.footprints
        background = self._background(rng, camera, shadows, strength) * tint
        meshes = [verts_body[i] @ to_cam.T + transl for i, _, to_cam, transl in people]
        colour_list = [np.clip(colours[i] * tint, 0, 1) for i, *_ in people]
        scene = build_scene(meshes, [self.faces] * len(meshes), colour_list, flat=False)
        H, W = cfg.height, cfg.width
        layers = rasterize_layers(scene, camera.K, H, W, lighting, cfg.render_backend)
        instance_flat = np.full(H * W, -1, np.int64)
        part_flat = np.full(H * W, -1, np.int64)
        depth_flat = np.full(H * W, np.inf, np.float32)
        instance_flat[layers.pixels] = scene.mesh_of_faces(layers.face)
        part_flat[layers.pixels] = self.face_part[scene.source_face[layers.face]]
        depth_flat[layers.pixels] = layers.depth_m
        pixels = background.reshape(-1, 3).copy()
        pixels[layers.pixels] = layers.rgb
        instance, part, depth = instance_flat.reshape(H, W), part_flat.reshape(H, W), depth_flat.reshape(H, W)

        persons = []
        boxes = [amodal_box(m, camera.K) for m in meshes]
        for slot, (i, _, to_cam, transl) in enumerate(people):
            visible_mask = instance == slot
            if _alone_in_frame(boxes, slot, W, H):
                amodal_pixels = float(visible_mask.sum())  # nothing can hide any of it
            else:
                amodal_pixels = self._amodal_pixels(meshes[slot], camera)
            kp_cam = points_body[i] @ to_cam.T + transl
            uv, visible = keypoint_visibility(self.layout, kp_cam, slot, camera.K, W, H, instance, part, depth)
            persons.append(
                self._label(poses[i], phenotypes[i], to_cam, transl, kp_cam, uv, visible, meshes[slot], camera)
            )
            persons[-1].bbox_visible_xyxy = mask_box(visible_mask)
            persons[-1].visible_fraction = float(min(1.0, visible_mask.sum() / max(amodal_pixels, 1.0)))
        jpeg = self._encode(pixels.reshape(H, W, 3), rng)
        instance_png = _instance_png(instance) if self.save_masks else None
        meta = {
            "fov_deg": camera.fov_deg,
            "pitch_deg": camera.pitch_deg,
            "roll_deg": camera.roll_deg,
            "camera_height_m": float(camera.center_world[1]),
            "poses": [poses[i].name for i, *_ in people],
            "roles": [p.role for _, p, *_ in people],
        }
        return SynthImage(index, jpeg, camera.K.astype(np.float32), persons, instance_png, meta)

    def _amodal_pixels(self, verts_cam: np.ndarray, camera: Camera) -> float:
        """Pixels (in image units) the whole body would cover, inside the image or not.

        The body is drawn alone on a canvas fitted to its projected box, at a resolution that
        keeps the canvas under :data:`AMODAL_PIXELS` (counted pixels are scaled back).
        """
        box = amodal_box(verts_cam, camera.K)
        box_w, box_h = max(box[2] - box[0], 1.0), max(box[3] - box[1], 1.0)
        scale = min(1.0, math.sqrt(AMODAL_PIXELS / (box_w * box_h)))
        K = camera.K.astype(np.float64).copy()
        # canvas pixel u' = (u + 0.5 - box_x0) * scale - 0.5 (one pixel of margin on each side)
        K[0, 2] -= box[0] - 1.0 / scale
        K[1, 2] -= box[1] - 1.0 / scale
        K[:2] *= scale
        K[:2, 2] += 0.5 * scale - 0.5
        width, height = int(math.ceil(box_w * scale)) + 3, int(math.ceil(box_h * scale)) + 3
        alone = build_scene([verts_cam], [self.faces], [np.ones(3, np.float32)], flat=False)
        layers = rasterize_layers(alone, K, height, width, backend=self.config.render_backend)
        return float(len(layers.pixels)) / scale**2

    def _label(
        self,
        pose: SampledPose,
        phenotype: dict[str, float],
        to_cam: np.ndarray,
        transl: np.ndarray,
        kp_cam: np.ndarray,
        uv: np.ndarray,
        visible: np.ndarray,
        verts_cam: np.ndarray,
        camera: Camera,
    ) -> PersonLabel:
        labelled = self.layout.labelled
        # COCO convention: 2 visible, 1 labelled but hidden or outside the image, 0 not labelled
        score = np.where(visible, 2.0, np.where(labelled, 1.0, 0.0))
        kp2d = np.concatenate([np.nan_to_num(uv, nan=0.0), score[:, None]], 1)
        kp2d[~labelled, :2] = 0.0
        kp3d = np.concatenate([kp_cam, labelled[:, None].astype(np.float64)], 1)
        kp3d[~labelled, :3] = 0.0
        params = {"global_orient": matrix_to_rotvec(to_cam)}
        params.update({g: getattr(pose, g).reshape(-1) for g in POSE_GROUPS})
        params.update({n: np.array([phenotype[n]]) for n in ANNY_PHENOTYPES})
        params["transl"] = transl
        return PersonLabel(
            body_model="anny",
            gender="neutral",
            params={k: np.asarray(v, np.float32) for k, v in params.items()},
            has_params=True,
            has_betas=True,
            has_transl=True,
            pgt_source="gt",
            pgt_version=f"synth:{pose.name}",
            bbox_xyxy=amodal_box(verts_cam, camera.K),
            bbox_source="synth-amodal",
            kp2d=kp2d.astype(np.float32),
            kp2d_format="coco133",
            kp3d=kp3d.astype(np.float32),
            kp3d_format="coco133",
            kp3d_frame="cam",
            verts_cam=verts_cam.astype(np.float32) if self.save_verts else np.zeros((0, 3), np.float32),
        )

    def _encode(self, image: np.ndarray, rng: np.random.Generator) -> bytes:
        """Camera-like finish: slight blur (anti-aliasing), sensor noise, JPEG."""
        noise = rng.standard_normal(image.shape, dtype=np.float32) * np.float32(rng.uniform(0.0, 0.015))
        image = _blur3(image.astype(np.float32), float(rng.uniform(0.4, 0.8)))
        pil = Image.fromarray(np.clip(np.rint((image + noise) * 255), 0, 255).astype(np.uint8))
        buffer = io.BytesIO()
        pil.save(buffer, format="JPEG", quality=int(rng.integers(*self.config.jpeg_quality)))
        return buffer.getvalue()


def _alone_in_frame(boxes: list[np.ndarray], slot: int, width: int, height: int) -> bool:
    """Whether person ``slot``'s whole-body box lies inside the image and meets no other person's box."""
    x0, y0, x1, y1 = boxes[slot]
    if x0 < 0 or y0 < 0 or x1 > width or y1 > height:
        return False
    for other, (a0, b0, a1, b1) in enumerate(boxes):
        if other != slot and a0 < x1 and x0 < a1 and b0 < y1 and y0 < b1:
            return False
    return True


def _blur3(image: np.ndarray, sigma_px: float) -> np.ndarray:
    """Separable 3-tap Gaussian blur (a lens's softness; sigma under a pixel), edges repeated."""
    side = math.exp(-0.5 / sigma_px**2)
    w_side = np.float32(side / (1 + 2 * side))
    w_mid = np.float32(1 - 2 * w_side)
    padded = np.pad(image, ((0, 0), (1, 1), (0, 0)), mode="edge")
    rows = w_mid * padded[:, 1:-1] + w_side * (padded[:, :-2] + padded[:, 2:])
    padded = np.pad(rows, ((1, 1), (0, 0), (0, 0)), mode="edge")
    return w_mid * padded[1:-1] + w_side * (padded[:-2] + padded[2:])


def _instance_png(instance: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray((instance + 1).astype(np.uint8)).save(buffer, format="PNG", optimize=False)
    return buffer.getvalue()
