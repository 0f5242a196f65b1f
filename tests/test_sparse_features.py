"""Sparse features are joined exactly as scipy's hstack joins them, only faster."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse
from rasa.shared.nlu.training_data.features import Features

from bot.rasa_patches import apply, change, original
from bot.rasa_patches.sparse_features import hstack_pair


def _coo(rows: int, cols: int, density: float, dtype: type, seed: int) -> scipy.sparse.coo_matrix:
    return scipy.sparse.random(rows, cols, density, format="coo", dtype=dtype, random_state=seed)


@pytest.mark.parametrize(
    "left, right",
    [
        (_coo(7, 30, 0.2, np.float32, 1), _coo(7, 400, 0.05, np.float32, 2)),
        (_coo(1, 5, 0.0, np.float64, 3), _coo(1, 9, 0.5, np.float32, 4)),  # empty, mixed dtypes
        (_coo(3, 4, 1.0, np.int64, 5), _coo(3, 2, 1.0, np.float32, 6)),
    ],
)
def test_hstack_pair_is_scipys_hstack(
    left: scipy.sparse.coo_matrix, right: scipy.sparse.coo_matrix
) -> None:
    ours = hstack_pair(left, right)
    theirs = scipy.sparse.hstack([left, right])
    assert ours.format == theirs.format == "coo"
    assert ours.shape == theirs.shape and ours.dtype == theirs.dtype
    for part in ("data", "row", "col"):
        np.testing.assert_array_equal(getattr(ours, part), getattr(theirs, part))


def test_hstack_pair_refuses_different_row_counts() -> None:
    with pytest.raises(ValueError, match="row counts differ"):
        hstack_pair(_coo(2, 3, 0.5, np.float32, 1), _coo(3, 3, 0.5, np.float32, 2))


def _features(matrix: object, origin: str) -> Features:
    return Features(matrix, "sequence", "text", origin)


def test_rasa_features_are_joined_the_same_way_once_patched() -> None:
    pairs = [
        (_coo(5, 10, 0.3, np.float32, 7), _coo(5, 20, 0.3, np.float32, 8)),  # the fast path
        (_coo(5, 10, 0.3, np.float32, 9).tocsr(), _coo(5, 20, 0.3, np.float32, 10).tocsr()),
    ]
    expected = []
    for left, right in pairs:
        joined = _features(left, "a")
        joined.combine_with_features(_features(right, "b"))
        expected.append(joined.features)
    apply(change("sparse-feature-join"))
    joiner = Features._combine_sparse_features
    apply(change("sparse-feature-join"))  # a second call changes nothing
    assert Features._combine_sparse_features is joiner
    assert original(change("sparse-feature-join")) is not joiner  # Rasa's own, kept
    for (left, right), want in zip(pairs, expected):
        joined = _features(left, "a")
        joined.combine_with_features(_features(right, "b"))
        assert joined.features.format == want.format
        assert (joined.features != want).nnz == 0
    with pytest.raises(ValueError, match="sequence dimensions do not match"):
        _features(_coo(2, 3, 0.5, np.float32, 1), "a").combine_with_features(
            _features(_coo(3, 3, 0.5, np.float32, 2), "b")
        )
