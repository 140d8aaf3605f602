"""Overlay rendering of body meshes over images, and glTF / OBJ export of the 3D scene.

``render_overlay`` draws with OpenGL on a headless EGL context when it can, else with a pure-torch
rasterizer; both give nearly the same picture. Nothing here imports moderngl or trimesh until it
is used.
"""

from hmr.render.gltf import write_glb, write_obj
from hmr.render.overlay import available_backends, render_overlay
from hmr.render.palette import person_colors

__all__ = ["available_backends", "person_colors", "render_overlay", "write_glb", "write_obj"]
