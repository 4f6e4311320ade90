# The narrow SeqNeXt + GFN of ../shared/reference/seqnext_official (made by
# GFN's code): ConvNeXt widths 32/64/128/256, depths 1/1/2/1, random init;
# used by tests/test_models/test_seqnext_equivalence.py.
_base_ = './seqnext_gfn_prw.py'

# _delete_: the base's arch is the name 'base'.
narrow_arch = dict(
    _delete_=True, depths=[1, 1, 2, 1], channels=[32, 64, 128, 256])
res5_head = dict(arch=narrow_arch, init_cfg=None)
embedding_head = dict(in_channels=(128, 256))
model = dict(
    backbone=dict(arch=narrow_arch, init_cfg=None),
    rpn_head=dict(in_channels=128, feat_channels=128),
    roi_head=dict(
        bbox_roi_extractor=dict(out_channels=128),
        box_head=res5_head,
        bbox_head=dict(in_channels=256),
        reid_head=res5_head,
        reid_bbox_head=dict(in_channels=256),
        embedding_head=embedding_head,
        gfn_head=dict(
            scene_reid_head=res5_head, scene_embedding_head=embedding_head)))
