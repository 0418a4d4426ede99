"""rhmlib: the Random Hierarchy Model, learning rules and probes of *Hidden Hierarchies*."""

__version__ = "0.1.0"

from .models import HierarchicalCNN, ShallowFCN, build_model
from .rhm import RHM, Sample
from .rules import get_rule, rule_names
from .train import ExperimentResult, History, TrainConfig, run_experiment, train

__all__ = [
    "RHM", "Sample", "HierarchicalCNN", "ShallowFCN", "build_model", "get_rule", "rule_names",
    "ExperimentResult", "History", "TrainConfig", "run_experiment", "train", "__version__",
]
