"""The open default pipeline: keypoints from the bundled detector, then a body fitted to them.

``FitPipeline.predict`` needs no trained HMR weights: every person the detector finds gets a
body (Anny by default; SMPL-X, SMPL or SKEL when their files are there) in the camera frame of
the image. ``FitPipeline.refine`` starts from a network's prediction instead and improves its 2D
alignment while keeping its depth and shape close.
"""

from __future__ import annotations

import os
import time

import numpy as np
import torch

from hmr.body import load_body_model
from hmr.body.base import BodyModel
from hmr.body.skel_dofs import ball_dofs_to_rotmats
from hmr.camera import check_intrinsics
from hmr.errors import HmrError
from hmr.fit.fit_bodies import FitBody, make_fit_body
from hmr.fit.fitter import FitSettings, FitState, Fitter, project, single_thread
from hmr.fit.keypoints import KeypointDetector, PersonKeypoints
from hmr.fit.mapping import build_mapping
from hmr.fit.observations import build_observations, person_scale_px
from hmr.geometry import rotmat_to_rotvec, rotvec_to_rotmat
from hmr.result import ImageResult, Person, PersonShapes, person_shapes

NO_PERSON = "no person found: the keypoint detector saw nobody at least {min_px:.0f} px tall"


class FitPipeline:
    """Detect keypoints, fit a body per person; see the module docstring.

    Args:
        body_model: ``anny`` (default, always available), ``smplx``, ``smpl`` or ``skel``.
        models_dir: where licence-gated body-model files are looked up (see ``hmr.body``).
        device: only ``cpu``: the fit is a few hundred small tensors, faster on one CPU thread.
        hands: detect hand landmarks and fit the fingers to them.
        settings: fitter weights and iteration counts.
        detector_kw: passed to :class:`~hmr.fit.keypoints.KeypointDetector`.
    """

    def __init__(
        self,
        body_model: str = "anny",
        models_dir: str | os.PathLike | None = None,
        device: str = "cpu",
        hands: bool = True,
        settings: FitSettings | None = None,
        **detector_kw,
    ) -> None:
        if torch.device(device).type != "cpu":
            raise HmrError(f"the keypoint-fitting pipeline runs on the CPU only (got device={device!r}); drop --device")
        self.body: BodyModel = load_body_model(body_model, models_dir=models_dir)
        self.fit_body: FitBody = make_fit_body(self.body)
        self.mapping = build_mapping(self.fit_body.keypoint_names)
        self.fitter = Fitter(self.fit_body, self.mapping, settings)
        self._detector_kw = {"hands": hands, **detector_kw}
        self._detector: KeypointDetector | None = None
        self._template_shapes: PersonShapes | None = None
        self.timings: dict[str, float] = {}
        # fitted keypoints <-> body-model joints sharing a name: they carry the final translation
        joint_index = {n: i for i, n in enumerate(self.body.joint_names)}
        shared = [(i, joint_index[n]) for i, n in enumerate(self.fit_body.keypoint_names) if n in joint_index]
        self._shared_fit = torch.tensor([a for a, _ in shared])
        self._shared_body = torch.tensor([b for _, b in shared])
        # BlazePose landmark -> body-model joint, to pair a network's people with detected ones
        fit_names = self.fit_body.keypoint_names
        self._landmark_joints = [
            (int(s), joint_index[fit_names[d]])
            for s, d in zip(self.mapping.body_src, self.mapping.body_dst)
            if fit_names[d] in joint_index
        ]

    @property
    def detector(self) -> KeypointDetector:
        """The keypoint detector, built on first use (this is where mediapipe gets imported)."""
        if self._detector is None:
            self._detector = KeypointDetector(**self._detector_kw)
        return self._detector

    def detect(self, image_rgb: np.ndarray) -> list[PersonKeypoints]:
        """Keypoints of every person in ``image_rgb`` (H, W, 3) uint8."""
        image_rgb = _check_image(image_rgb)
        start = time.perf_counter()
        people = self.detector.detect(image_rgb)
        self.timings["keypoints_s"] = time.perf_counter() - start
        return people

    def predict(self, image_rgb: np.ndarray, K: np.ndarray) -> ImageResult:
        """Every person found, fitted; an empty result with a ``message`` when nobody is found.

        image_rgb: (H, W, 3) uint8; K: (3, 3) intrinsics of that image.
        """
        return self.predict_with_keypoints(image_rgb, K)[0]

    def predict_with_keypoints(self, image_rgb: np.ndarray, K: np.ndarray) -> tuple[ImageResult, list[PersonKeypoints]]:
        """:meth:`predict`, plus the detections the persons were fitted to (same order)."""
        K = check_intrinsics(K)
        people = self.detect(image_rgb)
        return self.fit_people(people, K, image_rgb.shape[1::-1]), people

    def reprojection_errors(
        self, result: ImageResult, people: list[PersonKeypoints], min_confidence: float = 0.5
    ) -> np.ndarray:
        """(P,) mean distance from each fitted body's keypoints to the detected ones it was
        fitted to, as a fraction of the detected person's box height (confident points only)."""
        landmarks = np.array([s for s, _ in self._landmark_joints])
        joints = np.array([d for _, d in self._landmark_joints])
        errors = []
        for person, det in zip(result.persons, people):
            keep = det.confidence[landmarks] >= min_confidence
            box = det.box_px(min_confidence)
            dist = np.linalg.norm(person.joints_2d[joints[keep]] - det.keypoints_px[landmarks[keep]], axis=1)
            errors.append(dist.mean() / max(box[3] - box[1], 1.0) if keep.any() else np.nan)
        return np.asarray(errors)

    def fit_people(self, people: list[PersonKeypoints], K: np.ndarray, image_size: tuple[int, int]) -> ImageResult:
        """Fit detected people (as :meth:`detect` returns them) seen by camera ``K``."""
        start = time.perf_counter()
        if not people:
            self.timings["fit_s"] = 0.0
            return self._result([], K, image_size, NO_PERSON.format(min_px=self.detector.min_height_px))
        with single_thread():
            obs = build_observations(people, self.mapping, K)
            variables = self.fit_body.init_variables(len(people))
            state = self.fitter.fit(obs, K, variables)
            persons = self._persons(state, [p.score for p in people], K)
        self.timings["fit_s"] = time.perf_counter() - start
        return self._result(persons, K, image_size)

    def refine(self, image_rgb: np.ndarray, K: np.ndarray, initial: ImageResult) -> ImageResult:
        """Improve the 2D alignment of ``initial`` (a network's result for this image, same body
        model); people the detector does not see again are returned unchanged."""
        K = check_intrinsics(K)
        if initial.body_model != self.body.name:
            raise HmrError(
                f"cannot refine a {initial.body_model} result with the {self.body.name} fitter; "
                f"use --body-model {initial.body_model}"
            )
        if not initial.persons:
            return initial
        people = self.detect(image_rgb)
        pairs = _match(initial.persons, people, self._landmark_joints)
        if not pairs:
            return self._result(
                list(initial.persons),
                K,
                initial.image_size,
                "refinement skipped: the keypoint detector found none of the predicted people",
            )
        start = time.perf_counter()
        chosen = [initial.persons[i] for i, _ in pairs]
        with single_thread():
            obs = build_observations([people[j] for _, j in pairs], self.mapping, K)
            params = {
                name: torch.as_tensor(np.stack([p.params[name] for p in chosen]), dtype=torch.float32)
                for name in chosen[0].params
            }
            variables = self.fit_body.init_variables(len(chosen), params)
            start_state = self._start_from(params, variables, chosen)
            state = self.fitter.fit(obs, K, variables, start=start_state, anchored=True)
            refined = self._persons(state, [p.score for p in chosen], K)
        persons = list(initial.persons)
        for (i, _), person in zip(pairs, refined):
            person.track_id = persons[i].track_id
            persons[i] = person
        self.timings["fit_s"] = time.perf_counter() - start
        return self._result(persons, K, initial.image_size)

    # -- helpers -------------------------------------------------------------------------
    def _start_from(
        self, params: dict[str, torch.Tensor], variables: dict[str, torch.Tensor], persons: list[Person]
    ) -> FitState:
        """Rotation and translation that reproduce the network's bodies with the fit variables."""
        if "global_orient" in params:
            rotmat = rotvec_to_rotmat(params["global_orient"].reshape(-1, 3))
        else:  # SKEL: the global rotation is the pelvis ball joint
            rotmat = ball_dofs_to_rotmats(params["poses"])[:, 0]
        with torch.no_grad():
            keypoints = self.fit_body.keypoints(variables, hands=False) @ rotmat.transpose(1, 2)
        joints_cam = torch.as_tensor(np.stack([p.joints_3d for p in persons]), dtype=torch.float32)
        transl = (joints_cam[:, self._shared_body] - keypoints[:, self._shared_fit]).mean(1)
        return FitState(rotmat, transl, variables)

    def _persons(self, state: FitState, scores: list[float], K: np.ndarray) -> list[Person]:
        params = self.fit_body.to_params(state.variables, state.rotmat)
        vertices_t, joints_t = self.fit_body.posed(state.variables, state.rotmat, state.transl)
        vertices, joints = vertices_t.numpy(), joints_t.numpy()
        joints_2d = project(torch.as_tensor(joints), torch.as_tensor(K, dtype=torch.float32)).numpy()
        persons = []
        for b, score in enumerate(scores):
            named = {k: v[b].detach().cpu().numpy().astype(np.float32) for k, v in params.items()}
            head, pelvis = joints[b, self.body.head_joint], joints[b, self.body.pelvis_joint]
            persons.append(
                Person(
                    score=float(score),
                    loc=joints_2d[b, self.body.head_joint].astype(np.float32),
                    transl=head.astype(np.float32),
                    transl_pelvis=pelvis.astype(np.float32),
                    rotvec=self._rotvecs(named, state.rotmat[b]),
                    betas=self._betas(named),
                    expression=named.get("expression", np.zeros(0, np.float32)).reshape(-1),
                    vertices=vertices[b].astype(np.float32),
                    joints_3d=joints[b].astype(np.float32),
                    joints_2d=joints_2d[b].astype(np.float32),
                    params=named,
                )
            )
        return persons

    def _rotvecs(self, named: dict[str, np.ndarray], rotmat: torch.Tensor) -> np.ndarray:
        """(J, 3) every axis-angle block of the body model, global first (SKEL: the global only)."""
        blocks = [named[n].reshape(-1, 3) for n, s in self.body.param_specs.items() if s.kind == "rotvec"]
        if not blocks:
            blocks = [rotmat_to_rotvec(rotmat).numpy().reshape(1, 3)]
        return np.concatenate(blocks).astype(np.float32)

    def _betas(self, named: dict[str, np.ndarray]) -> np.ndarray:
        names = self._shape_names()
        if names:
            return np.concatenate([named[n].reshape(-1) for n in names]).astype(np.float32)
        return named.get("betas", np.zeros(0, np.float32)).reshape(-1)

    def _shape_names(self) -> list[str]:
        """Anny's phenotype names (its ``betas``); empty for models with a ``betas`` vector."""
        return [n for n, s in self.body.param_specs.items() if s.kind == "bounded"]

    def _result(
        self, persons: list[Person], K: np.ndarray, image_size: tuple[int, int], message: str = ""
    ) -> ImageResult:
        size = (int(image_size[0]), int(image_size[1]))
        return ImageResult(
            persons=persons,
            K=np.asarray(K, np.float64),
            image_size=size,
            body_model=self.body.name,
            faces=self.body.faces,
            shape_names=self._shape_names(),
            message=message,
            person_shapes=self._person_shapes(),
        )

    def _person_shapes(self) -> PersonShapes:
        """Output shapes of a fitted person, from the neutral body placed 3 m ahead (computed once)."""
        if self._template_shapes is None:
            neutral = FitState(torch.eye(3)[None], torch.tensor([[0.0, 0.0, 3.0]]), self.fit_body.init_variables(1))
            with torch.no_grad():
                self._template_shapes = person_shapes(self._persons(neutral, [0.0], np.eye(3))[0])
        return self._template_shapes


def _check_image(image_rgb: np.ndarray) -> np.ndarray:
    image = np.asarray(image_rgb)
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8 or 0 in image.shape:
        raise HmrError(f"image must be an RGB uint8 array of shape (H, W, 3), got {image.dtype} {image.shape}")
    return image


def _match(
    persons: list[Person], people: list[PersonKeypoints], pairs: list[tuple[int, int]], max_dist: float = 0.25
) -> list[tuple[int, int]]:
    """Greedy (network person, detected person) pairs whose 2D keypoints agree within ``max_dist``
    of the detected person's size. ``pairs``: (BlazePose landmark, body-model joint) indices."""
    costs = []
    for i, person in enumerate(persons):
        for j, det in enumerate(people):
            used = [(s, d) for s, d in pairs if det.confidence[s] > 0.5]
            if not used:
                continue
            src, dst = zip(*used)
            dist = np.linalg.norm(det.keypoints_px[list(src)] - person.joints_2d[list(dst)], axis=1).mean()
            costs.append((dist / person_scale_px(det), i, j))
    matched: list[tuple[int, int]] = []
    for cost, i, j in sorted(costs):
        if cost <= max_dist and all(i != a and j != b for a, b in matched):
            matched.append((i, j))
    return sorted(matched)
