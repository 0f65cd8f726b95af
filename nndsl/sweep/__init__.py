"""Hyperparameter sweeps written in the `.nn` file: the grid (`grid`), running every
trial (`runner`) and comparing them (`plot`)."""
