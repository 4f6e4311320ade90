# The paper's schedule for PRW: as CUHK-SYSU's, 18 epochs.
_base_ = './seqnet_20e.py'

train_cfg = dict(max_epochs=18)
