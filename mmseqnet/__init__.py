"""mmseqnet: SeqNet person search as an MMDetection 3.x plugin.

Importing the package applies the stack compatibility fixes and registers
every mmseqnet component into mmdet's registries, so configs keep
``default_scope='mmdet'``.
"""
from .utils import compat  # noqa: F401  (must run before mmengine loads checkpoints)
from . import apis, datasets, engine, evaluation, models  # noqa: F401,E402
from . import visualization  # noqa: F401,E402
from .version import __version__  # noqa: E402

__all__ = ['__version__']
