import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from hmr.video.smoothing import DEFAULT_STRENGTH, OneEuroFilter, RotationFilter, TrackSmoother

FPS = 30.0


def _track(synth, K, pelvis_seq, rotvec_seq, track_id=0):
    results = []
    for pelvis, rotvec in zip(pelvis_seq, rotvec_seq):
        person = synth.make_person(pelvis, K, rotvec)
        person.track_id = track_id
        results.append(synth.make_result([person], K))
    return results


def _smooth(results, strength=DEFAULT_STRENGTH, times_s=None, param_kinds=None):
    smoother = TrackSmoother(strength, param_kinds)
    times_s = np.arange(len(results)) / FPS if times_s is None else times_s
    return [smoother.update(r, float(t)) for r, t in zip(results, times_s)]


def _stack(results, field, index=0):
    return np.stack([getattr(r.persons[index], field) for r in results]).astype(np.float64)


def _rotation_jitter(rotvecs):
    """RMS change of angular velocity between frames, rad/frame^2."""
    rots = Rotation.from_rotvec(rotvecs)
    omega = (rots[1:] * rots[:-1].inv()).as_rotvec()
    return np.sqrt((np.diff(omega, axis=0) ** 2).sum(-1).mean())


def _point_jitter(points):
    """RMS acceleration of a point trajectory (T, ..., 3), m/frame^2."""
    return np.sqrt((np.diff(points, 2, axis=0) ** 2).sum(-1).mean())


def test_jitter_drops_3x_on_noisy_walk(synth, K_default):
    rng = np.random.default_rng(0)
    n = 150
    t = np.arange(n) / FPS
    pelvis_true = np.stack([-0.5 + 0.3 * t, 0.2 + 0 * t, 3.0 + 0.1 * t], -1)  # walking 0.3 m/s
    rot_true = np.stack([0 * t, 0.4 * t, 0 * t], -1)  # turning 23 deg/s
    pelvis = pelvis_true + rng.normal(0, 0.01, (n, 3))
    noise = Rotation.from_rotvec(rng.normal(0, np.radians(2) / np.sqrt(3), (n, 3)))
    rot = (noise * Rotation.from_rotvec(rot_true)).as_rotvec()
    raw = _track(synth, K_default, pelvis, rot)
    smoothed = _smooth(raw)
    skip = 10  # the filter's start-up
    for field in ("transl_pelvis", "joints_3d", "vertices", "joints_2d"):
        ratio = _point_jitter(_stack(raw, field)[skip:]) / _point_jitter(_stack(smoothed, field)[skip:])
        assert ratio >= 3.0, (field, ratio)
    global_raw, global_smooth = _stack(raw, "rotvec")[skip:, 0], _stack(smoothed, "rotvec")[skip:, 0]
    assert _rotation_jitter(global_raw) / _rotation_jitter(global_smooth) >= 3.0
    # smoothing must stay on the trajectory, not drift off it
    err = np.linalg.norm(_stack(smoothed, "transl_pelvis")[skip:] - pelvis_true[skip:], axis=-1)
    assert err.mean() < 0.03


def test_step_is_followed_within_3_frames(synth, K_default):
    n, step_at = 40, 20
    pelvis = np.tile([0.0, 0.2, 3.0], (n, 1))
    pelvis[step_at:, 0] += 0.3
    rot = np.zeros((n, 3))
    rot[step_at:, 1] = np.radians(40)
    smoothed = _smooth(_track(synth, K_default, pelvis, rot))
    x = _stack(smoothed, "transl_pelvis")[:, 0]
    assert x[step_at - 1] == pytest.approx(0.0, abs=1e-6)
    assert x[step_at + 3] >= 0.9 * 0.3
    assert _stack(smoothed, "joints_3d")[step_at + 3, :, 0].mean() >= 0.9 * 0.3
    angle = np.linalg.norm(_stack(smoothed, "rotvec")[:, 0], axis=-1)
    assert angle[step_at + 3] >= 0.9 * np.radians(40)


