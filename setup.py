"""Install mmseqnet.

``pip install .`` copies ``configs/`` and ``tools/`` into the installed
``mmseqnet/.mim`` so that ``mim train mmseqnet ...`` finds them there.
For a development checkout use ``pip install -e .``: the editable build
(``editable_wheel`` under PEP 660, or the legacy ``develop``) links
``mmseqnet/.mim`` to the checkout's folders instead, and the editable wheel
carries a small import hook that lets openmim locate the checkout.
"""
import os
import os.path as osp
import shutil
import sys

from setuptools import find_packages, setup
from setuptools.command.build_py import build_py
from setuptools.command.editable_wheel import editable_wheel

MIM_FOLDERS = ('configs', 'tools')
HERE = osp.dirname(osp.abspath(__file__))

# Tested pins. mmdet 3.3 refuses mmcv >= 2.2; setuptools >= 82 drops
# pkg_resources, which mmcv's build, openmim and mmengine still import.
INSTALL_REQUIRES = [
    # Weights-only loading of MMEngine checkpoints (utils/safe_loading.py).
    'torch>=2.5',
    'mmcv>=2.1.0,<2.2.0',
    'mmdet==3.3.0',
    'mmengine>=0.10.4,<0.11.0',
    # ConvNeXt of SeqNeXt (configs/seqnext), referenced by registry.
    'mmpretrain==1.2.0',
    'numpy',
    'scipy',
    'opencv-python',
    'openmim>=0.3.9',
    # MachineLoadHook counts the CPU time of data-loader workers.
    'psutil',
    'setuptools<82',
    'tqdm',
]
EXTRAS_REQUIRE = {
    # flake8 and isort: the lint of .ci/run. Tested with flake8 7.5.0 and
    # isort 9.0.2; a new major version may change what passes.
    'tests': ['pytest', 'flake8>=7.5,<8', 'isort>=9.0,<10'],
    # Large galleries: the ANN index (mmseqnet.apis.GalleryIndex, faiss) and
    # video tracks (ByteTrack of Roboflow's trackers, on supervision's
    # Detections; supervision 0.26+ has no tracker of its own). Tested with
    # faiss-cpu 1.15.1, trackers 2.6.1, supervision 0.31.2.
    'search': ['faiss-cpu>=1.8', 'trackers>=2.6', 'supervision>=0.25'],
    # The browser search page (mmseqnet.apps, tools/search_page.py); its
    # client (gradio_client) comes with it. Tested with gradio 6.31.
    'web': ['gradio>=6.0'],
}


def get_version():
    scope = {}
    with open(osp.join(HERE, 'mmseqnet', 'version.py')) as f:
        exec(f.read(), scope)
    return scope['__version__']


def link_mim_folders():
    """Link ``mmseqnet/.mim/{configs,tools}`` to the checkout's folders.

    An editable install serves the package from the checkout, so openmim
    looks there; links make edits to configs and tools take effect at once.
    """
    mim_root = osp.join(HERE, 'mmseqnet', '.mim')
    os.makedirs(mim_root, exist_ok=True)
    for folder in MIM_FOLDERS:
        dst = osp.join(mim_root, folder)
        if osp.islink(dst) or osp.isfile(dst):
            os.remove(dst)
        elif osp.isdir(dst):
            shutil.rmtree(dst)
        os.symlink(osp.relpath(osp.join(HERE, folder), mim_root), dst)


class BuildPyWithMim(build_py):
    """Copy ``configs/`` and ``tools/`` into the built package's ``.mim``.

    The copies go to the build directory, never into the checkout, so a
    wheel built from a development checkout leaves its links alone.
    """

    def run(self):
        super().run()
        if getattr(self, 'editable_mode', False):
            return
        for folder in MIM_FOLDERS:
            dst = osp.join(self.build_lib, 'mmseqnet', '.mim', folder)
            shutil.rmtree(dst, ignore_errors=True)
            shutil.copytree(
                osp.join(HERE, folder),
                dst,
                ignore=shutil.ignore_patterns('__pycache__', '*.pyc'))


class EditableWheelWithCheckoutFirst(editable_wheel):
    """PEP 660 editable wheel that also puts the checkout before site-packages.

    openmim locates a package through ``pkg_resources`` as
    ``<distribution location>/mmseqnet/.mim``. A plain PEP 660 install leaves
    only a ``.dist-info`` in site-packages, so that path does not exist. With
    the checkout ahead of site-packages on ``sys.path`` the distribution is
    found through the checkout's ``mmseqnet.egg-info`` (written by this very
    build), whose location is the checkout, as with the legacy ``develop``.
    """

    def _select_strategy(self, name, tag, build_lib):
        strategy = super()._select_strategy(name, tag, build_lib)
        return _AddCheckoutPth(strategy, HERE)


class _AddCheckoutPth:
    """Wrap an editable strategy to write one more ``.pth`` into the wheel."""

    def __init__(self, strategy, root):
        self.strategy = strategy
        self.root = root

    def __call__(self, wheel, files, mapping):
        self.strategy(wheel, files, mapping)
        # A .pth file runs lines that start with 'import' at start-up.
        line = (f'import sys; {self.root!r} in sys.path or sys.path.insert('
                'next((i for i, p in enumerate(sys.path) if p.endswith(('
                f"'site-packages', 'dist-packages'))), 0), {self.root!r})\n")
        wheel.writestr('mmseqnet_checkout.pth', line.encode())

    def __enter__(self):
        self.strategy.__enter__()
        return self

    def __exit__(self, *exc_info):
        return self.strategy.__exit__(*exc_info)


if any(cmd in sys.argv for cmd in ('develop', 'editable_wheel')):
    link_mim_folders()

setup(
    name='mmseqnet',
    version=get_version(),
    description='SeqNet person search (AAAI 2021) as an MMDetection 3.x '
    'plugin: detector, NAE, OIM, CBGM, CUHK-SYSU and PRW.',
    long_description=open(osp.join(HERE, 'README.md')).read(),
    long_description_content_type='text/markdown',
    keywords='person search, re-identification, detection, mmdetection',
    packages=find_packages(exclude=('configs', 'tools', 'tests', 'docs')),
    include_package_data=True,
    python_requires='>=3.10',
    install_requires=INSTALL_REQUIRES,
    extras_require=EXTRAS_REQUIRE,
    license='Apache License 2.0',
    zip_safe=False,
    cmdclass={
        'build_py': BuildPyWithMim,
        'editable_wheel': EditableWheelWithCheckoutFirst
    },
)
