"""Scene files shipped with the package (``lofi simulate --scene lab``); see :mod:`lofi.stages.scenes`."""
