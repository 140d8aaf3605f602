"""The evaluation protocols: one small, named definition per benchmark, printed with every result.

Published numbers are only comparable when the joint set, the regressor, the alignment point,
the ground-truth body and the valid frames are the same, so each protocol writes these down
(:meth:`Protocol.describe` goes at the top of every report and into its JSON). Frame validity
(3DPW ``campose_valid``, EMDB ``good_frames_mask``) is applied by ``hmr-data convert``, which
stores only those frames; the protocol names the split that holds them.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace

from hmr.errors import HmrError


@dataclass(frozen=True)
class Protocol:
    name: str
    description: str
    gt_body_model: str  # the body model the labels are in
    split: str | None  # the split the benchmark is defined on (None: every split)
    joint_set: str  # see hmr.eval.joints.JOINT_SETS
    alignment: str  # "pelvis" (the set's pelvis joint) or "mid_hip" (mean of its two hips)
    gt_gender: str  # "gendered" (the label's gender) or "neutral"
    valid_frames: str  # which frames count, and where that is applied
    iou_min: float = 0.1
    #: regressor file (in the models folder) that turns vertices into the joint set; "" when the
    #: joints come from the body model itself
    regressor: str = ""
    #: the joint set to fall back to, loudly, when the regressor file is absent
    fallback_joint_set: str = ""
    multi_person: bool = False  # report NMJE = MPJPE / F1 and NMVE = MVE / F1
    #: where ground truth comes from: "params" (re-posed labels) or "vertices" (stored meshes, EHF)
    gt_from: str = "params"
    #: also measure hands (aligned at the wrists) and face (aligned at the neck), SMPL-X meshes only
    part_metrics: bool = False
    #: other ground-truth body models the benchmark ships, and the joint set used with each
    alternatives: tuple[tuple[str, str], ...] = ()

    def for_labels(self, body_model: str) -> Protocol:
        """This protocol for labels in ``body_model`` (one of its alternatives), else itself."""
        for other, joint_set in self.alternatives:
            if body_model == other:
                return replace(self, gt_body_model=other, joint_set=joint_set, alternatives=())
        return self

    def describe(self) -> dict:
        return asdict(self)


PROTOCOLS: dict[str, Protocol] = {
    p.name: p
    for p in (
        Protocol(
            name="3dpw",
            description="3DPW test: gendered SMPL, 14 LSP joints from the H36M regressor, pelvis-centred, "
            "PVE on 6890 vertices",
            gt_body_model="smpl",
            split="test",
            joint_set="lsp14",
            alignment="mid_hip",
            gt_gender="gendered",
            valid_frames="campose_valid frames (kept by hmr-data convert 3dpw)",
            regressor="J_regressor_h36m.npy",
            fallback_joint_set="smpl24",
        ),
        Protocol(
            name="emdb1",
            description="EMDB 1: 24 SMPL joints aligned at the mid-hip point, vertices with the same offset",
            gt_body_model="smpl",
            split="emdb1",
            joint_set="smpl24",
            alignment="mid_hip",
            gt_gender="gendered",
            valid_frames="good_frames_mask frames of the sequences flagged emdb1 (kept by hmr-data convert emdb)",
        ),
        Protocol(
            name="ehf",
            description="EHF: whole-body SMPL-X meshes; PVE aligned at the pelvis, hands at the wrists, face at "
            "the neck, each also after Procrustes; joints regressed from the meshes",
            gt_body_model="smplx",
            split="test",
            joint_set="smplx22",
            alignment="pelvis",
            gt_gender="neutral",
            valid_frames="all 100 frames",
            gt_from="vertices",
            part_metrics=True,
        ),
        Protocol(
            name="agora",
            description="AGORA: multi-person, greedy 2D matching with IoU >= 0.1, 22 SMPL-X body joints "
            "(24 SMPL joints for the SMPL labels), NMJE / NMVE",
            gt_body_model="smplx",
            split=None,
            joint_set="smplx22",
            alignment="pelvis",
            gt_gender="gendered",
            valid_frames="all labelled people",
            multi_person=True,
            alternatives=(("smpl", "smpl24"),),
        ),
        Protocol(
            name="bedlam",
            description="BEDLAM: multi-person, greedy 2D matching with IoU >= 0.1, 22 SMPL-X body joints, NMJE / NMVE",
            gt_body_model="smplx",
            split=None,
            joint_set="smplx22",
            alignment="pelvis",
            gt_gender="neutral",
            valid_frames="all labelled people",
            multi_person=True,
        ),
        Protocol(
            name="synth",
            description="hmr synthetic people (hmr-data synth): Anny GT, 17 COCO body joints aligned at the mid-hip, "
            "multi-person matching, PVE when the prediction is Anny",
            gt_body_model="anny",
            split=None,
            joint_set="coco17",
            alignment="mid_hip",
            gt_gender="neutral",
            valid_frames="all generated people",
            multi_person=True,
        ),
    )
}

#: dataset name (as hmr-data writes it) -> its protocol, for --protocol's default
DEFAULT_PROTOCOL = {
    "ehf": "ehf",
    "3dpw": "3dpw",
    "emdb": "emdb1",
    "agora": "agora",
    "bedlam": "bedlam",
    "synth": "synth",
}


def get_protocol(name: str) -> Protocol:
    if name not in PROTOCOLS:
        raise HmrError(f"unknown protocol {name!r}; choose one of {', '.join(PROTOCOLS)}")
    return PROTOCOLS[name]
