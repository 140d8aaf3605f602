"""Run an ``hmr export onnx`` model with ONNX Runtime: numpy in, typed results out, no torch needed.

The file describes itself (metadata written by :mod:`hmr.export`): input size, person slots, NMS
kernel, body model, mesh faces and what each output means, so nothing else is loaded when the body
model is inside the graph. A graph exported with ``--body-model none`` only yields parameters; then
the body model is run here through :mod:`hmr.body` (which needs torch).

Execution providers are tried in the order TensorRT, CUDA, CPU among those the installed wheel
offers. ``onnxruntime-gpu`` lists the GPU providers even where no GPU or CUDA library exists and
silently falls back, so the provider in use is read from the session, not from the list.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import cast

import numpy as np

from hmr.camera import project
from hmr.errors import HmrError
from hmr.infer.preprocess import PreparedImage
from hmr.onnx_format import INPUT_NAMES, MESH_OUTPUTS, PARAM_OUTPUTS, OnnxModelInfo, parse_metadata
from hmr.result import ImageResult, Person, person_shapes

log = logging.getLogger("hmr")

#: provider preference, best first, and the names ``device`` may use for each
PROVIDER_ORDER = ("TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider")
DEVICE_PROVIDERS = {
    "tensorrt": "TensorrtExecutionProvider",
    "trt": "TensorrtExecutionProvider",
    "cuda": "CUDAExecutionProvider",
    "cpu": "CPUExecutionProvider",
}
GPU_INSTALL_HINT = (
    "install the GPU wheel instead of the CPU one: pip uninstall -y onnxruntime && "
    "pip install onnxruntime-gpu (it needs the CUDA and cuDNN versions its release lists; the "
    "TensorRT provider also needs TensorRT)"
)


def choose_providers(device: str = "auto", available: Sequence[str] | None = None) -> list[str]:
    """Providers to ask ONNX Runtime for, best first.

    ``device``: ``auto`` (TensorRT, CUDA, CPU: whatever the wheel offers), ``cpu``, ``cuda``,
    ``cuda:N``, ``tensorrt`` / ``tensorrt:N`` (or a provider's full name). A GPU request keeps the
    providers after it as fallbacks for operators it lacks; asking for a provider the wheel does not
    have is an error.
    """
    import onnxruntime as ort

    offered = list(ort.get_available_providers() if available is None else available)
    key = str(device).split(":")[0].lower()
    if key == "auto":
        return [p for p in PROVIDER_ORDER if p in offered] or ["CPUExecutionProvider"]
    wanted = DEVICE_PROVIDERS.get(key, device if device in PROVIDER_ORDER else None)
    if wanted is None:
        raise HmrError(f"unknown device {device!r} for the ONNX backend; use auto, cpu, cuda, cuda:N or tensorrt")
    if wanted not in offered:
        hint = GPU_INSTALL_HINT if wanted != "CPUExecutionProvider" else "reinstall onnxruntime"
        raise HmrError(
            f"{wanted} requested (device {device!r}) but this onnxruntime offers only "
            f"{', '.join(offered) or 'nothing'}; {hint}"
        )
    return [p for p in PROVIDER_ORDER[PROVIDER_ORDER.index(wanted) :] if p in offered]


def _device_index(device: str) -> int | None:
    if ":" not in str(device):
        return None
    try:
        return int(str(device).split(":", 1)[1])
    except ValueError:
        raise HmrError(f"bad device {device!r}; use cuda:N with N the GPU index") from None


def open_session(
    path: str | os.PathLike, device: str = "auto", available: Sequence[str] | None = None, threads: int | None = None
):
    """An ``InferenceSession`` on the best provider that actually started, and that provider's name.

    ``threads``: CPU threads per run (default: ONNX Runtime's, one per physical core); a service running
    several sessions side by side gives each a share.

    ONNX Runtime's own log is limited to fatal errors, so a GPU wheel on a machine without a GPU
    stays quiet; the outcome is one line on the ``hmr`` logger. A provider asked for by name that
    fails to start is an error rather than a silent fallback.
    """
    import onnxruntime as ort

    path = Path(path)
    if not path.is_file():
        raise HmrError(f"ONNX model {path} does not exist; export one with `hmr export onnx`")
    providers = choose_providers(device, available)
    index = _device_index(device)
    requested = [
        (p, {"device_id": index}) if index is not None and p != "CPUExecutionProvider" else p for p in providers
    ]
    options = ort.SessionOptions()
    options.log_severity_level = 4
    if threads:
        options.intra_op_num_threads = int(threads)
    try:
        with _quiet_provider_fallback(ort):
            session = ort.InferenceSession(str(path), sess_options=options, providers=requested)
    except Exception as exc:  # onnxruntime raises its own types (InvalidProtobuf, Fail, NoSuchFile, ...)
        text = str(exc).strip()
        first_line = text.splitlines()[0][:200] if text else type(exc).__name__
        raise HmrError(
            f"cannot load ONNX model {path} (truncated, corrupt, not an ONNX file, or made for an "
            f"onnxruntime newer than {ort.__version__}?): {first_line}"
        ) from None
    in_use = session.get_providers()[0]
    if str(device).lower() != "auto" and in_use != providers[0]:
        raise HmrError(
            f"{providers[0]} is installed but could not start (no GPU visible, or CUDA, cuDNN or "
            f"TensorRT libraries missing); use --device cpu or fix the GPU setup"
        )
    log.info("onnxruntime %s: running %s on %s", ort.__version__, path.name, in_use)
    return session, in_use


@contextlib.contextmanager
def _quiet_provider_fallback(ort):
    """Silence what a GPU wheel prints while falling back (C++ errors on the default logger, Python
    prints to stdout); the provider that started is reported instead. The default logger goes back
    to ONNX Runtime's default level (warnings) afterwards."""
    ort.set_default_logger_severity(4)
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            yield
    finally:
        ort.set_default_logger_severity(2)


def read_model_info(session, path: str | os.PathLike = "model") -> OnnxModelInfo:
    """Parse and validate the metadata of an hmr ONNX file; a foreign or mismatched file is an HmrError."""
    info = parse_metadata(dict(session.get_modelmeta().custom_metadata_map), path)
    inputs = {i.name: i for i in session.get_inputs()}
    outputs = {o.name for o in session.get_outputs()}
    missing = [n for n in INPUT_NAMES if n not in inputs]
    missing += [n for n in PARAM_OUTPUTS + (MESH_OUTPUTS if info.has_meshes else ()) if n not in outputs]
    if missing:
        raise HmrError(
            f"{path}: graph lacks {', '.join(missing)} although its metadata says it is an hmr model; re-export it"
        )
    shape = inputs["images"].shape
    if len(shape) != 4 or shape[2:] != [info.img_size, info.img_size]:
        raise HmrError(f"{path}: images input has shape {shape}, metadata says {info.img_size} px; re-export it")
    return info


class OnnxBackend:
    """The ONNX twin of :class:`hmr.infer.torch_backend.TorchBackend`: same interface, same results.

    ``device``: see :func:`choose_providers`. ``body_model`` / ``models_dir`` are only needed for a graph
    exported without its body model; for one with meshes inside, ``body_model`` must be None or match.
    ``threads``: CPU threads per run (default: one per physical core).
    """

    def __init__(
        self,
        onnx_path: str | os.PathLike,
        device: str = "auto",
        body_model: str | None = None,
        models_dir: str | os.PathLike | None = None,
        threads: int | None = None,
    ) -> None:
        self.path = Path(onnx_path)
        self.session, self.provider = open_session(self.path, device, threads=threads)
        self.device = self.provider
        self.info = read_model_info(self.session, self.path)
        self.output_names = [o.name for o in self.session.get_outputs()]
        wanted = (body_model or self.info.network_body_model).lower()
        if wanted != self.info.network_body_model:
            raise HmrError(
                f"{self.path.name} predicts {self.info.network_body_model!r} bodies, not {wanted!r}; "
                f"pass --body-model {self.info.network_body_model}"
            )
        self.body = None
        if not self.info.has_meshes:
            from hmr.body import load_body_model  # torch: only for graphs exported without the body model

            self.body = load_body_model(wanted, models_dir=models_dir)
        self.body_name = wanted
        self.faces = self.info.faces if self.body is None else np.asarray(self.body.faces, np.int64)

    @property
    def img_size(self) -> int:
        return self.info.img_size

    def run(self, pixels: np.ndarray, K_net: np.ndarray, det_thresh: float) -> dict[str, np.ndarray]:
        """Raw graph outputs for ``pixels (B, S, S, 3)`` uint8 RGB and ``K_net (B, 3, 3)``."""
        feed = {
            "images": np.ascontiguousarray(pixels.transpose(0, 3, 1, 2), dtype=np.uint8),
            "K": np.asarray(K_net, np.float32),
            "det_thresh": np.asarray(det_thresh, np.float32),
        }
        return dict(zip(self.output_names, self.session.run(None, feed)))

    def predict_batch(self, images: list[PreparedImage], det_thresh: float, nms_kernel: int) -> list[ImageResult]:
        if nms_kernel != self.info.nms_kernel:
            raise HmrError(
                f"{self.path.name} was exported with NMS kernel {self.info.nms_kernel}; pass --nms "
                f"{self.info.nms_kernel} or re-export with `hmr export onnx --nms {nms_kernel}`"
            )
        # images are prepared at the network size, so pixels and K_net are set
        pixels = cast("list[np.ndarray]", [im.pixels for im in images])
        K_net = cast("list[np.ndarray]", [im.K_net for im in images])
        out = self.run(np.stack(pixels), np.stack(K_net), det_thresh)
        if self.body is not None:
            out.update(self._meshes_from_body(out))
        return [self._image_result(out, b, image) for b, image in enumerate(images)]

    def _image_result(self, out: dict[str, np.ndarray], b: int, image: PreparedImage) -> ImageResult:
        K_orig = np.asarray(image.K_orig, np.float64)
        persons = [self._person(out, b, p, image, K_orig) for p in np.flatnonzero(out["valid"][b])]
        # slot 0 exists whether or not it holds a person: its shapes are the result's schema
        shapes = person_shapes(self._person(out, b, 0, image, K_orig))
        result = ImageResult(
            persons, image.K_orig, image.letterbox.image_size, self.body_name, self.faces, person_shapes=shapes
        )
        if not persons:
            result.message = "no person found above the detection threshold"
        return result

    def _person(
        self, out: dict[str, np.ndarray], b: int, p: int | np.integer, image: PreparedImage, K_orig: np.ndarray
    ) -> Person:
        # copies, so a kept Person does not pin the whole batch's output arrays
        rotvec, joints_3d = out["rotvec"][b, p].copy(), out["joints_3d"][b, p].copy()
        betas, expression = out["betas"][b, p].copy(), out["expression"][b, p].copy()
        params, start = {}, 0
        for name, count in self.info.rotation_layout:
            params[name] = rotvec[start] if name == "global_orient" else rotvec[start : start + count]
            start += count
        params.update(betas=betas, expression=expression)
        return Person(
            score=float(out["scores"][b, p]),
            loc=image.letterbox.points_to_orig(out["loc"][b, p].astype(np.float64)).astype(np.float32),
            transl=out["transl"][b, p].copy(),
            transl_pelvis=out["transl_pelvis"][b, p].copy(),
            rotvec=rotvec,
            betas=betas,
            expression=expression,
            vertices=out["vertices"][b, p].copy(),
            joints_3d=joints_3d,
            joints_2d=project(joints_3d, K_orig).astype(np.float32),
            params=params,
        )

    def _meshes_from_body(self, out: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Vertices and joints for a parameters-only graph, placed as the graph would (zero global
        rotation, rotate about the pelvis, head joint to ``transl``)."""
        import torch  # only here: graphs with their body model inside run without torch

        from hmr.geometry import place_bodies

        assert self.body is not None  # only called when a body model is loaded
        batch, slots = out["valid"].shape
        rotmat = torch.from_numpy(out["rotmat"]).reshape(batch * slots, -1, 3, 3)
        params, start = {}, 0
        for name, count in self.info.rotation_layout:
            params[name] = rotmat[:, start : start + count]
            start += count
        params["global_orient"] = torch.eye(3).expand(len(rotmat), 1, 3, 3)
        params["betas"] = torch.from_numpy(out["betas"]).reshape(batch * slots, -1)
        params["expression"] = torch.from_numpy(out["expression"]).reshape(batch * slots, -1)
        with torch.inference_mode():
            body_out = self.body(**params)
            vertices, joints = place_bodies(
                body_out.vertices,
                body_out.joints,
                rotmat[:, 0],
                torch.from_numpy(out["transl"]).reshape(batch * slots, 3),
                self.body.head_joint,
                self.body.pelvis_joint,
            )
        vertices_np = vertices.numpy().reshape(batch, slots, *vertices.shape[1:])
        joints_np = joints.numpy().reshape(batch, slots, *joints.shape[1:])
        return {
            "vertices": vertices_np,
            "joints_3d": joints_np,
            "transl_pelvis": joints_np[:, :, self.body.pelvis_joint],
        }
