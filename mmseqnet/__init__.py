"""mmseqnet: SeqNet person search as an MMDetection 3.x plugin.

Importing the package registers every mmseqnet component into mmdet's
registries, so configs keep ``default_scope='mmdet'``, and applies the few
fixes to MMEngine that :mod:`mmseqnet.utils.compat` lists with their reasons
(weights-only checkpoint loading that still resumes MMEngine checkpoints,
an offline download error, standard-library imports in configs).
"""
# isort: skip_file  (compat must be imported before the rest of mmseqnet)
from .utils import compat  # noqa: F401  (before mmengine loads checkpoints)
from . import apis, datasets, engine, evaluation, models  # noqa: F401,E402
from . import visualization  # noqa: F401,E402
from .version import __version__  # noqa: E402

__all__ = ['__version__']
