"""Classification of citizens' demands (诉求) for the 12345 hotline: category and urgency.

Pure library code: no broker, cache or database imports. `DemandClassifier.predict` is
CPU-bound; call it from an executor thread in async code.
"""

from classifiers.danger import DangerModel
from classifiers.errors import (
    ClassifierError,
    ModelArtifactError,
    TrainingDataError,
    UrgencyConfigError,
)
from classifiers.model import DEFAULT_MODEL_PATH, DemandClassifier, Prediction
from classifiers.text import mask_personal_data, normalise_text
from classifiers.urgency import Urgency, UrgencyAssessment, UrgencyRules

__all__ = [
    "DEFAULT_MODEL_PATH",
    "ClassifierError",
    "DangerModel",
    "DemandClassifier",
    "ModelArtifactError",
    "Prediction",
    "TrainingDataError",
    "Urgency",
    "UrgencyAssessment",
    "UrgencyConfigError",
    "UrgencyRules",
    "mask_personal_data",
    "normalise_text",
]
