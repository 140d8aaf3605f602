import numpy as np

from hmr.video.tracking import Tracker, TrackerConfig

FPS = 30.0


def _run(synth, K, frames, fps=FPS, seed=0):
    """``frames``: per frame a list of (true identity, pelvis) pairs; returns per frame {identity: track id}.

    Persons are shuffled in every frame, as a network lists them in image order, which changes
    when people cross.
    """
    rng = np.random.default_rng(seed)
    tracker = Tracker()
    out = []
    for index, entries in enumerate(frames):
        entries = [entries[i] for i in rng.permutation(len(entries))]
        persons = [synth.make_person(pelvis, K, score=0.9) for _, pelvis in entries]
        tracked = tracker.update(persons, index / fps)
        out.append({who: p.track_id for (who, _), p in zip(entries, tracked)})
    return out


def _walk(start, end, n, noise_m=0.01, seed=0):
    rng = np.random.default_rng(seed)
    return np.linspace(start, end, n) + rng.normal(0, noise_m, (n, 3))


def _assert_stable(ids_per_frame, who):
    ids = {frame[who] for frame in ids_per_frame if who in frame}
    assert len(ids) == 1, (who, [frame.get(who) for frame in ids_per_frame])
    return ids.pop()


def test_ids_stable_through_a_crossing_at_equal_depth(synth, K_default):
    n = 40
    a = _walk([-1.2, 0.2, 3.0], [1.2, 0.2, 3.0], n, seed=1)
    b = _walk([1.2, 0.25, 3.1], [-1.2, 0.25, 3.1], n, seed=2)
    ids = _run(synth, K_default, [[("a", a[i]), ("b", b[i])] for i in range(n)])
    assert _assert_stable(ids, "a") != _assert_stable(ids, "b")


def test_ids_stable_when_the_farther_person_is_hidden_at_the_crossing(synth, K_default):
    n = 40
    a = _walk([-1.2, 0.2, 3.0], [1.2, 0.2, 3.0], n, seed=3)
    b = _walk([1.6, 0.2, 4.0], [-1.6, 0.2, 4.0], n, seed=4)
    hidden = range(19, 22)  # three frames where a stands in front of b
    frames = [[("a", a[i])] + ([] if i in hidden else [("b", b[i])]) for i in range(n)]
    ids = _run(synth, K_default, frames)
    assert _assert_stable(ids, "a") != _assert_stable(ids, "b")
    assert {tid for frame in ids for tid in frame.values()} == {0, 1}  # no spurious tracks


def test_reidentified_after_a_three_frame_gap_but_not_after_a_long_one(synth, K_default):
    n = 30
    a = _walk([-0.8, 0.2, 3.0], [0.8, 0.2, 3.0], n, seed=5)
    short_gap = [[] if 10 <= i < 13 else [("a", a[i])] for i in range(n)]
    ids = _run(synth, K_default, short_gap)
    _assert_stable(ids, "a")
    long_gap = [[("a", a[i])] for i in range(10)] + [[] for _ in range(40)] + [[("a", a[9])]]
    ids = _run(synth, K_default, long_gap)
    assert ids[0]["a"] == 0 and ids[-1]["a"] == 1  # past max_gap_s: a new track, old id not reused


def test_gates_are_in_seconds_so_stride_keeps_tracks(synth, K_default):
    # Every 3rd frame of a 30 fps walk, with a 3-step gap (0.4 s unseen).
    n = 60
    a = _walk([-1.2, 0.2, 3.0], [1.2, 0.2, 3.0], n, seed=6)
    b = _walk([1.2, 0.2, 3.5], [-1.2, 0.2, 3.5], n, seed=7)
    frames = [[("a", a[i])] + ([] if 27 <= i < 36 else [("b", b[i])]) for i in range(0, n, 3)]
    ids = _run(synth, K_default, frames, fps=FPS / 3)
    assert _assert_stable(ids, "a") != _assert_stable(ids, "b")


def test_a_newcomer_gets_a_new_id_and_a_far_jump_is_not_matched(synth, K_default):
    tracker = Tracker(TrackerConfig())
    first = tracker.update([synth.make_person([0, 0.2, 3], K_default)], 0.0)
    second = tracker.update(
        [synth.make_person([0.01, 0.2, 3], K_default), synth.make_person([1.5, 0.2, 3], K_default)], 1 / FPS
    )
    assert [p.track_id for p in first] == [0]
    assert [p.track_id for p in second] == [0, 1]
    third = tracker.update([synth.make_person([-1.5, 0.2, 3], K_default)], 2 / FPS)
    assert [p.track_id for p in third] == [2]
