"""The fast query path added for the speed targets agrees with the reference encoder."""

from __future__ import annotations

import numpy as np

from knowledge.embedding import Embedder, QueryEncoder

QUESTIONS = [
    "hi",
    "how many sessions will I need?",
    "why do diabetic foot ulcers take so long to heal, and can exosome therapy help with that?",
    " ".join(["albuminuria"] * 400),  # longer than the model reads
]


def test_query_path_matches_the_reference_encoder(embedder: Embedder) -> None:
    expected = embedder.encode(QUESTIONS)
    got = np.stack([embedder.encode_query(q) for q in QUESTIONS])
    assert got.dtype == np.float32 and got.shape == expected.shape
    assert np.allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)
    assert float(np.min(np.sum(got * expected, axis=1))) >= 0.999


def test_query_path_is_the_traced_graph_when_it_can_be(embedder: Embedder) -> None:
    assert embedder.query_path in ("torchscript-bfloat16", "torchscript-float32")


def test_float32_graph_is_exact(embedder: Embedder) -> None:
    encoder = QueryEncoder.build(embedder._model, lambda texts: embedder.encode(texts), False)
    assert encoder is not None and encoder.kind == "torchscript-float32"
    if not embedder.bfloat16:
        for question in QUESTIONS:
            assert float(encoder.encode(question) @ embedder.encode([question])[0]) > 0.99999


def test_without_the_fast_path_queries_use_encode() -> None:
    plain = Embedder(threads=1, fast_queries=False, bfloat16=False)
    plain.warm_up()
    assert plain.query_path == "sentence-transformers"
    vector = plain.encode_query("what are exosomes")
    assert np.allclose(vector, plain.encode(["what are exosomes"])[0])
