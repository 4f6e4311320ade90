"""The checkout the tests run in: its root and its tools."""
import importlib.util
from pathlib import Path
from types import ModuleType

#: Root of the development checkout (configs/, tools/, tests/).
REPO_ROOT = Path(__file__).resolve().parents[2]


def load_tool(relative_path: str) -> ModuleType:
    """Import a script of ``tools/`` as a module, e.g. to call its ``main``.

    Skips the calling test when the checkout has no such tool (an installed
    package without its tools).

    Args:
        relative_path (str): Path below ``tools/``, e.g.
            ``'analysis_tools/visualize_search.py'``.

    Returns:
        ModuleType: The executed script.
    """
    path = REPO_ROOT / 'tools' / relative_path
    if not path.is_file():
        import pytest  # only the tests need pytest
        pytest.skip(f'{path} not found')
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
