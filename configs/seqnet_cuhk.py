# SeqNet on CUHK-SYSU (paper: 93.8 mAP / 94.6 top-1, 94.8 / 95.7 with CBGM).
_base_ = [
    './_base_/models/seqnet_r50.py', './_base_/datasets/cuhk_sysu.py',
    './_base_/schedules/seqnet_20e.py', './_base_/default_runtime.py'
]

model = dict(
    # The paper's input size, resized as the original's torchvision
    # transform (the images come unresized from the dataset pipeline).
    data_preprocessor=dict(resize=dict(min_size=900, max_size=1500)),
    roi_head=dict(
        embedding_head=dict(
            loss_reid=dict(num_person_ids=5532, queue_size=5000))))
