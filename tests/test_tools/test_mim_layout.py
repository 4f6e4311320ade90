"""openmim must find mmseqnet's train/test scripts and configs."""
import os.path as osp

import pytest

mim_utils = pytest.importorskip('mim.utils')


def test_mim_finds_tools_and_configs():
    try:
        root = mim_utils.get_installed_path('mmseqnet')
    except Exception as e:  # not installed, only on PYTHONPATH
        pytest.skip(f'mmseqnet is not installed as a distribution: {e}')
    for rel in ('tools/train.py', 'tools/test.py', 'configs/seqnet_prw.py',
                'configs/_base_/default_runtime.py'):
        assert osp.isfile(osp.join(root, '.mim', rel)), (
            f'{rel} missing under {root}/.mim: reinstall with '
            '`pip install -e .` (checkout) or `pip install .`')
