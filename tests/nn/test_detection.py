import torch

from hmr.nn.detection import find_peaks, nms_score_map, score_map_from_logits
from hmr.nn.network import pack_peaks


def test_score_map_is_clamped():
    s = score_map_from_logits(torch.tensor([-100.0, 0.0, 100.0]))
    assert s[0] == torch.tensor(1e-4) and s[2] == torch.tensor(1 - 1e-4) and s[1] == 0.5


def test_nms_keeps_local_maxima_only():
    s = torch.zeros(1, 5, 5)
    s[0, 1, 1], s[0, 1, 2], s[0, 3, 3] = 0.9, 0.8, 0.7
    kept = nms_score_map(s, 3)
    assert kept[0, 1, 1] == 0.9 and kept[0, 1, 2] == 0 and kept[0, 3, 3] == 0.7
    # kernel 1 disables suppression
    assert torch.equal(nms_score_map(s, 1), s)


def test_peaks_threshold_and_row_major_order():
    s = torch.zeros(2, 6, 6)
    s[0, 4, 0], s[0, 0, 5], s[0, 2, 2] = 0.5, 0.6, 0.29
    s[1, 3, 3] = 0.31
    peaks = find_peaks(s, 0.3, 3)
    assert peaks.tolist() == [[0, 0, 5], [0, 4, 0], [1, 3, 3]]
    rows, cols, valid = pack_peaks(peaks, 2)
    assert rows.tolist() == [[0, 4], [3, 0]] and cols.tolist() == [[5, 0], [3, 0]]
    assert valid.tolist() == [[True, True], [True, False]]


def test_pack_without_peaks_gives_all_invalid():
    rows, cols, valid = pack_peaks(torch.zeros(0, 3, dtype=torch.long), 3)
    assert valid.shape == (3, 1) and not valid.any()
