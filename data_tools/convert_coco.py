"""COCO person keypoints and COCO-WholeBody: ``annotations/*.json`` + ``{train,val}2017/*.jpg``.

2D only: boxes and keypoints in their native layouts (COCO 17, or WholeBody 133 = body 17,
feet 6, face 68, left hand 21, right hand 21, visibility kept). Crowd annotations are skipped;
images without a person are not stored. K is the default (60 degrees across the long side).
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

from data_tools.base import Context, ConvertedImage, Converter, SourceItem, check_splits, require, rescale
from hmr.camera import intrinsics_from_fov
from hmr.data.schema import PersonLabel
from hmr.errors import HmrError

_WHOLEBODY_PARTS = ("keypoints", "foot_kpts", "face_kpts", "lefthand_kpts", "righthand_kpts")


class Coco(Converter):
    name = "coco"
    license_tag = "coco-cc-by-4.0"
    splits = ("train", "val")
    description = "COCO 2017 person keypoints (2D, 17 joints)"
    annotation = "annotations/person_keypoints_{split}2017.json"
    kp_format = "coco17"

    def check_source(self, src: Path) -> None:
        if not any((src / self.annotation.format(split=s)).exists() for s in self.splits):
            require(
                src,
                self.annotation.format(split="{" + ",".join(self.splits) + "}"),
                hint="expected the COCO root with annotations/ and train2017/, val2017/",
            )

    def items(self, src: Path, splits: Sequence[str]) -> Iterator[SourceItem]:
        available = [s for s in self.splits if (src / self.annotation.format(split=s)).exists()]
        for split in check_splits(splits, available, self.name):
            path = src / self.annotation.format(split=split)
            try:
                data = json.loads(path.read_text())
            except json.JSONDecodeError as e:
                raise HmrError(f"{path} is not valid JSON ({e}); download it again") from e
            by_image = defaultdict(list)
            for ann in data.get("annotations", []):
                if not ann.get("iscrowd", 0):
                    by_image[ann["image_id"]].append(self._person(ann))
            for img in sorted(data["images"], key=lambda i: i["id"]):
                if by_image.get(img["id"]):
                    stem = Path(img["file_name"]).stem
                    yield SourceItem(
                        split,
                        stem,
                        f"{split}2017/{img['file_name']}",
                        {"persons": by_image[img["id"]], "size": (img["width"], img["height"])},
                    )

    def _person(self, ann: dict) -> dict:
        return {"kp": np.asarray(ann.get("keypoints", []), np.float32).reshape(-1, 3), "bbox": ann["bbox"]}

    def convert(self, item: SourceItem, ctx: Context) -> ConvertedImage:
        image = ctx.load_image(item.image_path)
        if (image.src_width, image.src_height) != tuple(item.payload["size"]):
            raise HmrError(
                f"{item.image_path} is {image.src_width}x{image.src_height}, the annotations say "
                f"{item.payload['size'][0]}x{item.payload['size'][1]}"
            )
        persons = []
        for src in item.payload["persons"]:
            x, y, w, h = src["bbox"]
            kp = src["kp"]  # third column kept as COCO gives it: 0 unlabelled, 1 occluded, 2 visible
            labelled = kp[:, 2] > 0
            persons.append(
                PersonLabel(
                    bbox_xyxy=np.array([x, y, x + w, y + h], np.float32),
                    bbox_source="annotation",
                    kp2d=kp if labelled.any() else np.zeros((0, 3)),
                    kp2d_format=self.kp_format if labelled.any() else "",
                    pgt_source="gt",
                )
            )
        K = intrinsics_from_fov(image.src_width, image.src_height)
        return ConvertedImage(image, rescale(image, K, persons), persons)


class CocoWholeBody(Coco):
    name = "coco-wholebody"
    description = "COCO-WholeBody v1.0 (2D, 133 keypoints: body, feet, face, hands)"
    annotation = "annotations/coco_wholebody_{split}_v1.0.json"
    kp_format = "coco133"

    def _person(self, ann: dict) -> dict:
        sizes = {"keypoints": 17, "foot_kpts": 6, "face_kpts": 68, "lefthand_kpts": 21, "righthand_kpts": 21}
        parts = [np.asarray(ann.get(k) or np.zeros(3 * sizes[k]), np.float32).reshape(-1, 3) for k in _WHOLEBODY_PARTS]
        return {"kp": np.concatenate(parts), "bbox": ann["bbox"]}
