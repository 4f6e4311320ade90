# SeqNet on PRW (paper: 46.7 mAP / 83.4 top-1, 47.6 / 87.6 with CBGM).
_base_ = [
    './_base_/models/seqnet_r50.py', './_base_/datasets/prw.py',
    './_base_/schedules/seqnet_18e.py', './_base_/default_runtime.py'
]

model = dict(
    # The paper's input size, resized as the original's torchvision
    # transform (the images come unresized from the dataset pipeline).
    data_preprocessor=dict(resize=dict(min_size=900, max_size=1500)),
    # 483 training identities (ids remapped contiguously; the original's
    # table of 482 sends two of them to the queue).
    roi_head=dict(
        embedding_head=dict(
            loss_reid=dict(num_person_ids=483, queue_size=500))))
