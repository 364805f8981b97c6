"""Model artifacts on disk: a joblib file holding a format number and the fitted object.

The demand classifier and the danger model are saved and loaded the same way; the format
number is bumped when a pickled class changes shape, so an old file is refused by name.
"""

from __future__ import annotations

from pathlib import Path

import joblib

from classifiers.errors import ModelArtifactError


def save_artifact(model: object, path: str | Path, artifact_format: int) -> Path:
    artifact = Path(path)
    artifact.parent.mkdir(parents=True, exist_ok=True)
    joblib.dump({"format": artifact_format, "model": model}, artifact, compress=3)
    return artifact


def load_artifact(path: Path, artifact_format: int, kind: str) -> object:
    """The object in the artifact at `path`; `kind` names it in errors ("danger model")."""
    try:
        payload = joblib.load(path)
    except FileNotFoundError as error:
        raise ModelArtifactError(f"{path}: {kind} not found") from error
    if not isinstance(payload, dict) or payload.get("format") != artifact_format:
        raise ModelArtifactError(f"{path}: not a {kind} of format {artifact_format}")
    return payload["model"]
