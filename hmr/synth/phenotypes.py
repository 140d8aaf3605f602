"""Who the synthetic people are: Anny phenotypes drawn from a plausible population.

Anny's six phenotypes are blend weights, not measurements, so the prior is written in their
terms (see :data:`hmr.body.anny_body.ANNY_PHENOTYPES`): gender mostly near its male or female
ends (real people are not halfway blends), age a mixture of children, adults and elderly people,
build (muscle, weight) around average with long tails, height and proportions around anny's
middle. Children are a minority, as in street scenes, but present: a regressor trained only on
adults fails on them.
"""

from __future__ import annotations

import numpy as np

from hmr.body.anny_body import ANNY_PHENOTYPES

#: (share, low, high) of the age groups, in anny's age units (1/3 child, 2/3 young adult, 1 old)
AGE_GROUPS = {
    "child": (0.12, 0.34, 0.58),
    "adult": (0.66, 0.6, 0.88),
    "elderly": (0.22, 0.88, 1.0),
}


def sample_phenotype(rng: np.random.Generator) -> dict[str, float]:
    """One person's phenotypes, each inside anny's range, keyed as :class:`~hmr.body.anny_body.AnnyBody` takes them."""
    if rng.random() < 0.9:
        gender = rng.uniform(0.0, 0.15) if rng.random() < 0.5 else rng.uniform(0.85, 1.0)
    else:
        gender = rng.uniform(0.15, 0.85)
    names = list(AGE_GROUPS)
    shares = np.array([AGE_GROUPS[n][0] for n in names])
    _, low, high = AGE_GROUPS[names[rng.choice(len(names), p=shares / shares.sum())]]
    values = {
        "gender": gender,
        "age": rng.uniform(low, high),
        "muscle": rng.beta(2.5, 2.5),
        "weight": rng.beta(2.2, 2.6),
        "height": rng.normal(0.45, 0.15),
        "proportions": rng.beta(1.5, 3.0),
    }
    return {name: float(np.clip(values[name], *ANNY_PHENOTYPES[name][:2])) for name in ANNY_PHENOTYPES}
