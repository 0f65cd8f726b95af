"""Data for training: CSV and NPZ files, scikit-learn's bundled datasets, generated
teaching sets; splitting and feature scaling. Core needs only numpy.

    ds = load_data(spec, base_dir)                       # spec: a Spec of catalog "data"
    train, val, test = split(ds, validation=0.2, test=0.1, seed=42)
    scaler, (train, val, test) = standardize(train, val, test)   # when standardize=true
"""

from nndsl.data.dataset import Dataset
from nndsl.data.load import load_data, resolve_path
from nndsl.data.scaling import Standardizer, standardize
from nndsl.data.split import split
from nndsl.data.synthetic import make_synthetic

__all__ = [
    "Dataset",
    "Standardizer",
    "load_data",
    "make_synthetic",
    "resolve_path",
    "split",
    "standardize",
]
