"""Join the NLU featurizers' sparse features without scipy's general block-matrix builder.

Rasa 3.6 joins each message's sparse features (two count vectorizers, the lexical-syntactic and
regex featurizers) with ``scipy.sparse.hstack``, which goes through ``bmat``: general code for any
grid of blocks in any format (its measured share of the Rasa server's time: bench/README.md) for
what is, here, a side-by-side join of two COO matrices. :func:`hstack_pair` builds the same COO
matrix (same entries in the same order, same dtype and shape) from the two matrices' arrays
directly.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import scipy.sparse


def hstack_pair(left: Any, right: Any) -> scipy.sparse.coo_matrix:
    """``scipy.sparse.hstack([left, right])`` for two COO matrices with as many rows.

    Raises:
        ValueError: The matrices have different numbers of rows.
    """
    if left.shape[0] != right.shape[0]:
        raise ValueError(f"row counts differ: {left.shape[0]} != {right.shape[0]}")
    dtype = np.result_type(left.dtype, right.dtype)
    data = np.concatenate(
        [left.data.astype(dtype, copy=False), right.data.astype(dtype, copy=False)]
    )
    rows = np.concatenate([left.row, right.row])
    cols = np.concatenate([left.col, right.col + left.shape[1]])
    shape = (left.shape[0], left.shape[1] + right.shape[1])
    return scipy.sparse.coo_matrix((data, (rows, cols)), shape=shape)


def join_directly(original: Callable[..., None]) -> Callable[..., None]:
    """``Features._combine_sparse_features`` that joins two COO matrices with :func:`hstack_pair`.

    Other formats, and matrices with different numbers of rows, go to Rasa's own method (and
    its error message).
    """
    from rasa.shared.nlu.training_data.features import Features

    def combine(self: Features, additional_features: Features) -> None:
        both_coo = scipy.sparse.isspmatrix_coo(self.features) and scipy.sparse.isspmatrix_coo(
            additional_features.features
        )
        if not both_coo or self.features.shape[0] != additional_features.features.shape[0]:
            original(self, additional_features)  # other formats; Rasa's own error message
            return
        self.features = hstack_pair(self.features, additional_features.features)
        self._cached_fingerprint = None

    return combine
