# GFN's SeqNeXt schedule: Adam lr 1e-4 (no weight decay) for a batch of 8,
# linear warm-up from 0.001x over the first min(1000, epoch) iterations,
# x0.1 after epochs 15 and 25, 30 epochs, mixed precision, gradient norm
# clipped at 10 (after unscaling).
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=30, val_interval=1)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')

param_scheduler = [
    dict(
        type='LinearLR', start_factor=0.001, by_epoch=False, begin=0,
        end=1000),
    dict(type='MultiStepLR', by_epoch=True, milestones=[15, 25], gamma=0.1)
]

# AmpNonFiniteGuardOptimWrapper: mixed precision, and a step whose loss is
# not finite is skipped on every rank alike (10 in a row stop training).
optim_wrapper = dict(
    type='AmpNonFiniteGuardOptimWrapper',
    max_consecutive_skips=10,
    optimizer=dict(type='Adam', lr=1e-4),
    clip_grad=dict(max_norm=10, norm_type=2))

auto_scale_lr = dict(enable=False, base_batch_size=8)
