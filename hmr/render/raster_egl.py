"""OpenGL rasterizer on a headless EGL context, through moderngl.

On a machine without a GPU, EGL is served by Mesa's llvmpipe (Debian: ``libegl1 libgl1
libegl-mesa0 libgl1-mesa-dri``); with a GPU driver it runs on the GPU. The context is created once per
process and lives on one dedicated thread: a GL context is current in a single thread at a time,
and callers (the Gradio demo, video writers) may render from any thread.

The projection maps OpenCV pixel coordinates to GL so that pixel centres agree with
:mod:`hmr.render.raster_torch`: ``x_ndc = 2 (u + 0.5) / W - 1`` and ``y_ndc = 2 (v + 0.5) / H - 1``.
The y axis is not flipped, so framebuffer row 0 read back by ``glReadPixels`` is image row 0.
"""

from __future__ import annotations

import concurrent.futures
import importlib
import os
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from hmr.errors import HmrError
from hmr.render.scene import DEFAULT_LIGHTING, Lighting, RasterLayers, RasterScene

if TYPE_CHECKING:
    import moderngl

_VERTEX_SHADER = """
#version 330
uniform mat4 proj;
in vec3 in_pos;
in vec3 in_normal;
in vec3 in_color;
out vec3 v_normal;
out vec3 v_color;
out float v_depth;
void main() {
    v_normal = in_normal;
    v_color = in_color;
    v_depth = in_pos.z;
    gl_Position = proj * vec4(in_pos, 1.0);
}
"""

# Same shading as raster_torch.rasterize_layers: two-sided Lambert plus ambient. With this
# projection a face wound counter-clockwise on screen (gl_FrontFacing) has its geometric normal
# pointing away from the viewer, and so do the vertex normals built from that winding: turn them
# around. Two more targets hold the camera depth and the face drawn (+1, so 0 means none).
_FRAGMENT_SHADER = """
#version 330
uniform vec3 to_light;
uniform float ambient;
uniform float diffuse;
in vec3 v_normal;
in vec3 v_color;
in float v_depth;
layout(location = 0) out vec4 frag;
layout(location = 1) out float depth;
layout(location = 2) out int face;
void main() {
    vec3 n = gl_FrontFacing ? -v_normal : v_normal;
    float lambert = max(dot(normalize(n), to_light), 0.0);
    frag = vec4(clamp(v_color * (ambient + diffuse * lambert), 0.0, 1.0), 1.0);
    depth = v_depth;
    face = gl_PrimitiveID + 1;
}
"""

_LOCK = threading.Lock()
_STATE: dict[str, Any] = {}  # "executor" and "renderer", or "error": created once per process


def _after_fork_in_child() -> None:
    """A forked child (multiprocessing workers) inherits neither the GL thread nor Mesa's worker
    threads: a context made there after the parent started one hangs on its first draw (seen
    with llvmpipe), so such a child falls back to the torch rasterizer. Children of a process
    that never rendered with EGL may start their own."""
    global _LOCK
    _LOCK = threading.Lock()
    if "renderer" in _STATE:
        _STATE.clear()
        _STATE["error"] = "EGL was started before this process was forked; use the 'spawn' start method"


os.register_at_fork(after_in_child=_after_fork_in_child)


def projection_matrix(K: np.ndarray, height: int, width: int, near_m: float, far_m: float) -> np.ndarray:
    """OpenCV intrinsics -> GL clip-space matrix ``(4, 4)`` (row-major), ``w = z``."""
    proj = np.zeros((4, 4))
    proj[0, :3] = 2 * K[0, 0] / width, 2 * K[0, 1] / width, 2 * (K[0, 2] + 0.5) / width - 1
    proj[1, 1:3] = 2 * K[1, 1] / height, 2 * (K[1, 2] + 0.5) / height - 1
    proj[2, 2:] = (far_m + near_m) / (far_m - near_m), -2 * far_m * near_m / (far_m - near_m)
    proj[3, 2] = 1.0
    return proj


def _load_triton_first() -> None:
    """Import triton (torch's compiler, which timm imports) before Mesa's EGL driver is loaded.

    Mesa's llvmpipe and triton each bring their own LLVM; whichever loads second must be triton's,
    or the process segfaults when a network is built after an overlay was drawn.
    """
    try:
        importlib.import_module("triton")
    except ImportError:
        pass


def _uniform(prog: moderngl.Program, name: str) -> moderngl.Uniform:
    """``prog[name]`` for a uniform of our shaders (moderngl types it as any program member)."""
    return cast("moderngl.Uniform", prog[name])


