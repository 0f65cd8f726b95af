"""Teaching tools: `nndsl trace` (one input through the forward and backward pass, with
the numbers written out) and `nndsl boundary` (decision regions of a two-input model).

Both run on the NumPy backend and use its own kernels; nothing here computes a layer a
second way.
"""
