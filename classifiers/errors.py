"""Errors raised by the classifiers package; all derive from `ClassifierError`."""


class ClassifierError(Exception):
    """Root of the package's errors."""


class ModelArtifactError(ClassifierError):
    """The model artifact is missing or not one this code can read; retrain or reinstall."""


class TrainingDataError(ClassifierError):
    """A training or evaluation CSV is malformed; the message names file and column."""


class UrgencyConfigError(ClassifierError):
    """config/urgency.toml is invalid; the message names file and field."""