class _Renderer:
    """The GL objects; every method runs on the executor's single thread."""

    def __init__(self) -> None:
        import moderngl

        _load_triton_first()
        self.moderngl = moderngl
        # moderngl's stub types every **settings value as a dict; backend takes a str
        create_context = cast("Callable[..., moderngl.Context]", moderngl.create_standalone_context)
        self.ctx = create_context(backend="egl", require=330)
        self.prog = self.ctx.program(vertex_shader=_VERTEX_SHADER, fragment_shader=_FRAGMENT_SHADER)
        self.max_size = int(self.ctx.info["GL_MAX_RENDERBUFFER_SIZE"])
        self.fbo: moderngl.Framebuffer | None = None

    def _framebuffer(self, width: int, height: int):
        """One framebuffer, reused while frames keep their size (video)."""
        if self.fbo is None or self.fbo.size != (width, height):
            if self.fbo is not None:
                for attachment in (*self.fbo.color_attachments, self.fbo.depth_attachment):
                    attachment.release()
                self.fbo.release()
            self.fbo = self.ctx.framebuffer(
                color_attachments=[
                    self.ctx.renderbuffer((width, height), components=4, dtype="f1"),
                    self.ctx.renderbuffer((width, height), components=1, dtype="f4"),
                    self.ctx.renderbuffer((width, height), components=1, dtype="i4"),
                ],
                depth_attachment=self.ctx.depth_renderbuffer((width, height)),
            )
        return self.fbo

    def render(self, scene: RasterScene, K: np.ndarray, height: int, width: int, lighting: Lighting) -> RasterLayers:
        if max(height, width) > self.max_size:
            raise HmrError(
                f"image {width}x{height} exceeds the OpenGL limit of {self.max_size} px; pass backend='torch'"
            )
        fbo = self._framebuffer(width, height)
        fbo.use()
        fbo.clear(0.0, 0.0, 0.0, 0.0, depth=1.0)
        if not scene.is_empty:
            # Near and far planes hug the scene: a 24-bit depth buffer then separates surfaces
            # millimetres apart even for people tens of metres away.
            depth_m = scene.verts_cam[scene.faces.ravel(), 2]
            proj = projection_matrix(K, height, width, 0.9 * float(depth_m.min()), 1.1 * float(depth_m.max()))
            _uniform(self.prog, "proj").write(proj.T.astype(np.float32).tobytes())  # GL is column-major
            _uniform(self.prog, "to_light").value = lighting.to_light_cam
            _uniform(self.prog, "ambient").value = lighting.ambient
            _uniform(self.prog, "diffuse").value = lighting.diffuse
            interleaved = np.concatenate([scene.verts_cam, scene.normals_cam, scene.colors], axis=1)
            vbo = self.ctx.buffer(np.ascontiguousarray(interleaved, np.float32).tobytes())
            ibo = self.ctx.buffer(np.ascontiguousarray(scene.faces, np.int32).tobytes())
            vao = self.ctx.vertex_array(
                self.prog,
                [(vbo, "3f 3f 3f", "in_pos", "in_normal", "in_color")],
                index_buffer=ibo,
                index_element_size=4,
            )
            self.ctx.enable(self.moderngl.DEPTH_TEST)
            vao.render(self.moderngl.TRIANGLES)
            for obj in (vao, vbo, ibo):
                obj.release()
        rgba = np.frombuffer(fbo.read(components=4, dtype="f1", alignment=1), np.uint8).reshape(-1, 4)
        pixels = np.flatnonzero(rgba[:, 3])
        depth = np.frombuffer(fbo.read(components=1, dtype="f4", attachment=1, alignment=1), np.float32)
        face = np.frombuffer(fbo.read(components=1, dtype="i4", attachment=2, alignment=1), np.int32)
        return RasterLayers(
            pixels, rgba[pixels, :3].astype(np.float32) / 255.0, depth[pixels].copy(), face[pixels].astype(np.int64) - 1
        )


def _state() -> dict[str, Any]:
    """Start the GL thread and context on first use; remember a failure so it is tried once."""
    with _LOCK:
        if not _STATE:
            executor = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="hmr-egl")
            try:
                _STATE["renderer"] = executor.submit(_Renderer).result()
                _STATE["executor"] = executor
            except Exception as exc:  # ImportError, moderngl.Error, missing libEGL: all mean "no EGL here"
                executor.shutdown(wait=False)
                _STATE["error"] = f"{type(exc).__name__}: {exc}".splitlines()[0]
        return _STATE


def unavailable_reason() -> str | None:
    """Why EGL rendering cannot run in this process, or None when it can."""
    return _state().get("error")


def rasterize_layers(
    scene: RasterScene, K: np.ndarray, height: int, width: int, lighting: Lighting = DEFAULT_LIGHTING
) -> RasterLayers:
    """Colour, depth and visible face at every covered pixel (see :class:`RasterLayers`)."""
    state = _state()
    if "error" in state:
        raise HmrError(
            f"EGL rendering is unavailable ({state['error']}); install moderngl and the "
            "packages libegl1 libgl1 libegl-mesa0 libgl1-mesa-dri, or pass backend='torch'"
        )
    return state["executor"].submit(state["renderer"].render, scene, K, height, width, lighting).result()


def rasterize(scene: RasterScene, K: np.ndarray, height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """The covered pixels, ``(M,)`` int64 flat indices ``row * W + col``, and their shaded colour
    ``(M, 3)`` float32 RGB in [0, 1], lit by :data:`~hmr.render.scene.DEFAULT_LIGHTING`."""
    layers = rasterize_layers(scene, K, height, width)
    return layers.pixels, layers.rgb
