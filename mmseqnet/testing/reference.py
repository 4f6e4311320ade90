"""Where the tests find the reference material, and skipping without it.

The reference material (the original SeqNet's weights and outputs, the
CUHK-SYSU protocol files, ...) is not part of the repository: it lies in
``<repo>/../shared/reference`` next to a development checkout, or wherever
the environment variable ``MMSEQNET_REFERENCE_DIR`` points. Tests that need
it skip when it is absent, so the suite runs anywhere.
"""
import os
from pathlib import Path

REFERENCE_DIR_ENV = 'MMSEQNET_REFERENCE_DIR'


def reference_dir() -> Path:
    """The reference directory, read from the environment on every call.

    Returns:
        Path: ``$MMSEQNET_REFERENCE_DIR`` if set, else
        ``<repo>/../shared/reference``; it need not exist.
    """
    override = os.environ.get(REFERENCE_DIR_ENV)
    if override:
        return Path(override).expanduser()
    return Path(__file__).resolve().parents[2].parent / 'shared' / 'reference'


def reference_path(*parts: str) -> Path:
    """A path inside the reference directory (which need not exist).

    Args:
        *parts (str): Path components below the reference directory.

    Returns:
        Path: ``reference_dir() / parts[0] / parts[1] / ...``.
    """
    return reference_dir().joinpath(*parts)


def require_reference(*parts: str) -> Path:
    """The reference path named by ``parts``; skips the test if it is absent.

    Call it inside a test or fixture.

    Args:
        *parts (str): Path components below the reference directory.

    Returns:
        Path: The existing path.
    """
    import pytest  # only the tests need pytest

    path = reference_path(*parts)
    if not path.exists():
        pytest.skip(f'reference file not found: {path} (set '
                    f'{REFERENCE_DIR_ENV} to the reference directory)')
    return path


def skip_without_reference(*parts: str):
    """A ``pytest.mark.skipif`` for tests needing the reference path ``parts``.

    Use it as a decorator or as a module's ``pytestmark``.

    Args:
        *parts (str): Path components below the reference directory.

    Returns:
        pytest.MarkDecorator: Skips when the path does not exist.
    """
    import pytest  # only the tests need pytest

    path = reference_path(*parts)
    return pytest.mark.skipif(
        not path.exists(),
        reason=f'reference file not found: {path} (set {REFERENCE_DIR_ENV} '
        'to the reference directory)')
