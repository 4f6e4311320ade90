# Baseline OIM (SeqNet Table 3): the parallel head classifies with a softmax
# layer instead of the embedding norm; the embedding is a plain unit vector.
_base_ = './parallel_nae_prw.py'

model = dict(
    roi_head=dict(
        reid_bbox_head=dict(
            with_cls=True,
            loss_cls=dict(
                type='CrossEntropyLoss', use_sigmoid=False,
                loss_weight=1.0)),
        embedding_head=dict(loss_cls=None)))
