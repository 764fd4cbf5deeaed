"""A dataset's raw files identified by their content, not by the folder that holds them.

The workflow's ``prepare_data`` rule records :func:`content_id` as its only parameter, so
pointing ``data_dir`` or ``RECREPRO_DATA_DIR`` at another folder with the same verified files
reruns nothing, while different files rerun the study. The local folder is verified here, when
the workflow checks its config (before any job): a bad folder stops it with one line and no
existing output is touched.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping

from recrepro.core.io import sha256_file
from recrepro.data.movielens import get_spec, local_folder, local_root


def manifest_sha256(sums: Mapping[str, str]) -> str:
    """SHA-256 of a ``SHA256SUMS``-style manifest (``<sum>  <file>`` lines, sorted by file)."""
    text = "".join(f"{sums[name]}  {name}\n" for name in sorted(sums))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def content_id(name: str, data_dir: str | os.PathLike | None) -> str:
    """The content identity of dataset ``name``'s raw files (a DataError if the local folder
    fails verification).

    * local folder (``RECREPRO_DATA_DIR`` or ``data_dir``): verified, then the manifest of its
      files' SHA-256 (the published sums where known, else computed);
    * download: the published per-file sums where known (ML-100K: the same identity as a local
      copy), else the archive's SHA-256, which the download checks;
    * synthetic: the generator's settings.
    """
    spec = get_spec(name)
    if spec.synthetic is not None:
        return f"synthetic {spec.synthetic!r}"
    root = local_root(data_dir)
    if root is None:
        if spec.checksums:
            return manifest_sha256({f: spec.checksums[f] for f in spec.required_files})
        return f"archive {spec.archive_sha256}"
    folder = local_folder(spec, root)
    return manifest_sha256({f: spec.checksums.get(f) or sha256_file(folder / f) for f in spec.required_files})
