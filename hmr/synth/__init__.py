"""Synthetic people: posed, shaped Anny bodies rendered into images with exact labels.

``hmr-data synth`` writes them in the unified dataset format (:mod:`hmr.data`), so evaluation and
training read them like any converted dataset. One image is a pure function of (seed, image index):
bodies (:mod:`.phenotypes`), poses (:mod:`.poses`, :mod:`.motion`), looks (:mod:`.appearance`),
camera and placement (:mod:`.scene`), then rendering and labels (:mod:`.render`, :mod:`.labels`).
"""
