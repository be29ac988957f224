"""Pipeline stages: one session folder (or data set) in, files out.

A stage resolves paths, reads with :mod:`lofi.io`, calls the pure library
(:mod:`lofi.sim`, :mod:`lofi.vision`, :mod:`lofi.csi`, :mod:`lofi.data`), writes
its outputs atomically and returns a report for the command line to print.
"""
