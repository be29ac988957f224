"""Training data: windows over the data set's rows, labels, regions, splits, features, the DataModule.

Modules: :mod:`~lofi.data.windows` (window starts and labels), :mod:`~lofi.data.regions`
(region grids), :mod:`~lofi.data.splits` (paper and cross-subject splits),
:mod:`~lofi.data.features` (series and correlation inputs), :mod:`~lofi.data.truth` (true
positions of synthetic sessions) and :mod:`~lofi.data.datamodule` (torch ``Dataset`` and
Lightning ``DataModule``; the only module that imports torch, so import it explicitly).
"""
