"""Where and how models run: device and precision, and where a model comes from.

The one home of three rules every loader follows:

- **Device**: :func:`pick_device` (CUDA, then MPS, then CPU) and :func:`set_dtype` /
  :func:`precision_kwargs` (half precision only on an accelerator).
- **Local path or hub id**: :func:`resolve_model_source`. Text that looks like a path (see
  :func:`looks_local`) must exist, and fails at once with "not found" instead of a minute of hub
  retries; a hub id that is neither cached nor reachable fails at once too.
- **Load errors**: :func:`load_error` words every "cannot load" message the same way.
- **lc-klue's own modules**: a saved model whose ``modules.json`` names only
  sentence-transformers and lc-klue classes (Kiwi base models) is loaded with
  :func:`trusts_own_code`: exactly that code is trusted, no other.
- **Quiet output**: :func:`quiet_output` hides every progress bar and the model libraries'
  warnings (``--no-progress``).
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from lc_klue.e5 import E5_HUB_ID, E5_LICENSE, E5_SMALL, e5_small_dir
from lc_klue.errors import ModelError

DTYPES = ("float32", "float16", "bfloat16")
#: The file an ``lc-klue train`` stage leaves in its model directory.
METRICS_FILE = "metrics.json"
#: The ``config.json`` key in which a from-scratch base records its recipe (``scratch:SIZE:ARCH``);
#: models trained from it keep the key.
SCRATCH_KEY = "lc_klue_base"
#: Seconds the hub probe of :func:`check_hub_model` waits for an answer.
HUB_PROBE_TIMEOUT_S = 5.0

# --------------------------------------------------------------------------- local or hub


def looks_local(text: str | Path) -> bool:
    """True when ``text`` names something on disk rather than a hub id.

    A :class:`~pathlib.Path`, an absolute path, one starting with ``.`` or ``~``, one with more
    than one ``/`` or a backslash (hub ids are ``owner/name``), one that exists, and one whose
    parent folder exists (``models/nope`` when ``models/`` is there) all count as local.
    """
    if isinstance(text, Path):
        return True
    s = text.strip()
    if not s:
        return False
    if s.startswith(("/", ".", "~")) or s.count("/") > 1 or "\\" in s:
        return True
    path = Path(s).expanduser()
    return path.exists() or ("/" in s and path.parent.is_dir() and str(path.parent) != ".")


#: Suffixes that make a data source a local file even without a folder part (the tables
#: :mod:`lc_klue.data.io` reads).
TABLE_SUFFIXES = frozenset({".csv", ".tsv", ".json", ".jsonl", ".parquet"})


def is_local(source: str | Path) -> bool:
    """True when ``source`` names a file rather than a hub data set (the package's one
    local-or-hub rule: :func:`looks_local`, or a table suffix). Light, so the CLI checks its
    inputs with it before any data library is imported."""
    return looks_local(source) or Path(str(source)).suffix.lower() in TABLE_SUFFIXES


def hub_offline() -> bool:
    """True when the environment forbids hub access (``HF_HUB_OFFLINE``)."""
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")


#: What to do instead of a hub model that cannot be had.
MODEL_HINT = "use a local model directory (or a from-scratch base such as 'scratch:small')"
#: Files whose presence in the local Hugging Face cache means a repository was downloaded.
_CACHE_MARKERS = {"model": ("modules.json", "config.json"), "dataset": ("README.md",)}


def check_hub_model(
    repo_id: str, kind: str = "model", *, repo_type: str = "model", hint: str = MODEL_HINT
) -> None:
    """Fail at once, with one clear line, when hub repository ``repo_id`` cannot be loaded.

    A repository already in the local Hugging Face cache passes. Otherwise one request (no
    retries) asks the hub: an unreachable hub or an unknown repository is a
    :class:`ModelError` ending in ``hint``; any other answer (a gated repository, say) is left
    to the loader. ``repo_type`` is ``"model"`` or ``"dataset"``.
    """
    from huggingface_hub import try_to_load_from_cache

    for name in _CACHE_MARKERS[repo_type]:
        if isinstance(try_to_load_from_cache(repo_id, name, repo_type=repo_type), str):
            return
    # a mistyped local path ("modles/sts") has the shape of a hub id: say both
    where = "no such local directory, and " if repo_type == "model" else ""
    if hub_offline():
        raise ModelError(
            f"{kind} {repo_id!r}: {where}not in the local cache and HF_HUB_OFFLINE is set; {hint}"
        )
    from huggingface_hub import HfApi
    from huggingface_hub.errors import RepositoryNotFoundError

    api = HfApi()
    probe = api.dataset_info if repo_type == "dataset" else api.model_info
    try:
        probe(repo_id, timeout=HUB_PROBE_TIMEOUT_S)
    except RepositoryNotFoundError:
        raise ModelError(
            f"{kind} {repo_id!r}: not a local path and not a {repo_type} on the Hugging Face hub"
        ) from None
    except OSError as e:  # connection refused, DNS failure, time-out (httpx errors are OSErrors)
        raise ModelError(
            f"{kind} {repo_id!r}: {where}cannot reach the Hugging Face hub "
            f"({type(e).__name__}); offline? {hint}"
        ) from e
    except Exception as e:  # httpx transport errors that are not OSErrors
        if type(e).__module__.startswith(("httpx", "httpcore", "requests", "urllib3")):
            raise ModelError(
                f"{kind} {repo_id!r}: {where}cannot reach the Hugging Face hub "
                f"({type(e).__name__}); offline? {hint}"
            ) from e
        # Anything else (gated or private repository, rate limit): let the loader say it.


def local_model_dir(name_or_path: str | Path, kind: str = "model") -> Path | None:
    """The directory ``name_or_path`` names when it looks local (:func:`looks_local`), which
    must exist ("not found" otherwise); None for a hub id. Cheap: no model library is imported,
    so a command checks its model flags with it before any other work."""
    text = str(name_or_path).strip()
    if not text:
        raise ModelError(f"{kind}: empty model name or path")
    if text == E5_SMALL or not looks_local(name_or_path):
        return None
    path = Path(text).expanduser()
    if not path.exists():
        raise ModelError(f"{path}: {kind} not found")
    if not path.is_dir():
        raise ModelError(f"{path}: not a {kind} directory (a file)")
    return path


def resolve_model_source(name_or_path: str | Path, kind: str = "model") -> str:
    """``name_or_path`` as something ``from_pretrained`` accepts, checked before any download.

    ``e5-small`` is the pretrained base converted into a local directory on first use
    (:func:`lc_klue.e5.e5_small_dir`). Local-looking text must be an existing directory
    (:func:`local_model_dir`); anything else is a hub id checked with :func:`check_hub_model`.
    """
    text = str(name_or_path).strip()
    if text == E5_SMALL:
        return str(e5_small_dir(hub_check=lambda repo, why: check_hub_model(repo, kind, hint=why)))
    path = local_model_dir(name_or_path, kind)
    if path is not None:
        return str(path)
    check_hub_model(text, kind)
    return text


def module_types(source: str | Path) -> list[str]:
    """The module classes a local sentence-transformers directory names in ``modules.json``
    (empty for a hub id or a plain transformers directory)."""
    path = Path(str(source)).expanduser() / "modules.json"
    if not path.is_file():
        return []
    try:
        return [str(m.get("type", "")) for m in json.loads(path.read_text(encoding="utf-8"))]
    except (OSError, ValueError, AttributeError) as e:
        raise ModelError(f"{path}: not a valid modules.json ({e})") from e


def trusts_own_code(source: str | Path) -> bool:
    """Whether ``source`` is made of sentence-transformers and lc-klue modules only
    (``lc_klue.*``, installed with this package): such a model is loaded with
    ``trust_remote_code=True``, which trusts exactly that code; any other stays untrusted."""
    own = [t for t in module_types(source) if not t.startswith("sentence_transformers.")]
    return bool(own) and all(t.startswith("lc_klue.") for t in own)


# --------------------------------------------------------------------------- origin


def model_origin(name_or_path: str | Path) -> str:
    """Where a model comes from, in words, read from what lc-klue leaves in model directories:
    the ``lc-klue train`` stages that made it (their ``metrics.json`` name each one's start)
    and what the first one started from: a from-scratch base (:data:`SCRATCH_KEY`), a local
    directory or a hub model."""
    stages: list[str] = []
    source = str(name_or_path)
    for _ in range(10):  # a chain of stages (never a cycle in practice)
        metrics = Path(source).expanduser() / METRICS_FILE
        if not metrics.is_file():
            break
        m = json.loads(metrics.read_text(encoding="utf-8"))
        stages.append(str(m.get("stage", "?")))
        if not m.get("base_model"):
            break
        source = str(m["base_model"])
    root = _root_origin(source)
    if not stages:
        return root
    return f"trained by `lc-klue train {' → '.join(reversed(stages))}` from {root}"


def _root_origin(source: str) -> str:
    """What the first stage of a model started from, in words."""
    if source.startswith("scratch:"):
        return f"a from-scratch base ({source}; no pretrained weights)"
    if source.startswith("kiwi:"):
        return f"a Kiwi base ({source}; Kiwi's pretrained CoNg morpheme vectors)"
    if source == E5_SMALL:
        return f"the pretrained base {E5_SMALL} ({E5_HUB_ID}, {E5_LICENSE} licence)"
    path = Path(source).expanduser()
    config = path / "config.json"
    scratch = None
    if config.is_file():
        scratch = json.loads(config.read_text(encoding="utf-8")).get(SCRATCH_KEY)
    if scratch:
        return f"from-scratch weights (`{source}`, {scratch}; no pretrained weights)"
    if path.is_dir():
        return f"the local model `{source}`"
    if looks_local(source):
        return f"`{source}` (not found from here)"
    return f"the hub model `{source}`"


def load_error(kind: str, name: str | Path, error: BaseException) -> ModelError:
    """The one "cannot load" message: what, which, why, and what to do offline."""
    reason = str(error).strip().splitlines()[0] if str(error).strip() else ""
    return ModelError(
        f"cannot load {kind} {str(name)!r} ({type(error).__name__}: {reason}). "
        "Offline? Use a local model directory."
    )


# --------------------------------------------------------------------------- device, dtype


def device_problem(device: str) -> str | None:
    """Why ``device`` (``cpu``, ``cuda``, ``cuda:N`` or ``mps``) cannot be used on this machine,
    in a few words; None when it can."""
    if not re.fullmatch(r"cpu|mps|cuda(?::\d+)?", device):
        return "unknown device; use cpu, cuda, cuda:N or mps"
    if device == "cpu":
        return None
    import torch

    if device == "mps":
        mps = getattr(torch.backends, "mps", None)
        return None if mps and mps.is_available() else "MPS is not available on this machine"
    if not torch.cuda.is_available():
        return "CUDA is not available on this machine"
    count = torch.cuda.device_count()
    if int(device.partition(":")[2] or 0) >= count:
        return f"this machine has {count} CUDA device(s): cuda:0 to cuda:{count - 1}"
    return None


def pick_device(device: str | None = None) -> str:
    """``device`` if given (checked: :func:`device_problem`, one :class:`ModelError` line),
    else ``cuda`` when present, then ``mps``, else ``cpu``."""
    if device:
        problem = device_problem(device)
        if problem:
            raise ModelError(f"device {device!r}: {problem}")
        return device
    import torch

    if torch.cuda.is_available():
        return "cuda"
    mps = getattr(torch.backends, "mps", None)
    return "mps" if mps and mps.is_available() else "cpu"


def set_dtype(model: Any, dtype: str | None, device: str) -> None:
    """Cast ``model`` to ``dtype`` (float16/bfloat16 only on an accelerator)."""
    if dtype is None or dtype == "float32":
        return
    if dtype not in DTYPES:
        raise ModelError(f"unknown dtype {dtype!r}; choose from {', '.join(DTYPES)}")
    if device.startswith("cpu"):
        return  # half precision on CPU is slower and less accurate: keep float32
    import torch

    model.to(getattr(torch, dtype))


def precision_kwargs(device: str) -> dict[str, bool]:
    """Mixed precision for a trainer: bf16 on CUDA when supported, else fp16; none elsewhere."""
    if device.startswith("cuda"):
        import torch

        return {"bf16": True} if torch.cuda.is_bf16_supported() else {"fp16": True}
    return {}


# --------------------------------------------------------------------------- quiet output


@contextmanager
def quiet_output(library_warnings: bool = True) -> Iterator[None]:
    """No progress bar at all while the block runs, then everything as before.

    Every tqdm bar is created disabled: lc-klue's and the libraries' ("Loading weights",
    "Writing model shards", datasets', the hub's, bm25s', Kiwi's). With ``library_warnings``
    the model libraries' warning logs go too (transformers' LOAD REPORT tables,
    sentence-transformers' "Converting ... model ... to CrossEncoder"); lc-klue's own log
    lines stay.
    """
    import transformers.utils.logging as tf_logging
    from tqdm import std

    original = std.tqdm.__init__

    def disabled(self: Any, *args: Any, **kwargs: Any) -> None:
        kwargs["disable"] = True
        original(self, *args, **kwargs)

    tf_level = tf_logging.get_verbosity()
    st_logger = logging.getLogger("sentence_transformers")
    st_level = st_logger.level
    std.tqdm.__init__ = disabled
    if library_warnings:
        tf_logging.set_verbosity_error()
        st_logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        std.tqdm.__init__ = original
        st_logger.setLevel(st_level)
        tf_logging.set_verbosity(tf_level)
