# The paper's schedule (CUHK-SYSU): SGD lr 0.003 for a batch of 5, linear
# warm-up over the first epoch from 0.001x, x0.1 from epoch 16, 20 epochs,
# gradient norm clipped at 10.
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=20, val_interval=1)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')

param_scheduler = [
    dict(
        type='LinearLR',
        start_factor=0.001,
        by_epoch=True,
        begin=0,
        end=1,
        convert_to_iter_based=True),
    dict(type='MultiStepLR', by_epoch=True, milestones=[16], gamma=0.1)
]

# NonFiniteGuardOptimWrapper skips (and logs) an update whose loss is not
# finite, on every rank alike, and stops after 10 in a row.
optim_wrapper = dict(
    type='NonFiniteGuardOptimWrapper',
    max_consecutive_skips=10,
    optimizer=dict(type='SGD', lr=0.003, momentum=0.9, weight_decay=5e-4),
    clip_grad=dict(max_norm=10, norm_type=2))

# lr 0.003 is for 5 images per step; `--auto-scale-lr` rescales it.
auto_scale_lr = dict(enable=False, base_batch_size=5)
