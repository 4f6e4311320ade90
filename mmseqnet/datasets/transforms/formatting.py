"""Packing of person-search samples."""
from typing import Sequence

from mmdet.datasets.transforms import PackDetInputs
from mmdet.registry import TRANSFORMS

PERSON_SEARCH_META_KEYS = ('img_id', 'img_path', 'ori_shape', 'img_shape',
                           'scale_factor', 'flip', 'flip_direction',
                           'img_name', 'cam_id', 'sample_type', 'query_index',
                           'query_bbox', 'query_person_id')


@TRANSFORMS.register_module()
class PackPersonSearchInputs(PackDetInputs):
    """mmdet's ``PackDetInputs`` that also packs the person ids.

    ``gt_person_ids`` goes into ``gt_instances.person_ids`` (and ignored
    instances' into ``ignored_instances.person_ids``); the person-search
    meta keys of docs/data_flow.md are carried (absent keys are skipped).

    Args:
        meta_keys (Sequence[str]): Keys copied into the sample's metainfo.
            Defaults to mmdet's keys plus ``img_name``, ``cam_id``,
            ``sample_type``, ``query_index``, ``query_bbox`` and
            ``query_person_id``.
    """

    mapping_table = dict(PackDetInputs.mapping_table,
                         gt_person_ids='person_ids')

    def __init__(self,
                 meta_keys: Sequence[str] = PERSON_SEARCH_META_KEYS) -> None:
        super().__init__(meta_keys=meta_keys)

    def transform(self, results: dict) -> dict:
        """Pack the image, the instances and the metainfo.

        Args:
            results (dict): Output of the pipeline so far.

        Returns:
            dict: ``inputs`` (Tensor (3, H, W)) and ``data_samples``
            (:obj:`DetDataSample`).
        """
        if 'gt_person_ids' in results and 'gt_bboxes' in results and len(
                results['gt_person_ids']) != len(results['gt_bboxes']):
            # mmdet's box-filtering transforms (RandomCrop,
            # FilterAnnotations, ...) only know their own keys.
            raise ValueError(
                f'{results.get("img_path")}: {len(results["gt_bboxes"])} '
                f'boxes but {len(results["gt_person_ids"])} person ids: a '
                'transform dropped boxes without their ids; wrap it in '
                'KeepPersonIdsAligned')
        return super().transform(results)
