# GFN's objective ablation, 'image' mode: the gallery filter scores a
# gallery image by the query's own scene against it, sigmoid(cos(s_A, s_G)):
# the query person plays no part, only the two scenes; its NT-Xent takes
# scenes sharing a labeled identity as positives. Compare with
# ../seqnext_gfn_prw.py ('combined'), which differs only in that. (GFN's
# own config for it names the mode 'scene', which its code does not know.)
_base_ = '../seqnext_gfn_prw.py'

model = dict(roi_head=dict(gfn_head=dict(mode='image')))
