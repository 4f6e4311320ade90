"""Annotation loading for person search."""
import numpy as np
from mmdet.datasets.transforms import LoadAnnotations
from mmdet.registry import TRANSFORMS


@TRANSFORMS.register_module()
class LoadPersonSearchAnnotations(LoadAnnotations):
    """mmdet's ``LoadAnnotations`` that also loads the person ids.

    Adds ``gt_person_ids`` (int64 (n,), aligned with ``gt_bboxes``) from each
    instance's ``person_id``; everything else is mmdet's.

    Args:
        with_person_id (bool): Load ``gt_person_ids``. Defaults to True.
        **kwargs: Arguments of :class:`mmdet.datasets.transforms.
            LoadAnnotations` (``with_bbox``, ``with_label``, ...).
    """

    def __init__(self, *, with_person_id: bool = True, **kwargs) -> None:
        super().__init__(**kwargs)
        self.with_person_id = with_person_id

    def transform(self, results: dict) -> dict:
        """Load boxes, labels and person ids.

        Args:
            results (dict): A dataset item with ``instances``.

        Returns:
            dict: ``results`` with ``gt_bboxes``, ``gt_bboxes_labels``,
            ``gt_ignore_flags`` and ``gt_person_ids``.
        """
        results = super().transform(results)
        if self.with_person_id:
            instances = results.get('instances', [])
            missing = [i for i, inst in enumerate(instances)
                       if 'person_id' not in inst]
            if missing:
                raise KeyError(
                    f'{results.get("img_path")}: instances {missing} have '
                    'no "person_id"; use a person-search dataset')
            results['gt_person_ids'] = np.array(
                [inst['person_id'] for inst in instances], dtype=np.int64)
        return results

    def __repr__(self) -> str:
        return (f'{super().__repr__()[:-1]}, '
                f'with_person_id={self.with_person_id})')