def test_rotation_filter_is_continuous_through_pi():
    # A steady rotation about z from 170 to 190 deg: axis-angle flips sign at 180 deg.
    angles = np.radians(np.linspace(170, 190, 21))
    rotvecs = Rotation.from_euler("z", angles[:, None]).as_rotvec()
    assert np.abs(np.diff(rotvecs[:, 2])).max() > 5  # the raw parameters jump
    filt = RotationFilter(0.5, 2.5)
    out = np.stack([filt(r[None], i / FPS)[0] for i, r in enumerate(rotvecs)])
    rots = Rotation.from_rotvec(out)
    step_deg = np.degrees((rots[1:] * rots[:-1].inv()).magnitude())
    assert step_deg.max() < 1.5  # true step is 1 deg; a linear blend of raw axis-angle would jump
    lag_deg = np.degrees((rots * Rotation.from_rotvec(rotvecs).inv()).magnitude())
    assert lag_deg.max() < 5


def test_one_euro_uses_timestamps_not_frame_counts():
    # The same signal sampled at 30 and 60 fps must be smoothed alike at equal times.
    def run(fps):
        filt = OneEuroFilter(0.5, 2.5)
        times = np.arange(int(fps)) / fps
        return np.array([filt(np.array([[np.sin(2 * np.pi * t)]]), t)[0, 0] for t in times]), times

    out30, t30 = run(30.0)
    out60, t60 = run(60.0)
    np.testing.assert_allclose(out30[15], out60[30], atol=0.03)


def test_no_smoothing_across_a_gap(synth, K_default):
    n = 20
    pelvis = np.tile([0.0, 0.2, 3.0], (n, 1))
    pelvis[10:, 0] = 1.0
    results = _track(synth, K_default, pelvis, np.zeros((n, 3)))
    for r in results[7:10]:  # the track misses three frames just before it moved
        r.persons = []
    smoothed = _smooth(results)
    np.testing.assert_allclose(smoothed[10].persons[0].transl_pelvis, pelvis[10], atol=1e-6)
    # while, without the gap, the same jump is smoothed
    continuous = _smooth(_track(synth, K_default, pelvis, np.zeros((n, 3))))
    assert continuous[10].persons[0].transl_pelvis[0] < 0.95


def test_strength_zero_is_off_and_more_strength_smooths_more(synth, K_default):
    rng = np.random.default_rng(1)
    pelvis = np.array([0.0, 0.2, 3.0]) + rng.normal(0, 0.01, (60, 3))
    raw = _track(synth, K_default, pelvis, np.zeros((60, 3)))
    off = _smooth(raw, strength=0)
    np.testing.assert_array_equal(_stack(off, "vertices"), _stack(raw, "vertices"))
    weak, strong = (_point_jitter(_stack(_smooth(raw, s), "transl_pelvis")[10:]) for s in (0.5, 3.0))
    assert strong < weak


def test_params_smoothed_by_kind(synth, K_default):
    rng = np.random.default_rng(2)
    n = 60
    rot = rng.normal(0, 0.03, (n, 3)) + np.array([0, 0.5, 0])
    raw = _track(synth, K_default, np.tile([0, 0.2, 3.0], (n, 1)), rot)
    for r in raw:
        r.persons[0].params["unknown_block"] = rng.normal(size=4).astype(np.float32)
    smoothed = _smooth(raw, param_kinds={"global_orient": "rotvec"})
    orient = np.stack([r.persons[0].params["global_orient"][0] for r in smoothed])
    np.testing.assert_allclose(orient, _stack(smoothed, "rotvec")[:, 0], atol=1e-5)
    unknown_raw = np.stack([r.persons[0].params["unknown_block"] for r in raw])
    unknown_out = np.stack([r.persons[0].params["unknown_block"] for r in smoothed])
    np.testing.assert_array_equal(unknown_out, unknown_raw)
